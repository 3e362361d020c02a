"""The delivery list's filters and pages, kept in the URL so a filtered page can be bookmarked, shared and
returned to after a change."""

from __future__ import annotations

from dataclasses import dataclass, replace
from math import ceil
from typing import Any
from urllib.parse import urlencode

from services.notify.ledger import DeliveryStatus
from services.notify.pages.views import CHANNELS

PAGE_SIZE = 25
MAX_PAGE = 10_000


@dataclass(frozen=True)
class LedgerFilters:
    status: DeliveryStatus | None = None
    channel: str | None = None
    page: int = 1

    @classmethod
    def read(cls, status: str | None, channel: str | None, page: str | None) -> LedgerFilters:
        """Leniently: a value that is not one of the choices is no filter, rather than an error page."""
        chosen = DeliveryStatus(status) if status in set(DeliveryStatus) else None
        number = int(page) if page and page.isdigit() else 1
        return cls(chosen, channel if channel in CHANNELS else None, min(max(number, 1), MAX_PAGE))

    @property
    def offset(self) -> int:
        return (self.page - 1) * PAGE_SIZE

    def fields(self) -> dict[str, str]:
        """The non-default values, as query parameters or hidden form fields."""
        values = {"status": self.status.value if self.status else "", "channel": self.channel or "",
                  "page": str(self.page) if self.page > 1 else ""}
        return {k: v for k, v in values.items() if v}

    def url(self, fragment: str = "sent", done: str | None = None, **changes: Any) -> str:
        """The home page with these filters (and `changes`); `done` names what just happened there."""
        query = urlencode({**({"done": done} if done else {}), **replace(self, **changes).fields()})
        return f"/{'?' + query if query else ''}#{fragment}"


def pagination(filters: LedgerFilters, total: int) -> dict[str, Any] | None:
    """The options of GOV.UK Frontend's pagination component; None when everything fits on one page."""
    pages = ceil(total / PAGE_SIZE)
    if pages <= 1:
        return None
    current = min(filters.page, pages)
    items: list[dict[str, Any]] = []
    for number in _shown(current, pages):
        items.append({"ellipsis": True} if number is None else
                     {"number": number, "href": filters.url(page=number), "current": number == current})
    options: dict[str, Any] = {"items": items, "landmarkLabel": "Pages of notifications"}
    if current > 1:
        options["previous"] = {"href": filters.url(page=current - 1)}
    if current < pages:
        options["next"] = {"href": filters.url(page=current + 1)}
    return options


def _shown(current: int, pages: int) -> list[int | None]:
    """The first, the last and the current page with its neighbours; None where pages are left out."""
    wanted = sorted({1, pages, current - 1, current, current + 1} & set(range(1, pages + 1)))
    shown: list[int | None] = []
    for before, number in zip([0, *wanted], wanted, strict=False):
        if before and number - before > 1:
            shown.append(None)
        shown.append(number)
    return shown
