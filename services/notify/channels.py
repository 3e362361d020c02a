"""Delivery channels behind one small interface: SMTP email, SMS over an HTTP gateway,
Standard Webhooks to partners, the log, and the reporter's router between email and SMS.

A channel either returns (sent) or raises. `PermanentFailure` means retrying cannot help
(the address or request is refused); anything else is transient and the dispatcher retries
with backoff. Every send carries the delivery's idempotency key where the protocol has a
place for it (Message-ID, Idempotency-Key, webhook-id), so a retried send is recognisable.

What notify records of a failure is `error_summary`: the error's class and protocol code, never
its message, since a mail server's message quotes the recipient's address.
"""

from __future__ import annotations

import contextlib
import json
import logging
import smtplib
import ssl
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.header import Header
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate
from typing import Any, Protocol

import httpx
from standardwebhooks.webhooks import Webhook

from shared.events.base import Event

log = logging.getLogger(__name__)


class PermanentFailure(Exception):
    """The receiver refused this message for good; retrying would not help. Its message is written by notify and
    names no one (`error_summary` of the cause, or a sentence of our own)."""


class TransientHTTPError(RuntimeError):
    """A webhook receiver or the SMS gateway answered with a status worth trying again (5xx, 408, 429, ...)."""

    def __init__(self, what: str, status_code: int) -> None:
        super().__init__(f"{what} answered HTTP {status_code}")
        self.status_code = status_code


def error_summary(e: BaseException) -> str:
    """The error as notify records and logs it: its class and protocol code only ("SMTPRecipientsRefused: 550",
    "TransientHTTPError: 503", "ConnectError"). The message is left out: an SMTP server's quotes the recipient's
    address, and the record reaches the logs, the ledger and a topic kept forever."""
    code = _protocol_code(e)
    return f"{type(e).__name__}: {code}" if code is not None else type(e).__name__


def _protocol_code(e: BaseException) -> int | None:
    if isinstance(e, smtplib.SMTPRecipientsRefused):
        codes = sorted(code for code, _ in e.recipients.values())
        return codes[-1] if codes else None
    if isinstance(e, smtplib.SMTPResponseException):
        return e.smtp_code
    if isinstance(e, httpx.HTTPStatusError):
        return e.response.status_code
    code = getattr(e, "status_code", None)
    return code if isinstance(code, int) else None


@dataclass(frozen=True)
class Message:
    idempotency_key: str
    channel: str
    to: str
    subject: str = ""
    text: str = ""
    html: str | None = None
    language: str = "en"
    payload: dict[str, Any] = field(default_factory=dict)
    secret: str | None = None
    records: tuple[Event, ...] = ()  # events the dispatcher appends once the message is sent (a referral's)


class Channel(Protocol):
    name: str

    def send(self, message: Message) -> None: ...


class LogChannel:
    """Records the dispatch in the log: ids only, never the recipient or the text."""

    name = "log"

    def __init__(self) -> None:
        self.sent: list[Message] = []

    def send(self, message: Message) -> None:
        self.sent.append(message)
        log.info("notification dispatched", extra={"idempotency_key": message.idempotency_key,
                                                   "channel": self.name})


@dataclass(frozen=True)
class SmtpConfig:
    host: str = "127.0.0.1"
    port: int = 25
    security: str = "none"  # none | starttls | tls (implicit)
    username: str | None = None
    password: str | None = None
    sender: str = "Vigil <notify@vigil.invalid>"
    ca_file: str | None = None
    timeout: float = 10.0


class SmtpChannel:
    """Multipart text and HTML email; the Message-ID is derived from the idempotency key."""

    name = "email"

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._local = threading.local()  # one open connection per dispatcher worker thread

    def build(self, message: Message) -> MIMEBase:
        """The stdlib's MIME classes (compat32): a third of the CPU of `EmailMessage` under the default
        policy (about 1 ms against 3 ms a message), the same message on the wire. Non-ASCII subjects are
        RFC 2047 encoded; bodies are UTF-8."""
        email: MIMEBase = MIMEText(message.text, "plain", "utf-8")
        if message.html:
            email = MIMEMultipart("alternative", _subparts=[email, MIMEText(message.html, "html", "utf-8")])
        email["From"] = self.config.sender
        email["To"] = message.to
        email["Subject"] = message.subject if message.subject.isascii() else Header(message.subject, "utf-8").encode()
        email["Date"] = formatdate(localtime=False)
        email["Message-ID"] = f"<{message.idempotency_key}@vigil.notify>"
        email["X-Vigil-Idempotency-Key"] = message.idempotency_key
        email["Content-Language"] = message.language
        return email

    def send(self, message: Message) -> None:
        email = self.build(message)
        try:
            try:
                self._connection().send_message(email)
            except smtplib.SMTPServerDisconnected:
                # The server closed an idle connection before our MAIL command: open a fresh one once.
                self._drop()
                self._connection().send_message(email)
        except smtplib.SMTPRecipientsRefused as e:
            if _protocol_code(e) in range(400, 500):
                raise  # greylisting, a full mailbox: try again later
            raise PermanentFailure(error_summary(e)) from None  # the cause quotes the address
        except smtplib.SMTPResponseException as e:
            if 500 <= e.smtp_code < 600 and e.smtp_code != 535:
                raise PermanentFailure(error_summary(e)) from None
            self._drop()
            raise
        except OSError:
            self._drop()
            raise

    def _connection(self) -> smtplib.SMTP:
        smtp: smtplib.SMTP | None = getattr(self._local, "smtp", None)
        if smtp is None:
            smtp = self._connect()
            if self.config.username:
                smtp.login(self.config.username, self.config.password or "")
            self._local.smtp = smtp
        return smtp

    def _drop(self) -> None:
        smtp = getattr(self._local, "smtp", None)
        self._local.smtp = None
        if smtp is not None:
            with contextlib.suppress(Exception):
                smtp.close()

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        context = ssl.create_default_context(cafile=c.ca_file) if c.security != "none" else None
        if c.security == "tls":
            return smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout, context=context)
        smtp = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
        if c.security == "starttls":
            smtp.starttls(context=context)
        return smtp


