"""Signed links: one action on one object, by one person, for a short while, once.

A link in a message lets its recipient act without signing in (acknowledge an alert, record a check at a
place of worship, record a visit). What it may do is inside the signature, not beside it: the purpose,
the recipient (a staff username), the object (an incident id, a site id, a task id), when it expires and the
link's own id. The token is an HMAC-SHA256 signature over those claims (itsdangerous), keyed by the
service's own secret and its namespace, so a link made by one service or for one purpose is worth nothing
to another. Anyone holding the token holds the capability, which is why it is short-lived and used once:
the service that acts keeps a `used_links` row per link id, inserted in the same transaction as the action,
so a link opened twice (or by a mail scanner and then its owner) acts once.

Opening a link must never act by itself: mail scanners follow links. Show a confirmation page on GET and act
on its POST.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Column, MetaData, String, Table, select
from sqlalchemy.orm import Session

from shared.clock import Clock
from shared.db import UTCDateTime, insert_new
from shared.ids import new_id

FORMAT = 1


class Refusal(StrEnum):
    tampered = "tampered"  # not a link this service made: altered, cut short, or another service's
    wrong_purpose = "wrong_purpose"
    expired = "expired"
    used = "used"


class LinkRefused(Exception):
    """The link cannot act; `claims` are known (and genuine) unless the link was tampered with."""

    def __init__(self, refusal: Refusal, claims: LinkClaims | None = None) -> None:
        super().__init__(refusal.value)
        self.refusal = refusal
        self.claims = claims


@dataclass(frozen=True)
class LinkClaims:
    link_id: str
    purpose: str
    recipient: str
    subject: str
    expires_at: datetime

    def as_payload(self) -> dict[str, Any]:
        return {"v": FORMAT, "id": self.link_id, "p": self.purpose, "to": self.recipient, "on": self.subject,
                "exp": int(self.expires_at.timestamp())}

    @classmethod
    def of_payload(cls, payload: Any) -> LinkClaims:
        if not isinstance(payload, dict) or payload.get("v") != FORMAT:
            raise LinkRefused(Refusal.tampered)
        try:
            return cls(str(payload["id"]), str(payload["p"]), str(payload["to"]), str(payload["on"]),
                       datetime.fromtimestamp(int(payload["exp"]), UTC))
        except (KeyError, TypeError, ValueError, OverflowError) as e:
            raise LinkRefused(Refusal.tampered) from e


class SignedLinks:
    """Makes and checks one service's links. `lifetimes` names every purpose the service signs for."""

    def __init__(self, secret: str, namespace: str, lifetimes: Mapping[str, timedelta], clock: Clock) -> None:
        if len(secret) < 16:
            raise ValueError("a link secret needs at least 16 characters")
        self.lifetimes = dict(lifetimes)
        self.clock = clock
        self._serializer = URLSafeSerializer(secret, salt=f"vigil.signed-link.{namespace}",
                                             signer_kwargs={"digest_method": hashlib.sha256})

    def issue(self, purpose: str, recipient: str, subject: str, link_id: str | None = None) -> tuple[str, LinkClaims]:
        """The token and what it says; `link_id` may be given to make the same link again (a retried send)."""
        if purpose not in self.lifetimes:
            raise ValueError(f"no lifetime is configured for links to {purpose!r}")
        expires_at = (self.clock.now() + self.lifetimes[purpose]).replace(microsecond=0)
        claims = LinkClaims(link_id or new_id(), purpose, recipient, subject, expires_at)
        return str(self._serializer.dumps(claims.as_payload())), claims

    def check(self, token: str, purpose: str) -> LinkClaims:
        """The claims of a genuine, unexpired link for `purpose`; `LinkRefused` says why not."""
        try:
            payload = self._serializer.loads(token)
        except BadSignature as e:
            raise LinkRefused(Refusal.tampered) from e
        claims = LinkClaims.of_payload(payload)
        if claims.purpose != purpose:
            raise LinkRefused(Refusal.wrong_purpose, claims)
        if self.clock.now() >= claims.expires_at:
            raise LinkRefused(Refusal.expired, claims)
        return claims


def used_links_table(metadata: MetaData) -> Table:
    """The table a service that acts on links keeps, in its own database (with a migration of its own)."""
    return Table(
        "used_links", metadata,
        Column("link_id", String(64), primary_key=True),
        Column("purpose", String(40), nullable=False),
        Column("recipient", String(120), nullable=False),
        Column("subject", String(64), nullable=False),
        Column("used_at", UTCDateTime(), nullable=False),
    )


class UsedLinks:
    """Single use. `claim` in the transaction that acts: when the action rolls back, so does the claim."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def claim(self, s: Session, claims: LinkClaims, at: datetime) -> None:
        """Raises `LinkRefused(used)` when the link acted before (on PostgreSQL, a claim made by a transaction
        still running waits for it, so two clicks at once act once)."""
        if not insert_new(s, self.table, link_id=claims.link_id, purpose=claims.purpose,
                          recipient=claims.recipient[:120], subject=claims.subject[:64], used_at=at):
            raise LinkRefused(Refusal.used, claims)

    def used_at(self, s: Session, link_id: str) -> datetime | None:
        found: datetime | None = s.execute(select(self.table.c.used_at).where(self.table.c.link_id == link_id)
                                           ).scalar()
        return found
