"""Critical-incident criteria as data: a versioned ruleset file and the small interpreter that reads it.

A ruleset is YAML checked twice: against `rulesets/ruleset.schema.json` for shape, then here for
meaning (known facts and values, references that resolve, no cycles, a final `otherwise`). The
interpreter knows a fixed set of condition forms and nothing else, so a ruleset can never run code.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from services.triage.floods import FloodPolicy
from shared.events.incidents import MatchedRule, Priority
from shared.events.reports import (
    IncidentFacts,
    IncidentType,
    Injuries,
    PlaceType,
    Religion,
    ReporterRole,
    Strand,
    Vulnerability,
)
from shared.spike import ALPHA, FLOOR, MIN_COUNT, MIN_RATIO, spike_test

RULESETS = Path(__file__).resolve().parent / "rulesets"
SCHEMA = RULESETS / "ruleset.schema.json"


def _version_key(path: Path) -> tuple[tuple[int, str], ...]:
    """`default-2026.12.1` after `default-2026.11.1` and `default-2026.9.3`: numbers compare as numbers."""
    parts = path.stem.removeprefix("default-").replace("-", ".").split(".")
    return tuple((int(p), "") if p.isdigit() else (-1, p) for p in parts)


def newest_default(folder: Path = RULESETS) -> Path:
    """The packaged default is the newest published version; older files stay, for the record."""
    return max(folder.glob("default-*.yaml"), key=_version_key)


DEFAULT_RULESET = newest_default()

Cond = Mapping[str, Any]

# fact name -> (kind, allowed values); kind is "list", "enum", "bool" or "text"
FACTS: dict[str, tuple[str, set[str] | None]] = {
    "types": ("list", {t.value for t in IncidentType}),
    "targeted_characteristics": ("list", {s.value for s in Strand}),
    "vulnerabilities": ("list", {v.value for v in Vulnerability}),
    "religion_targeted": ("enum", {r.value for r in Religion}),
    "place_type": ("enum", {p.value for p in PlaceType}),
    "injuries": ("enum", {i.value for i in Injuries}),
    "reporter_role": ("enum", {r.value for r in ReporterRole}),
    "area": ("text", None),
    "weapon": ("bool", None),
    "ongoing": ("bool", None),
    "repeat": ("bool", None),
}
OPERATORS = {"list": {"contains", "contains_any", "not_empty"}, "enum": {"equals", "in"},
             "text": {"equals", "in"}, "bool": {"is"}}


class RulesetInvalid(ValueError):
    """The ruleset file cannot be used; `errors` names each place and what is wrong there."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['path']}: {e['message']}" for e in errors))
        self.errors = errors


class HistoryKind(StrEnum):
    same_place = "same_place"
    same_contact = "same_contact"
    same_area = "same_area"
    same_district = "same_district"


# How many *other* reports of a kind lie within a window either side of this one.
HistoryCounter = Callable[[HistoryKind, timedelta], int]
# The same count, and beside it the count of the same window 1, 2, ... n weeks earlier (the baseline).
BaselineCounter = Callable[[HistoryKind, timedelta, int], tuple[int, list[int]]]

WHERE = {HistoryKind.same_place: "at the same place", HistoryKind.same_district: "in the same postcode district",
         HistoryKind.same_area: "in this force area", HistoryKind.same_contact: "from the same reporter contact"}


def _no_baseline(_kind: HistoryKind, _window: timedelta, weeks: int) -> tuple[int, list[int]]:
    return 0, [0] * weeks


@dataclass(frozen=True)
class Tension:
    scope: str
    since: datetime


@dataclass(frozen=True)
class Subject:
    """Everything a decision may look at: the report's facts, its history, the tension in force."""

    facts: IncidentFacts
    reporter_role: str | None = None
    history: HistoryCounter = field(default=lambda _kind, _window: 0)
    tension: Tension | None = None
    baseline: BaselineCounter = field(default=_no_baseline)

    def fact(self, name: str) -> Any:
        if name == "area":
            return self.facts.location.area
        if name == "place_type":
            return self.facts.location.place_type.value
        if name == "reporter_role":
            return self.reporter_role
        value = getattr(self.facts, name)
        if isinstance(value, list):
            return [str(v) for v in value]
        return value.value if isinstance(value, StrEnum) else value


@dataclass(frozen=True)
class Decision:
    matched: list[MatchedRule]
    priority: Priority
    priority_explanation: str
    hate_crime: bool
    ruleset_version: str

    @property
    def critical(self) -> bool:
        return bool(self.matched)

    @property
    def codes(self) -> list[str]:
        return [m.code for m in self.matched]


