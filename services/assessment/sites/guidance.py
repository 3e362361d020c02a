"""The places-of-worship guidance as data: the routines each site keeps, and the measures of each period.

Like triage's ruleset, a guidance file is YAML checked twice: against `guidance/guidance.schema.json` for
shape, then here for meaning (routines referred to exist, every festival named is one the calendar computes,
codes are unique, each of the four public protection procedures has its drill). Nothing in it runs code.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from services.assessment.calendar import events_in_year

FOLDER = Path(__file__).resolve().parent.parent / "guidance"
SCHEMA = FOLDER / "guidance.schema.json"
PROCEDURES = ("evacuation", "invacuation", "lockdown", "communication")


class GuidanceInvalid(ValueError):
    """The guidance file cannot be used; `errors` names each place and what is wrong there."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['path']}: {e['message']}" for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class Routine:
    code: str
    name: str
    what: str
    who: str
    every: timedelta
    notice: timedelta
    before_main_services: timedelta | None = None
    procedure: str | None = None
    briefing: bool = False


@dataclass(frozen=True)
class MeasureRule:
    code: str
    action: str
    when: str
    who: str
    priority: int
    why: str
    routine: str | None
    only_if: Mapping[str, Any]


@dataclass(frozen=True)
class PeriodRule:
    code: str
    name: str | None
    kind: str
    festivals: tuple[str, ...]
    before_days: int | None
    last_days: int | None
    why: str
    measures: tuple[MeasureRule, ...]

    def covers(self, festival: str) -> bool:
        return not self.festivals or festival in self.festivals


@dataclass(frozen=True)
class Guidance:
    name: str
    version: str
    routines: tuple[Routine, ...]
    periods: tuple[PeriodRule, ...]

    def routine(self, code: str) -> Routine | None:
        return next((r for r in self.routines if r.code == code), None)

    def of_kind(self, kind: str) -> list[PeriodRule]:
        return [p for p in self.periods if p.kind == kind]


@cache
def known_festivals() -> frozenset[str]:
    """The names of the periods the calendar computes (anniversaries are configured, so not named here)."""
    return frozenset(e.name for year in (2026, 2027) for e in events_in_year(year) if e.faith != "anniversary")


def _version_key(path: Path) -> tuple[tuple[int, str], ...]:
    parts = path.stem.removeprefix("places-of-worship-").split(".")
    return tuple((int(p), "") if p.isdigit() else (-1, p) for p in parts)


def newest(folder: Path = FOLDER) -> Path:
    """The packaged guidance is the newest version; older files stay, for the record."""
    return max(folder.glob("places-of-worship-*.yaml"), key=_version_key)


def load_guidance(source: str) -> Guidance:
    try:
        document = yaml.safe_load(source)
    except yaml.YAMLError as e:
        raise GuidanceInvalid([{"path": "(file)", "message": f"not valid YAML: {e}"}]) from e
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))
    shape = sorted(validator.iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path])
    if shape:
        raise GuidanceInvalid([{"path": "/".join(map(str, e.absolute_path)) or "(top)", "message": e.message}
                               for e in shape])
    errors = list(_meaning_errors(document))
    if errors:
        raise GuidanceInvalid(errors)
    return Guidance(str(document["guidance"]), str(document["version"]),
                    tuple(_routine(r) for r in document["routines"]), tuple(_period(p) for p in document["periods"]))


def load_guidance_file(path: Path | None = None) -> Guidance:
    return load_guidance((path or newest()).read_text(encoding="utf-8"))


def _routine(r: Mapping[str, Any]) -> Routine:
    before = r.get("before_main_services")
    return Routine(r["code"], r["name"], " ".join(r["what"].split()), r["who"], timedelta(days=r["every"]["days"]),
                   timedelta(days=r["notice"]["days"]), timedelta(minutes=before["minutes"]) if before else None,
                   r.get("procedure"), bool(r.get("briefing")))


def _period(p: Mapping[str, Any]) -> PeriodRule:
    measures = tuple(MeasureRule(m["code"], m["action"], m["when"], m["who"], m["priority"], " ".join(m["why"].split()),
                                 m.get("routine"), m.get("only_if", {})) for m in p["measures"])
    return PeriodRule(p["code"], p.get("name"), p["kind"], tuple(p.get("festivals", ())), p.get("before_days"),
                      p.get("last_days"), " ".join(p["why"].split()), measures)


def _meaning_errors(doc: Mapping[str, Any]) -> Iterator[dict[str, str]]:
    routines = [r["code"] for r in doc["routines"]]
    yield from ({"path": "routines", "message": f"routine {c} is defined twice"}
                for c, n in Counter(routines).items() if n > 1)
    drilled = {r.get("procedure") for r in doc["routines"]}
    yield from ({"path": "routines", "message": f"no drill of the {p} procedure"} for p in PROCEDURES
                if p not in drilled)
    if not any(r.get("briefing") for r in doc["routines"]):
        yield {"path": "routines", "message": "no routine is the staff briefing (briefing: true)"}
    if not any(p["kind"] == "ordinary" for p in doc["periods"]):
        yield {"path": "periods", "message": "there must be an ordinary period"}
    for i, period in enumerate(doc["periods"]):
        yield from _period_errors(f"periods/{i}", period, set(routines))


def _period_errors(path: str, period: Mapping[str, Any], routines: set[str]) -> Iterator[dict[str, str]]:
    for name in period.get("festivals", ()):
        if name not in known_festivals():
            yield {"path": f"{path}/festivals", "message": f"'{name}' is not a festival the calendar computes"}
    if period["kind"] != "festival" and ({"festivals", "before_days", "last_days"} & set(period)):
        yield {"path": path, "message": "festivals, before_days and last_days are for festival periods"}
    if "{festival}" in (period.get("name") or "") and period["kind"] != "festival":
        yield {"path": f"{path}/name", "message": "{festival} can name festival periods only"}
    codes = Counter(m["code"] for m in period["measures"])
    yield from ({"path": f"{path}/measures", "message": f"measure {c} appears twice"} for c, n in codes.items()
                if n > 1)
    for j, measure in enumerate(period["measures"]):
        if measure.get("routine") and measure["routine"] not in routines:
            yield {"path": f"{path}/measures/{j}/routine", "message": f"no routine {measure['routine']}"}
