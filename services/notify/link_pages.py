"""What every page a signed link in a message opens needs: the link checked, claimed once in the transaction
that acts, and pages nobody indexes or caches.

A feature that sends a link to act without signing in (record a routine at a place of worship; a patrol's
visit) makes its links with its own `SignedLinks` namespace and purposes, and uses `OneUseLinks` for its
confirmation page (GET: `look`, which never acts) and its POST (`act`: the claim and the action commit
together, or neither does). The claims go in notify's `used_links` table, shared by every feature: link ids
are unique. `page` answers a template with the headers such a page must carry. Links whose form records
something at assessment (a routine, a visit) use this through recording_links.py, which holds the rest they
share. The Duty Inspector's links (links.py) came first and keep their own copy of this.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from shared.clock import Clock
from shared.db import Database
from shared.signedlinks import LinkClaims, LinkRefused, Refusal, SignedLinks, UsedLinks

NOT_INDEXED = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}
REFUSAL_STATUS = {Refusal.tampered: 404, Refusal.wrong_purpose: 404, Refusal.expired: 410, Refusal.used: 410}
T = TypeVar("T")


class Unusable(Exception):
    """The link cannot act: `refusal` says why; `claims` are known unless it was tampered with, `used_at` when
    it was used."""

    def __init__(self, refusal: Refusal, claims: LinkClaims | None = None, used_at: datetime | None = None) -> None:
        super().__init__(refusal.value)
        self.refusal, self.claims, self.used_at = refusal, claims, used_at

    @property
    def status(self) -> int:
        return REFUSAL_STATUS[self.refusal]


class OneUseLinks:
    def __init__(self, db: Database, clock: Clock, links: SignedLinks, used: UsedLinks) -> None:
        self.db, self.clock, self.links, self.used = db, clock, links, used

    def checked(self, token: str, purpose: str) -> LinkClaims:
        """A genuine, unexpired link's claims (used or not); `Unusable` otherwise."""
        try:
            return self.links.check(token, purpose)
        except LinkRefused as e:
            raise Unusable(e.refusal, e.claims) from e

    def look(self, token: str, purpose: str) -> LinkClaims:
        """For the confirmation page: the claims of a link that can still act; `Unusable` (used included)."""
        claims = self.checked(token, purpose)
        with self.db.sessions() as s:
            used_at = self.used.used_at(s, claims.link_id)
        if used_at is not None:
            raise Unusable(Refusal.used, claims, used_at)
        return claims

    def act(self, claims: LinkClaims, action: Callable[[LinkClaims], T]) -> T:
        """Claim the link and run `action` in one transaction: an exception from `action` undoes the claim (the
        link still works); a link that acted before raises `Unusable(used)` and `action` is not run."""
        with self.db.transaction() as s:
            used_before = self.used.used_at(s, claims.link_id)
            try:
                self.used.claim(s, claims, self.clock.now())
            except LinkRefused as e:
                raise Unusable(Refusal.used, claims, used_before) from e
            return action(claims)


def page(templates: Jinja2Templates, request: Request, template: str, status: int,
         context: dict[str, Any]) -> HTMLResponse:
    response = templates.TemplateResponse(request, template, context, status_code=status)
    response.headers.update(NOT_INDEXED)
    return response
