"""Reading a register from CSV (`vigil sites import FILE.csv`), every problem named by its row and column.

Columns `name,faith,area,postcode_district,capacity_band,measures` are required; the others optional (see
docs/places-of-worship.md). A file with any bad row is refused whole, so an import is never half done.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from services.assessment.sites.register import Contact, SiteIn, problems_of
from shared.areas import AreaRegistry, outward_code
from shared.crypto import normalise_text
from shared.events.reports import Religion
from shared.events.sites import CapacityBand, SecurityMeasure, ServiceDay

REQUIRED = ("name", "faith", "area", "postcode_district", "capacity_band", "measures")
OPTIONAL = ("kind", "children_on_site", "services", "funding_stage", "funding_scheme", "funding_applied_on",
            "funding_surveyed_on", "funding_installed_on", "procedures_written_on", "contact_name", "contact_role",
            "contact_email", "contact_phone")
_IGNORED = re.compile(r"[\s_-]+")
MEASURES = {_IGNORED.sub("", m.value): m for m in SecurityMeasure}
CAPACITY = {b.value: b for b in CapacityBand}
YES, NO = {"yes", "y", "true", "1"}, {"no", "n", "false", "0", ""}
DAYS = {d.value: d for d in ServiceDay} | {d.value[:3]: d for d in ServiceDay if d is not ServiceDay.daily}


@dataclass(frozen=True)
class RowError:
    row: int          # the data row, 1 for the first after the header; 0 for the file as a whole
    column: str
    message: str

    def __str__(self) -> str:
        where = f"row {self.row} (line {self.row + 1})" if self.row else "the file"
        return f"{where}, {self.column}: {self.message}" if self.column else f"{where}: {self.message}"


@dataclass
class Parsed:
    sites: list[SiteIn] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


class _Row:
    """One row's cells and the problems found reading them."""

    def __init__(self, number: int, cells: dict[str, str]) -> None:
        self.number, self.cells, self.errors = number, cells, list[RowError]()

    def get(self, column: str) -> str:
        return (self.cells.get(column) or "").strip()

    def problem(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.number, column, message))


def parse_measures(text: str) -> tuple[list[SecurityMeasure], list[str]]:
    """`;`-separated measures, case, spaces, underscores and hyphens ignored; answers the unknown ones too."""
    found, unknown = [], []
    for item in (part.strip() for part in text.split(";")):
        if not item:
            continue
        measure = MEASURES.get(_IGNORED.sub("", item.lower()))
        if measure is None:
            unknown.append(item)
        else:
            found.append(measure)
    return found, unknown


def _capacity(row: _Row) -> str | None:
    text = " ".join(row.get("capacity_band").lower().split())
    if text in CAPACITY:
        return text
    row.problem("capacity_band", f"'{row.get('capacity_band')}' is not one of: under 200, 200-799, 800+")
    return None


def _faith(row: _Row) -> str | None:
    text = row.get("faith").lower()
    if text in Religion.__members__:
        return text
    row.problem("faith", f"'{row.get('faith')}' is not one of: {', '.join(r.value for r in Religion)}")
    return None


def _district(row: _Row) -> str | None:
    given = row.get("postcode_district")
    district = outward_code(given)
    if district is None:
        row.problem("postcode_district", f"'{given}' is not a postcode district (the first half, e.g. M13)")
    elif district != given.replace(" ", "").upper():
        row.problem("postcode_district", f"give the district only ({district}), not the full postcode")
        return None
    return district


def _yes_no(row: _Row, column: str) -> bool:
    text = row.get(column).lower()
    if text not in YES | NO:
        row.problem(column, f"'{row.get(column)}' is not yes or no")
    return text in YES


