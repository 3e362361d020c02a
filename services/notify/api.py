"""Notify's HTTP face: the delivery list for staff (no personal data)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select

from services.notify import tables

router = APIRouter()

LISTED = ("notification_id", "idempotency_key", "incident_id", "purpose", "channel", "recipient_role",
          "status", "attempts", "created_at", "updated_at")


@router.get("/v1/notifications", tags=["notifications"], summary="Dispatches, failures and give-ups")
def list_notifications(request: Request) -> list[dict[str, Any]]:
    db = request.app.state.notify.db
    with db.sessions() as s:
        rows = s.execute(select(*[tables.deliveries.c[c] for c in LISTED])
                         .order_by(tables.deliveries.c.created_at.desc()).limit(500)).mappings()
        return [dict(r) for r in rows]
