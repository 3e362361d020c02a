"""Paging the on-call administrator straight from the watchdog: SMTP, and SMS through the HTTP gateway.

Notify's channel adapters and settings, used in this process: neither notify nor Kafka stands between the
watchdog and the administrator, since either may be what is down.
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from services.notify.channels import (
    Channel,
    Message,
    PermanentFailure,
    SmsChannel,
    SmsGatewayConfig,
    SmtpChannel,
    SmtpConfig,
)
from services.notify.settings import NotifySettings
from services.watchdog.alarms import Page
from services.watchdog.settings import WatchdogSettings
from shared.ids import deterministic_id

log = logging.getLogger(__name__)
LONDON = ZoneInfo("Europe/London")
Route = tuple[Channel, str]  # a channel and the administrator's address on it


def routes(settings: WatchdogSettings, notify: NotifySettings) -> list[Route]:
    found: list[Route] = []
    if settings.admin_email:
        password = notify.smtp_password.get_secret_value() if notify.smtp_password else None
        found.append((SmtpChannel(SmtpConfig(
            host=notify.smtp_host, port=notify.smtp_port, security=notify.smtp_security,
            username=notify.smtp_username, password=password, sender=notify.smtp_sender,
            ca_file=notify.smtp_ca_file, timeout=notify.smtp_timeout)), settings.admin_email))
    if settings.admin_phone:
        token = notify.sms_gateway_token.get_secret_value() if notify.sms_gateway_token else None
        found.append((SmsChannel(SmsGatewayConfig(url=notify.sms_gateway_url, token=token, sender=notify.sms_sender,
                                                  max_parts=notify.sms_max_parts)), settings.admin_phone))
    return found


def message(page: Page, channel: str, to: str) -> Message:
    """The same page always has the same idempotency key (Message-ID), so a retried send is recognisable."""
    since = page.since.astimezone(LONDON).strftime("%H:%M:%S %Z on %d %B %Y")
    detail = page.detail[:1].upper() + page.detail[1:]
    if page.recovered:
        text = f"{page.headline}\n{detail}.\nIt had been wrong since {since}.\n"
    else:
        text = f"{page.headline}\n{detail}.\nWrong since {since}.\nA recovery message follows when it clears.\n"
    key = deterministic_id("watchdog", page.key, page.since.isoformat(), page.headline, channel)
    return Message(idempotency_key=key, channel=channel, to=to, subject=f"Vigil watchdog: {page.headline}", text=text)


class Pager:
    """Every page goes by every route, and is logged. A send that fails is tried again at the next round,
    until it goes: a page is never dropped for a mail server's hiccup."""

    def __init__(self, routes: list[Route]) -> None:
        self.routes = routes
        self.pending: list[tuple[Page, Route]] = []

    def send(self, pages: list[Page]) -> None:
        for page in pages:
            log.log(logging.WARNING if page.recovered else logging.ERROR, "watchdog page",
                    extra={"page": page.headline, "detail": page.detail, "since": page.since.isoformat()})
            self.pending += [(page, route) for route in self.routes]
        self.pending = [(page, route) for page, route in self.pending if not self._sent(page, route)]

    def _sent(self, page: Page, route: Route) -> bool:
        channel, to = route
        try:
            channel.send(message(page, channel.name, to))
            return True
        except PermanentFailure as e:
            log.error("the page was refused; not retried", extra={"page": page.headline, "error": str(e)})
            return True
        except Exception as e:
            log.warning("the page could not be sent; retrying next round",
                        extra={"page": page.headline, "channel": channel.name, "error": repr(e)})
            return False
