"""Assessment's HTTP face for analysts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select

from services.assessment import tables
from shared.areas import default_registry
from shared.problems import NotFound

router = APIRouter()


@router.get("/v1/areas/{area}", tags=["areas"], summary="One area's current picture")
def get_area(area: str, request: Request) -> dict[str, Any]:
    known = default_registry().get(area)
    if known is None:
        raise NotFound(f"unknown area code '{area}'")
    with request.app.state.assessment.db.sessions() as s:
        row = s.execute(select(tables.area_counts).where(tables.area_counts.c.area == area)).mappings().first()
    return {"area": area, "name": known.name, "reports": row["reports"] if row else 0,
            "last_report_at": row["last_report_at"] if row else None}
