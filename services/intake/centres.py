"""Third-party reporting centres: API keys, stored only as hashes.

A key reads `vigil_<key id>_<secret>`. The key id finds the row; the secret is compared
against its SHA-256 in constant time. The secret is 256 random bits, so a fast hash is
enough (ADR 0012): a slow password hash would buy nothing and cost every request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from services.intake import tables
from services.intake.application import Submitter
from shared.clock import Clock
from shared.db import Database
from shared.events.reports import Channel

PREFIX = "vigil_"


@dataclass(frozen=True)
class IssuedKey:
    key_id: str
    centre_id: str
    name: str
    trusted: bool
    api_key: str


@dataclass(frozen=True)
class KeyInfo:
    key_id: str
    centre_id: str
    name: str
    trusted: bool
    created_at: datetime
    revoked_at: datetime | None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Centres:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def issue(self, centre_id: str, name: str, trusted: bool = False) -> IssuedKey:
        """The plain key is shown once, here; only its hash is kept."""
        key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        with self.db.transaction() as s:
            s.execute(tables.api_keys.insert().values(key_id=key_id, centre_id=centre_id, name=name,
                                                      key_hash=_hash(secret), trusted=trusted,
                                                      created_at=self.clock.now()))
        return IssuedKey(key_id, centre_id, name, trusted, f"{PREFIX}{key_id}_{secret}")

    def revoke(self, key_id: str) -> bool:
        with self.db.transaction() as s:
            done = s.execute(tables.api_keys.update().where(tables.api_keys.c.key_id == key_id,
                                                            tables.api_keys.c.revoked_at.is_(None))
                             .values(revoked_at=self.clock.now()))
        return bool(done.rowcount)  # type: ignore[attr-defined]

    def list(self) -> list[KeyInfo]:
        with self.db.sessions() as s:
            rows = s.execute(select(tables.api_keys).order_by(tables.api_keys.c.created_at)).mappings()
            return [KeyInfo(r["key_id"], r["centre_id"], r["name"], r["trusted"], r["created_at"],
                            r["revoked_at"]) for r in rows]

    def authenticate(self, api_key: str) -> Submitter | None:
        """None for anything but a live key: malformed, unknown, wrong secret and revoked look alike."""
        if not api_key.startswith(PREFIX):
            return None
        key_id, _, secret = api_key.removeprefix(PREFIX).partition("_")
        if not key_id or not secret:
            return None
        with self.db.sessions() as s:
            row = s.execute(select(tables.api_keys).where(tables.api_keys.c.key_id == key_id)).mappings().first()
        if row is None or row["revoked_at"] is not None or not hmac.compare_digest(row["key_hash"], _hash(secret)):
            return None
        return Submitter(channel=Channel.centre, centre_id=row["centre_id"], trusted=bool(row["trusted"]))
