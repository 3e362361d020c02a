"""Whole-projection views: every area's picture, and the canonical bytes a rebuild must reproduce."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from services.assessment.projection import (
    IncidentFacts,
    ReportFacts,
    Snapshot,
    TensionFacts,
    canonical,
    snapshot_document,
)
from services.assessment.scoring import AreaPicture, ScoringConfig, assess
from shared.areas import AreaRegistry


def pictures(registry: AreaRegistry, reports: Iterable[ReportFacts], incidents: Iterable[IncidentFacts],
             tensions: Iterable[TensionFacts], as_of: datetime,
             config: ScoringConfig | None = None) -> tuple[dict[str, AreaPicture], dict[str, int]]:
    """Every known force area's picture, plus report counts under codes the registry does not know."""
    by_area: dict[str, list[ReportFacts]] = defaultdict(list)
    for r in reports:
        by_area[r.area].append(r)
    open_by_area: dict[str, list[IncidentFacts]] = defaultdict(list)
    for i in incidents:
        open_by_area[i.area].append(i)
    tension_list = list(tensions)
    result = {a.code: assess(a.code, by_area.get(a.code, []), open_by_area.get(a.code, []), tension_list, as_of,
                             config) for a in registry.all()}
    unknown = {code: len(rs) for code, rs in sorted(by_area.items()) if code not in result}
    return result, unknown


def projection_document(snap: Snapshot, registry: AreaRegistry) -> dict[str, Any]:
    """The fold's facts and every area's picture as of the watermark: both sides of a rebuild compare this."""
    doc = snapshot_document(snap)
    if snap.watermark is not None:
        areas, unknown = pictures(registry, snap.reports, snap.incidents, snap.tensions, snap.watermark)
        doc["areas"] = {code: p.document() for code, p in areas.items()}
        doc["unknown_areas"] = unknown
    return doc


def projection_bytes(snap: Snapshot, registry: AreaRegistry) -> bytes:
    return canonical(projection_document(snap, registry))
