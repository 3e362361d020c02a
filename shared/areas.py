"""Police force areas, the districts under them, and postcode districts that resolve to them.

Every ``location.area`` the system stores is checked against this registry, so a report can
always be routed to the force that owns it. The reference data lives in ``data/areas.json``
(ONS Police Force Area codes); a deployment may layer its own districts and postcode districts
on top with an extra file of the same shape, rather than editing the packaged data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

DEFAULT_PATH = Path(__file__).parent / "data" / "areas.json"

# An outward code is the district (A9, A99, AA9, AA99, A9A, AA9A); the inward code is always digit
# + two letters, so a full postcode splits unambiguously from the right whatever its spacing.
_OUTWARD = re.compile(r"[A-Z]{1,2}[0-9][A-Z0-9]?")
_FULL = re.compile(r"(?P<outward>[A-Z]{1,2}[0-9][A-Z0-9]?)[0-9][A-Z]{2}")
_WHITESPACE = re.compile(r"\s+")

NATIONS = frozenset({"england", "wales", "scotland", "northern_ireland"})


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    nation: str


@dataclass(frozen=True)
class District:
    code: str
    name: str
    area: str


def outward_code(postcode: str) -> str | None:
    """Reduce a full postcode or a bare district to its district, so lookups ignore the street level."""
    text = _WHITESPACE.sub("", postcode).upper()
    full = _FULL.fullmatch(text)
    if full:
        return full.group("outward")
    return text if _OUTWARD.fullmatch(text) else None


def _read(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        document = json.load(handle)
    if not isinstance(document, dict):
        raise ValueError(f"{path}: expected a JSON object at the top level")
    return document


def _parse_areas(rows: Iterable[Mapping[str, Any]]) -> dict[str, Area]:
    areas: dict[str, Area] = {}
    for row in rows:
        area = Area(code=str(row["code"]), name=str(row["name"]), nation=str(row["nation"]))
        if area.nation not in NATIONS:
            raise ValueError(f"area {area.code}: unknown nation {area.nation!r}")
        if area.code in areas:
            raise ValueError(f"area {area.code} is listed twice")
        areas[area.code] = area
    return areas


def _parse_districts(rows: Iterable[Mapping[str, Any]], areas: Mapping[str, Area]) -> dict[str, District]:
    """A district pointing at a force we do not know would silently route reports nowhere."""
    districts: dict[str, District] = {}
    for row in rows:
        district = District(code=str(row["code"]), name=str(row["name"]), area=str(row["area"]))
        if district.area not in areas:
            raise ValueError(f"district {district.code}: unknown area {district.area}")
        if district.code in areas:
            raise ValueError(f"district {district.code} reuses an area code")
        districts[district.code] = district
    return districts


def _parse_postcodes(mapping: Mapping[str, Any], areas: Mapping[str, Area]) -> dict[str, str]:
    """Keys are normalised here so a hand-edited file with 'm1' or 'SW1A ' still matches lookups."""
    postcodes: dict[str, str] = {}
    for key, area in mapping.items():
        district = outward_code(key)
        if district is None or district != _WHITESPACE.sub("", key).upper():
            raise ValueError(f"postcode district {key!r} is not an outward code")
        if area not in areas:
            raise ValueError(f"postcode district {key}: unknown area {area}")
        postcodes[district] = str(area)
    return postcodes


class AreaRegistry:
    """Read-only lookups over force areas, their districts and postcode districts."""

    def __init__(self, areas: Mapping[str, Area], districts: Mapping[str, District],
                 postcodes: Mapping[str, str], source: str = "") -> None:
        self._areas = dict(areas)
        self._districts = dict(districts)
        self._postcodes = dict(postcodes)
        self.source = source

    @classmethod
    def load(cls, path: Path | None = None, extra: Path | None = None) -> AreaRegistry:
        """``extra`` lets a deployment add or replace districts without forking the packaged data."""
        document = _read(path or DEFAULT_PATH)
        areas = _parse_areas(document.get("areas", []))
        districts = _parse_districts(document.get("districts", []), areas)
        postcodes = _parse_postcodes(document.get("postcode_districts", {}), areas)
        if extra is not None:
            addition = _read(extra)
            if addition.get("areas"):
                raise ValueError(f"{extra}: an extra file may add districts, not force areas")
            districts.update(_parse_districts(addition.get("districts", []), areas))
            postcodes.update(_parse_postcodes(addition.get("postcode_districts", {}), areas))
        return cls(areas, districts, postcodes, source=str(document.get("source", "")))

    def get(self, code: str) -> Area | None:
        return self._areas.get(code)

    def __contains__(self, code: object) -> bool:
        return code in self._areas

    def all(self) -> list[Area]:
        return sorted(self._areas.values(), key=lambda area: area.code)

    def districts_of(self, area_code: str) -> list[District]:
        return sorted((d for d in self._districts.values() if d.area == area_code), key=lambda d: d.code)

    def district(self, code: str) -> District | None:
        return self._districts.get(code)

    def postcode_districts(self) -> dict[str, str]:
        return dict(self._postcodes)

    def area_for_postcode(self, postcode: str) -> str | None:
        """None for a district we have no mapping for: a wrong force is worse than asking the user."""
        district = outward_code(postcode)
        return self._postcodes.get(district) if district else None

    def is_valid(self, code: str) -> bool:
        return code in self._areas or code in self._districts

    def area_of(self, code: str) -> str | None:
        """Collapse a district to its force so routing only ever deals in force areas."""
        if code in self._areas:
            return code
        district = self._districts.get(code)
        return district.area if district else None


@lru_cache(maxsize=1)
def default_registry() -> AreaRegistry:
    """The packaged data never changes while a process runs, so it is parsed once."""
    return AreaRegistry.load()