@dataclass(frozen=True)
class Ruleset:
    version: str
    name: str
    source: str
    document: dict[str, Any] = field(repr=False)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.source.encode()).hexdigest()

    @property
    def rule_codes(self) -> list[str]:
        return [r["code"] for r in self.document["rules"]]

    @property
    def floods(self) -> FloodPolicy | None:
        """How this ruleset groups floods from one source; None: every report is its own incident."""
        found = self.document.get("floods")
        return FloodPolicy.of(found, _window(found["within"])) if found else None

    def decide(self, subject: Subject) -> Decision:
        definitions = self.document.get("definitions", {})
        ev = _Evaluator(subject, definitions, matched=[])
        matched = []
        for rule in self.document["rules"]:
            ok, evidence = ev.eval(rule["when"])
            if ok:
                text = rule["explanation"] + (f" ({'; '.join(evidence)})" if evidence else "")
                matched.append(MatchedRule(code=rule["code"], explanation=text))
        ev.matched = [m.code for m in matched]
        hate_crime = ev.eval({"defined": "hate_crime"})[0] if "hate_crime" in definitions else True
        for level in self.document["priorities"]:
            if level.get("otherwise") or ev.eval(level["when"])[0]:
                return Decision(matched, Priority(level["priority"]), level["explanation"], hate_crime,
                                self.version)
        raise AssertionError("a validated ruleset always ends with `otherwise`")


@dataclass
class _Evaluator:
    subject: Subject
    definitions: Mapping[str, Any]
    matched: list[str]

    def eval(self, c: Cond) -> tuple[bool, list[str]]:
        if "all" in c:
            results = [self.eval(x) for x in c["all"]]
            return all(ok for ok, _ in results), [e for ok, ev in results if ok for e in ev]
        if "any" in c:
            results = [self.eval(x) for x in c["any"]]
            return any(ok for ok, _ in results), [e for ok, ev in results if ok for e in ev]
        if "not" in c:
            return not self.eval(c["not"])[0], []
        if "fact" in c:
            return self._fact(c), []
        if "history" in c:
            return self._history(c)
        if "spike" in c:
            return self._spike(c)
        if "tension" in c:
            t = self.subject.tension
            return (t is not None, [f"heightened tension in force ({t.scope}) since {t.since:%d %b %Y %H:%M} UTC"]
                    if t else [])
        if "defined" in c:
            return self.eval(self.definitions[c["defined"]]["when"])[0], []
        if "matched" in c:
            return c["matched"] in self.matched, []
        return bool(self.matched) == c["matched_any"], []

    def _fact(self, c: Cond) -> bool:
        value = self.subject.fact(c["fact"])
        if "contains" in c:
            return c["contains"] in value
        if "contains_any" in c:
            return any(v in value for v in c["contains_any"])
        if "not_empty" in c:
            return bool(value)
        if "in" in c:
            return value in c["in"]
        if "is" in c:
            return bool(value) is c["is"]
        return bool(value == c["equals"])

    def _history(self, c: Cond) -> tuple[bool, list[str]]:
        window = _window(c["within"])
        others = self.subject.history(HistoryKind(c["history"]), window)
        count = others + 1 if c.get("counting_this") else others
        if count < c["at_least"]:
            return False, []
        span = _describe(c["within"])
        if c["history"] == "same_area":
            return True, [f"{count} reports in this area within {span}"]
        what = WHERE[HistoryKind(c["history"])]
        return True, [f"{count} {'report' if count == 1 else 'reports'} {what} within {span}"]


    def _spike(self, c: Cond) -> tuple[bool, list[str]]:
        """Well above this place's (district's, area's) own normal: the spike test against the same window
        in each of the previous weeks; the first kind that shows a spike is the evidence."""
        window, weeks = _window(c["within"]), c.get("baseline_weeks", 4)
        for kind in map(HistoryKind, c["spike"]):
            others, history = self.subject.baseline(kind, window, weeks)
            result = spike_test(others + 1, history, c.get("alpha", ALPHA), c.get("min_count", MIN_COUNT),
                                c.get("min_ratio", MIN_RATIO), c.get("floor", FLOOR))
            if result.spike:
                return True, [f"{result.observed} reports {WHERE[kind]} within {_describe(c['within'])} either "
                              f"side, against {result.expected:.1f} expected from the same days of the previous "
                              f"{weeks} weeks (Poisson P = {result.p_value:.1g})"]
        return False, []


def _window(within: Mapping[str, int]) -> timedelta:
    return timedelta(days=within.get("days", 0), hours=within.get("hours", 0), minutes=within.get("minutes", 0))


def _describe(within: Mapping[str, int]) -> str:
    parts = [f"{n} {unit if n != 1 else unit[:-1]}" for unit, n in within.items() if n]
    return " and ".join(parts)


# --- loading and validation ------------------------------------------------------------------------------


@cache
def _schema_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))


