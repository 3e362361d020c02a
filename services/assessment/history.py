"""History imported from a force's own records (`vigil assessment import-history FILE.csv`), to seed normals.

A new deployment knows nothing of what is usual in an area, so its levels say "insufficient history" until
28 days of the normal's window are on record (``scoring.check_history``). A force can bring that history
with it: daily counts per area (columns ``area,date,count``, optional ``strand``). The counts weigh in the
area's normal and in the spike test's expected count, never in its recent counts, and only for days before
Vigil's own records begin. A file with any bad row is refused whole; importing the same rows again replaces
them (one row per area, day and strand), so an import can be repeated safely.

The seeds are input, like the settings: they are not events and not part of the fold, so the canonical
projection a rebuild compares (ADR 0042) does not include them and a rebuild stays byte-identical.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services.assessment import tables
from shared.areas import AreaRegistry
from shared.events.reports import Strand

REQUIRED = ("area", "date", "count")
ALL_STRANDS = ""

area_history = tables.area_history


@dataclass(frozen=True)
class SeedRow:
    area: str
    day: date
    strand: str
    count: int


@dataclass
class ParsedHistory:
    rows: list[SeedRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def parse_history(text: str, registry: AreaRegistry, today: date) -> ParsedHistory:
    """Every problem named by its line; a district's code is counted under its force."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        return ParsedHistory(errors=[f"line 1: the columns {', '.join(missing)} are missing "
                                     "(expected area,date,count and optionally strand)"])
    reader.fieldnames = header
    parsed, seen = ParsedHistory(), dict[tuple[str, date, str], int]()
    for line, raw in enumerate(reader, start=2):
        row, problems = _row(raw, registry, today)
        key = (row.area, row.day, row.strand) if row else None
        if key and key in seen:
            problems.append(f"the same area, date and strand as line {seen[key]}")
        if problems:
            parsed.errors += [f"line {line}: {p}" for p in problems]
        elif row and key:
            seen[key] = line
            parsed.rows.append(row)
    if not parsed.rows and not parsed.errors:
        parsed.errors.append("the file has no rows")
    return parsed


def _row(raw: Mapping[str, str | None], registry: AreaRegistry, today: date) -> tuple[SeedRow | None, list[str]]:
    problems = []
    code = (raw.get("area") or "").strip()
    area = registry.area_of(code) if code else None
    if area is None:
        problems.append(f"area '{code}' is not a police force area or district Vigil knows")
    day = _day((raw.get("date") or "").strip(), today, problems)
    count = _count((raw.get("count") or "").strip(), problems)
    strand = (raw.get("strand") or "").strip().lower()
    if strand and strand not in Strand.__members__:
        problems.append(f"strand '{strand}' is not one of {', '.join(Strand.__members__)}")
    if problems or area is None or day is None or count is None:
        return None, problems
    return SeedRow(area, day, strand, count), problems


def _day(text: str, today: date, problems: list[str]) -> date | None:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        problems.append(f"date '{text}' is not a date in the form YYYY-MM-DD")
        return None
    if day > today:
        problems.append(f"date {text} is in the future")
        return None
    return day


def _count(text: str, problems: list[str]) -> int | None:
    if not text.isdigit():
        problems.append(f"count '{text}' is not a whole number of reports, 0 or more")
        return None
    return int(text)


def store_history(s: Session, rows: Iterable[SeedRow], at: datetime) -> int:
    """Replaces what was held for each row's area, day and strand: importing a file twice changes nothing."""
    n = 0
    for row in rows:
        h = area_history.c
        s.execute(delete(area_history).where(h.area == row.area, h.day == row.day, h.strand == row.strand))
        s.execute(area_history.insert().values(area=row.area, day=row.day, strand=row.strand, count=row.count,
                                               imported_at=at))
        n += 1
    return n


def daily_totals(rows: Iterable[SeedRow]) -> dict[str, dict[date, int]]:
    """Per area and day, all strands: the all-strands row where there is one, else the sum of the strands'."""
    whole: dict[tuple[str, date], int] = {}
    parts: dict[tuple[str, date], int] = defaultdict(int)
    for row in rows:
        if row.strand == ALL_STRANDS:
            whole[(row.area, row.day)] = row.count
        else:
            parts[(row.area, row.day)] += row.count
    totals: dict[str, dict[date, int]] = defaultdict(dict)
    for (area, day), n in {**parts, **whole}.items():
        totals[area][day] = n
    return dict(totals)


def seeded(s: Session, since: date, area: str | None = None) -> dict[str, dict[date, int]]:
    """Imported daily totals from `since`, by area."""
    h = area_history.c
    query = select(area_history).where(h.day >= since)
    if area:
        query = query.where(h.area == area)
    return daily_totals(SeedRow(r["area"], r["day"], r["strand"], r["count"]) for r in s.execute(query).mappings())