def _raise_for_status(response: httpx.Response, what: str) -> None:
    if response.is_success:
        return
    if 400 <= response.status_code < 500 and response.status_code not in (408, 409, 425, 429):
        raise PermanentFailure(f"{what} refused with HTTP {response.status_code}")
    raise TransientHTTPError(what, response.status_code)


class WebhookChannel:
    """Standard Webhooks: `webhook-id` is the idempotency key, so a partner can drop a retried delivery."""

    name = "webhook"

    def __init__(self, timeout: float = 10.0, client: httpx.Client | None = None) -> None:
        self.client = client or httpx.Client(timeout=timeout)

    def send(self, message: Message) -> None:
        if not message.secret:
            raise PermanentFailure("webhook subscription has no secret")
        body = json.dumps(message.payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        # The signature timestamp is transport time, checked by the receiver against its own clock.
        now = datetime.now(UTC)
        signature = Webhook(message.secret).sign(message.idempotency_key, now, body)
        headers = {"webhook-id": message.idempotency_key, "webhook-timestamp": str(int(now.timestamp())),
                   "webhook-signature": signature, "content-type": "application/json"}
        _raise_for_status(self.client.post(message.to, content=body.encode(), headers=headers), "webhook")


GSM7 = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
           "¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXTENDED = set("^{}\\[~]|€\f")


@dataclass(frozen=True)
class SmsText:
    text: str
    encoding: str  # gsm7 | ucs2
    parts: int
    truncated: bool


def fit_sms(text: str, max_parts: int = 3) -> SmsText:
    """Fit text into at most `max_parts` SMS segments (GSM-7: 160 / 153 per part; UCS-2: 70 / 67)."""
    gsm = all(ch in GSM7 or ch in GSM7_EXTENDED for ch in text)
    single, multi = (160, 153) if gsm else (70, 67)

    def units(s: str) -> int:
        if gsm:
            return sum(2 if ch in GSM7_EXTENDED else 1 for ch in s)
        return sum(2 if ord(ch) > 0xFFFF else 1 for ch in s)

    def parts(n: int) -> int:
        return 1 if n <= single else -(-n // multi)

    truncated = False
    if parts(units(text)) > max_parts:
        limit = multi * max_parts if max_parts > 1 else single
        ellipsis = "..." if gsm else "…"
        while text and units(text) + units(ellipsis) > limit:
            text = text[:-1]
        text = text.rstrip() + ellipsis
        truncated = True
    return SmsText(text, "gsm7" if gsm else "ucs2", parts(units(text)), truncated)


@dataclass(frozen=True)
class SmsGatewayConfig:
    url: str
    token: str | None = None
    sender: str = "Vigil"
    max_parts: int = 3
    timeout: float = 10.0


class SmsChannel:
    """A generic JSON SMS gateway: POST {to, from, text, encoding, parts, reference} with an Idempotency-Key."""

    name = "sms"

    def __init__(self, config: SmsGatewayConfig, client: httpx.Client | None = None) -> None:
        self.config = config
        self.client = client or httpx.Client(timeout=config.timeout)

    def send(self, message: Message) -> None:
        sms = fit_sms(message.text, self.config.max_parts)
        headers = {"Idempotency-Key": message.idempotency_key}
        if self.config.token:
            headers["Authorization"] = f"Bearer {self.config.token}"
        body = {"to": message.to, "from": self.config.sender, "text": sms.text, "encoding": sms.encoding,
                "parts": sms.parts, "reference": message.idempotency_key}
        _raise_for_status(self.client.post(self.config.url, json=body, headers=headers), "SMS gateway")


class ReporterRouter:
    """The reporter's deliveries go out by email when there is an address, else by SMS."""

    name = "reporter"

    def __init__(self, channels: dict[str, Channel]) -> None:
        self.channels = channels

    def send(self, message: Message) -> None:
        """Through the log when the wanted channel is off (a development install), as for staff."""
        channel = self.channels.get(message.channel) or self.channels.get("log")
        if channel is None:
            raise PermanentFailure(f"channel {message.channel} is not enabled")
        channel.send(message)
