"""The structure docs/design.md promises, checked from the code itself.

- no import cycle between the project's modules, counting every import (TYPE_CHECKING and
  function-level ones included): a cycle is how a feature module grows into the whole service;
- services meet only on Kafka and HTTP: no service imports another, `shared/` imports none;
- consumers dispatch on event classes: no event-type string outside `shared/events/`, and no raw
  `env.data` reads in the services, so upcasters apply and mypy sees every field;
- no class grows past 250 lines.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("shared", "services", "infra")
SERVICES = ("intake", "triage", "notify", "assessment")
EVENT_TYPE = re.compile(r"^vigil\.[a-z_]+\.[a-z_]+\.v\d+$")
MAX_CLASS_LINES = 250


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def _sources() -> dict[str, tuple[Path, ast.Module]]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts or "libs" in path.parts:
                continue
            found[_module_name(path)] = (path, ast.parse(path.read_text(), filename=str(path)))
    return found


def _imported(module: str, tree: ast.Module) -> Iterator[str]:
    """Every project module this one imports, wherever the import statement stands."""
    known = _sources()
    is_package = known[module][0].name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                if candidate in known:
                    yield candidate
                elif base in known:
                    yield base


@cache
def _graph() -> dict[str, set[str]]:
    return {name: set(_imported(name, tree)) - {name} for name, (_, tree) in _sources().items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_project_modules() -> None:
    assert _cycles(_graph()) == []


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_imports_no_other_service(service: str) -> None:
    own = f"services.{service}"
    others = tuple(f"services.{s}" for s in SERVICES if s != service)
    crossing = sorted(f"{m} -> {t}" for m, targets in _graph().items() if m.startswith(own)
                      for t in targets if t.startswith(others))
    assert crossing == []


def test_shared_imports_no_service() -> None:
    crossing = sorted(f"{m} -> {t}" for m, targets in _graph().items() if m.startswith("shared")
                      for t in targets if t.startswith("services"))
    assert crossing == []


def _outside_events() -> Iterator[tuple[str, Path, ast.Module]]:
    for name, (path, tree) in _sources().items():
        if not name.startswith("shared.events"):
            yield name, path, tree


def test_event_type_strings_live_only_in_shared_events() -> None:
    literals = sorted(f"{path.relative_to(ROOT)}:{node.lineno} {node.value}"
                      for _, path, tree in _outside_events() for node in ast.walk(tree)
                      if isinstance(node, ast.Constant) and isinstance(node.value, str)
                      and EVENT_TYPE.match(node.value))
    assert literals == []


def test_services_read_events_through_their_classes() -> None:
    """The one tolerant read (the projection fold's, ADR 0050) says so on its line."""
    raw = sorted(f"{path.relative_to(ROOT)}:{node.lineno}" for name, path, tree in _outside_events()
                 if name.startswith("services") for node in ast.walk(tree)
                 if isinstance(node, ast.Attribute) and node.attr == "data"
                 and isinstance(node.value, ast.Name) and node.value.id in {"env", "envelope"}
                 and "tolerant read: ADR 0050" not in path.read_text().splitlines()[node.lineno - 1])
    assert raw == []


def test_no_class_is_longer_than_250_lines() -> None:
    long = sorted(f"{path.relative_to(ROOT)}:{node.name} {node.end_lineno - node.lineno + 1}"
                  for _, (path, tree) in _sources().items() for node in ast.walk(tree)
                  if isinstance(node, ast.ClassDef) and node.end_lineno is not None
                  and node.end_lineno - node.lineno + 1 > MAX_CLASS_LINES)
    assert long == []
