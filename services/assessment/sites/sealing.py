"""Sites' personal data (security contacts, the notes of routines) sealed with a data key per site.

The same scheme as reports' (shared.crypto): a random AES-256 key per site, kept only wrapped by
assessment's own key (`ASSESSMENT_SITES_KEY`), never the reports' master key, which only intake holds.
Destroying a site's key shreds its contacts and notes on every copy of `vigil.sites.v1`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.assessment import tables
from shared.crypto import KeyDestroyed, SealBroken, new_data_key, open_sealed, seal, unwrap_key, wrap_key
from shared.events.reports import Sealed


def _subject(site_id: str) -> str:
    """What a site's seals are bound to (associated data), so a seal cannot be moved to another site."""
    return f"site:{site_id}"


class SiteKeys:
    def __init__(self, wrapping_key: bytes) -> None:
        self._wrapping = wrapping_key

    def seal(self, s: Session, site_id: str, fields: dict[str, Any], now: datetime) -> Sealed:
        return seal(self._data_key(s, site_id, now), _subject(site_id), fields)

    def open(self, s: Session, site_id: str, sealed: str | None) -> dict[str, Any] | None:
        """The sealed fields (kept as the canonical JSON of `Sealed`), or None when there are none or the key
        is destroyed."""
        if not sealed:
            return None
        try:
            key = self._existing_key(s, site_id)
            return open_sealed(key, _subject(site_id), Sealed.model_validate(json.loads(sealed)))
        except (KeyDestroyed, SealBroken):
            return None

    def destroy(self, s: Session, site_id: str, now: datetime) -> None:
        s.execute(update(tables.site_keys).where(tables.site_keys.c.site_id == site_id)
                  .values(wrapped_key=None, destroyed_at=now))

    def _existing_key(self, s: Session, site_id: str) -> bytes:
        row = s.execute(select(tables.site_keys.c.wrapped_key)
                        .where(tables.site_keys.c.site_id == site_id)).first()
        if row is None or row.wrapped_key is None:
            raise KeyDestroyed(site_id)
        return unwrap_key(self._wrapping, bytes(row.wrapped_key), _subject(site_id))

    def _data_key(self, s: Session, site_id: str, now: datetime) -> bytes:
        row = s.execute(select(tables.site_keys).where(tables.site_keys.c.site_id == site_id)).mappings().first()
        if row is not None:
            if row["wrapped_key"] is None:
                raise KeyDestroyed(site_id)
            return unwrap_key(self._wrapping, bytes(row["wrapped_key"]), _subject(site_id))
        key = new_data_key()
        s.execute(tables.site_keys.insert().values(site_id=site_id, created_at=now,
                                                   wrapped_key=wrap_key(self._wrapping, key, _subject(site_id))))
        return key
