"""Who a rota person is and how to reach them, asked of triage when they are paged (docs/notify.md, "The rota's
people are staff accounts").

A rota, a team or an override names a staff username. Triage keeps the accounts (ADR 0046): whether the
account is enabled, its display name, email and phone. Notify asks at send time, keeps the answer a minute at
most in memory and never in its tables, so an address changed at triage is used from the next page on and a
disabled account is passed over, with the reason on the ledger. The YAML directory is the fallback: a person
without an account is reached at the directory's contact details, as before accounts existed, and a person
whose account has no email or phone falls back to the directory's.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

import httpx

from services.notify.policy import Directory, Person
from shared.servicecalls import service_headers
from shared.settings import VigilSettings

log = logging.getLogger(__name__)

STAFF_PATH = "/internal/v1/staff"


class TriageUnavailable(Exception):
    """Triage could not be asked: the send is tried again later, never skipped."""


class NotPageable(Exception):
    """The person cannot be paged (account disabled, or no account and no contact details): the reason says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class StaffAccount:
    username: str
    display_name: str
    roles: tuple[str, ...]
    areas: tuple[str, ...]
    enabled: bool
    email: str | None
    phone: str | None

    def covers(self, area: str) -> bool:
        """Whether the account may open the area's incidents: a national account (no areas) covers every one."""
        return not self.areas or area in self.areas

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> StaffAccount:
        return cls(str(body["username"]), str(body.get("display_name") or body["username"]),
                   tuple(body.get("roles") or ()), tuple(body.get("areas") or ()), bool(body.get("enabled")),
                   body.get("email") or None, body.get("phone") or None)


@dataclass(frozen=True)
class Contact:
    """How to reach a person now: used for one send and dropped."""

    name: str
    email: str | None
    phone: str | None
    language: str
    channels: tuple[str, ...]


class Accounts(Protocol):
    """Triage's staff accounts: over HTTP (TriageAccounts) or an in-memory twin in tests."""

    def account(self, username: str) -> StaffAccount | None:
        """None for no such account; TriageUnavailable when triage cannot say."""
        ...

    def listed(self) -> dict[str, StaffAccount]:
        """Every account by username (for showing names); TriageUnavailable when triage cannot say."""
        ...


class TriageAccounts:
    """Triage's internal staff routes with notify's credential, each answer kept `ttl` seconds, at most
    `max_entries` of them (the oldest go first)."""

    def __init__(self, settings: VigilSettings, ttl: float = 60.0, max_entries: int = 1000, timeout: float = 3.0,
                 client: httpx.Client | None = None) -> None:
        self.base_url = settings.triage_internal_url.rstrip("/") + STAFF_PATH
        self.headers = service_headers(settings, "notify")
        self.ttl = ttl
        self.max_entries = max_entries
        self.client = client or httpx.Client(timeout=timeout)
        self._known: dict[str, tuple[float, StaffAccount | None]] = {}
        self._all: tuple[float, dict[str, StaffAccount]] | None = None
        self._lock = threading.Lock()

    def account(self, username: str) -> StaffAccount | None:
        now = time.monotonic()
        with self._lock:
            kept = self._known.get(username)
        if kept is not None and kept[0] > now:
            return kept[1]
        answer = self._get(f"{self.base_url}/{quote(username, safe='')}/contact")
        found = None if answer.status_code == 404 else StaffAccount.from_json(self._body(answer))
        self._keep(username, now + self.ttl, found)
        return found

    def listed(self) -> dict[str, StaffAccount]:
        now = time.monotonic()
        with self._lock:
            kept = self._all
        if kept is not None and kept[0] > now:
            return kept[1]
        found = {a.username: a for a in map(StaffAccount.from_json, self._body(self._get(self.base_url)))}
        with self._lock:
            self._all = (now + self.ttl, found)
        return found

    async def aclose(self) -> None:
        """At the HTTP app's shutdown (`ServiceCore.closers`)."""
        self.client.close()

    def _keep(self, username: str, until: float, found: StaffAccount | None) -> None:
        with self._lock:
            self._known.pop(username, None)
            if len(self._known) >= self.max_entries:
                for stale in list(self._known)[: len(self._known) - self.max_entries + 1]:
                    del self._known[stale]
            self._known[username] = (until, found)

    def _get(self, url: str) -> httpx.Response:
        try:
            return self.client.get(url, headers=self.headers)
        except httpx.HTTPError as e:
            raise TriageUnavailable(type(e).__name__) from e

    def _body(self, answer: httpx.Response) -> Any:
        if answer.status_code != 200:
            log.warning("triage refused a staff look-up", extra={"status": answer.status_code})
            raise TriageUnavailable(f"triage answered {answer.status_code}")
        return answer.json()


class StaffDirectory:
    """A rota person's contact at send time: their staff account's, else the YAML directory's."""

    def __init__(self, directory: Directory, accounts: Accounts | None = None) -> None:
        self.directory = directory
        self.accounts = accounts

    def contact(self, person_id: str, area: str | None = None) -> Contact:
        """NotPageable when the account is disabled, does not cover `area` (an incident's: they could not open
        it), or is unknown with no contact in the directory; TriageUnavailable when triage cannot say and the
        directory has no contact either."""
        listed = self.directory.people.get(person_id)
        try:
            account = self.accounts.account(person_id) if self.accounts else None
        except TriageUnavailable:
            if listed is None or not (listed.email or listed.phone):
                raise
            return _from_directory(listed)
        if account is None:
            if listed is None or not (listed.email or listed.phone or self.accounts is None):
                raise NotPageable("not paged, no staff account by this name")
            return _from_directory(listed)
        if not account.enabled:
            raise NotPageable("not paged, the staff account is disabled")
        if area is not None and not account.covers(area):
            raise NotPageable(f"not paged, the staff account does not cover area {area}")
        return _from_account(account, listed)

    def account_named(self, person_id: str) -> StaffAccount | None:
        """For pages: the account by username if triage can say now (None otherwise, and the directory's name
        is shown)."""
        if self.accounts is None:
            return None
        try:
            return self.accounts.listed().get(person_id)
        except TriageUnavailable:
            return None


def _from_directory(person: Person) -> Contact:
    return Contact(person.name, person.email, person.phone, person.language, tuple(person.channels))


def _from_account(account: StaffAccount, listed: Person | None) -> Contact:
    email = account.email or (listed.email if listed else None)
    phone = account.phone or (listed.phone if listed else None)
    if listed is not None and "channels" in listed.model_fields_set:
        channels: tuple[str, ...] = tuple(listed.channels)
    else:
        channels = tuple(c for c, there in (("email", email), ("sms", phone)) if there) or ("email",)
    return Contact(account.display_name, email, phone, listed.language if listed else "en", channels)