def load_ruleset(source: str) -> Ruleset:
    try:
        document = yaml.safe_load(source)
    except yaml.YAMLError as e:
        raise RulesetInvalid([{"path": "(file)", "message": f"not valid YAML: {e}"}]) from e
    shape = sorted(_schema_validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    if shape:
        raise RulesetInvalid([{"path": _path(e.absolute_path), "message": _schema_message(e)} for e in shape])
    errors = list(_meaning_errors(document))
    if errors:
        raise RulesetInvalid(errors)
    return Ruleset(version=str(document["version"]), name=document["ruleset"], source=source, document=document)


def load_ruleset_file(path: Path | str) -> Ruleset:
    return load_ruleset(Path(path).read_text(encoding="utf-8"))


def default_ruleset() -> Ruleset:
    return load_ruleset_file(DEFAULT_RULESET)


def _path(parts: Any) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top)"


def _schema_message(e: jsonschema.ValidationError) -> str:
    if e.validator == "oneOf" and isinstance(e.instance, dict):
        return f"not a known condition or entry: {json.dumps(e.instance, default=str)[:120]}"
    return e.message


def _meaning_errors(doc: dict[str, Any]) -> Iterator[dict[str, str]]:
    definitions = doc.get("definitions", {})
    codes = [r["code"] for r in doc["rules"]]
    for code in {c for c in codes if codes.count(c) > 1}:
        yield {"path": "rules", "message": f"rule code {code!r} is used more than once"}
    for name, d in definitions.items():
        yield from _check(d["when"], f"definitions.{name}.when", definitions, None)
    yield from _definition_cycles(definitions)
    for i, rule in enumerate(doc["rules"]):
        yield from _check(rule["when"], f"rules[{i}].when", definitions, None)
    last = len(doc["priorities"]) - 1
    for i, level in enumerate(doc["priorities"]):
        if "otherwise" in level and i != last:
            yield {"path": f"priorities[{i}]", "message": "`otherwise` must be the last priority"}
        if "when" in level:
            yield from _check(level["when"], f"priorities[{i}].when", definitions, set(codes))
    if "otherwise" not in doc["priorities"][last]:
        yield {"path": f"priorities[{last}]", "message": "the last priority must be `otherwise: true`"}


def _check(c: Cond, path: str, definitions: Mapping[str, Any], codes: set[str] | None) -> Iterator[dict[str, str]]:
    for key in ("all", "any"):
        for i, child in enumerate(c.get(key, [])):
            yield from _check(child, f"{path}.{key}[{i}]", definitions, codes)
    if "not" in c:
        yield from _check(c["not"], f"{path}.not", definitions, codes)
    if "fact" in c:
        yield from _check_fact(c, path)
    if "defined" in c and c["defined"] not in definitions:
        yield {"path": path, "message": f"no definition named {c['defined']!r}"}
    if ("matched" in c or "matched_any" in c) and codes is None:
        yield {"path": path, "message": "`matched` can only be used in priorities, after the rules are decided"}
    if "matched" in c and codes is not None and c["matched"] not in codes:
        yield {"path": path, "message": f"no rule with code {c['matched']!r}"}


def _check_fact(c: Cond, path: str) -> Iterator[dict[str, str]]:
    kind, allowed = FACTS[c["fact"]]
    op = next(k for k in c if k != "fact")
    if op not in OPERATORS[kind]:
        yield {"path": path, "message": f"fact {c['fact']!r} ({kind}) cannot be tested with {op!r}; "
                                        f"use one of {sorted(OPERATORS[kind])}"}
        return
    values = c[op] if isinstance(c[op], list) else [c[op]]
    if allowed is None or op == "not_empty":
        return
    for v in values:
        if v not in allowed:
            yield {"path": path, "message": f"{v!r} is not a value of {c['fact']!r}; known: {sorted(allowed)}"}


def _definition_cycles(definitions: Mapping[str, Any]) -> Iterator[dict[str, str]]:
    def refs(c: Cond) -> set[str]:
        found = {c["defined"]} if "defined" in c else set()
        for child in [*c.get("all", []), *c.get("any", []), *([c["not"]] if "not" in c else [])]:
            found |= refs(child)
        return found

    graph = {name: refs(d["when"]) for name, d in definitions.items()}
    for start in graph:
        seen, stack = set(), list(graph[start])
        while stack:
            node = stack.pop()
            if node == start:
                yield {"path": f"definitions.{start}", "message": "definition refers back to itself"}
                break
            if node not in seen and node in graph:
                seen.add(node)
                stack.extend(graph[node])


def ack_deadline(priority: Priority, now: datetime, ack_minutes: Mapping[Priority, int]) -> datetime | None:
    minutes = ack_minutes.get(priority)
    return now + timedelta(minutes=minutes) if minutes else None
