"""Triage's HTTP face."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select

from services.triage import tables

router = APIRouter()


@router.get("/v1/incidents", tags=["incidents"], summary="Open incidents by priority, then deadline")
def list_incidents(request: Request) -> list[dict[str, Any]]:
    db = request.app.state.triage.db
    with db.sessions() as s:
        rows = s.execute(select(tables.incidents).order_by(
            tables.incidents.c.priority, tables.incidents.c.ack_deadline)).mappings()
        return [dict(r) for r in rows]