def _services(row: _Row) -> list[dict[str, Any]]:
    """`Name|day|HH:MM[|main]`, `;`-separated: `Friday prayers|friday|13:15|main;Fajr|daily|05:30`."""
    services = []
    for item in (part.strip() for part in row.get("services").split(";")):
        if not item:
            continue
        parts = [p.strip() for p in item.split("|")]
        day = DAYS.get(parts[1].lower()) if len(parts) > 2 else None
        if len(parts) not in (3, 4) or day is None or (len(parts) == 4 and parts[3].lower() != "main"):
            row.problem("services", f"'{item}' is not name|day|HH:MM or name|day|HH:MM|main")
            continue
        services.append({"name": parts[0], "day": day.value, "time": parts[2], "main": len(parts) == 4})
    return services


def _funding(row: _Row) -> dict[str, Any]:
    funding: dict[str, Any] = {"stage": row.get("funding_stage").lower() or "none"}
    if row.get("funding_scheme"):
        funding["scheme"] = row.get("funding_scheme")
    for stage in ("applied", "surveyed", "installed"):
        if row.get(f"funding_{stage}_on"):
            funding[f"{stage}_on"] = row.get(f"funding_{stage}_on")
    return funding


def _contacts(row: _Row) -> list[Contact] | None:
    values = {k: row.get(f"contact_{k}") or None for k in ("name", "role", "email", "phone")}
    if not any(values.values()):
        return None
    try:
        return [Contact.model_validate(values)]
    except ValidationError as e:
        for err in e.errors():
            row.problem(f"contact_{err['loc'][0]}", str(err["msg"]))
    return None


def _document(row: _Row) -> dict[str, Any]:
    measures, unknown = parse_measures(row.get("measures"))
    if unknown:
        row.problem("measures", f"not a measure we know: {', '.join(unknown)} (the list: "
                                f"{', '.join(m.value.replace('_', ' ') for m in SecurityMeasure)})")
    doc: dict[str, Any] = {
        "name": row.get("name"), "faith": _faith(row), "area": row.get("area"),
        "postcode_district": _district(row), "capacity_band": _capacity(row), "measures": measures,
        "children_on_site": _yes_no(row, "children_on_site"), "services": _services(row), "funding": _funding(row),
        "contacts": _contacts(row)}
    if row.get("kind"):
        doc["kind"] = row.get("kind").lower().replace(" ", "_")
    if row.get("procedures_written_on"):
        doc["procedures_written_on"] = row.get("procedures_written_on")
    return doc


def _site(row: _Row, registry: AreaRegistry) -> SiteIn | None:
    doc = _document(row)
    if row.errors:
        return None
    try:
        site = SiteIn.model_validate(doc)
    except ValidationError as e:
        for err in e.errors():
            row.problem(".".join(str(p) for p in err["loc"]), str(err["msg"]))
        return None
    for p in problems_of(site.entry(), registry):
        row.problem(p.field, p.message)
    return None if row.errors else site


def _rows(text: str) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    for number, cells in enumerate(reader, start=1):
        yield number, {(k or "").strip().lower(): v for k, v in cells.items() if isinstance(v, str)}


def parse_sites(text: str, registry: AreaRegistry) -> Parsed:
    """Every row read, every problem found; `sites` only when there is none."""
    header = [h.strip().lower() for h in next(csv.reader(io.StringIO(text.lstrip("\ufeff"))), [])]
    result = Parsed()
    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
    if missing or unknown:
        result.errors += [RowError(0, "", f"missing column: {c}") for c in missing]
        result.errors += [RowError(0, "", f"unknown column: {c}") for c in unknown]
        return result
    seen: dict[tuple[str, str], int] = {}
    for number, cells in _rows(text):
        row = _Row(number, cells)
        site = _site(row, registry)
        if site is not None:
            key = (site.area, normalise_text(site.name))
            if key in seen:
                row.problem("name", f"the same site as row {seen[key]}")
            seen.setdefault(key, number)
        result.errors += row.errors
        if site is not None and not row.errors:
            result.sites.append(site)
    if not result.errors and not result.sites:
        result.errors.append(RowError(0, "", "no sites in the file"))
    if result.errors:
        result.sites = []
    return result
