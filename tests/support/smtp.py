"""A real SMTP server for tests (aiosmtpd on a free port), optionally with STARTTLS and AUTH.

It keeps every message it accepted, parsed, so tests count deliveries where they land.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import ssl
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from infra.procs import free_port, port_open, stop_process


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage
    accepted_at: float = field(default_factory=time.monotonic)  # for latency measurements in bench/

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        return str(body.get_content()) if body is not None else ""


@dataclass
class Mailbox:
    """The server's state; `down` makes it answer 421 (service not available) to every message."""

    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    delay: float = 0.0
    down: bool = False
    host: str = "127.0.0.1"
    port: int = 0
    ca_file: str | None = None

    def to(self, address: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if address in r.recipients]

    def all(self) -> list[Received]:
        with self.lock:
            return list(self.received)

    def per_message_id(self) -> Counter[str]:
        return Counter(r.message_id for r in self.all())


class _Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.box.delay:
            await asyncio.sleep(self.box.delay)
        if self.box.down:
            return "421 service not available, try again later"
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.box.lock:
            self.box.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 OK"


def _self_signed(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


@contextmanager
def smtp_server(tls_dir: Path | None = None, credentials: tuple[str, str] | None = None) -> Iterator[Mailbox]:
    """Start a server (STARTTLS when `tls_dir` is given, AUTH when `credentials` are); stopped on exit."""
    box = Mailbox(port=free_port())
    kwargs: dict[str, Any] = {}
    if tls_dir is not None:
        cert, key = _self_signed(tls_dir)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        kwargs.update(tls_context=context, require_starttls=True)
        box.ca_file = str(cert)
    if credentials is not None:
        def authenticate(_server: Any, _session: Any, _env: Any, _mechanism: str, data: Any) -> AuthResult:
            ok = isinstance(data, LoginPassword) and (data.login.decode(), data.password.decode()) == credentials
            return AuthResult(success=ok)

        kwargs.update(authenticator=authenticate, auth_required=True, auth_require_tls=tls_dir is not None)
    controller = Controller(_Handler(box), hostname=box.host, port=box.port, **kwargs)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


def wait_for_mail(box: Mailbox, address: str, count: int = 1, timeout: float = 30.0) -> list[Received]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = box.to(address)
        if len(got) >= count:
            return got
        time.sleep(0.05)
    raise AssertionError(f"{len(box.to(address))} of {count} messages to {address} after {timeout}s")


class _JournalHandler:
    """For `smtp_process`: one JSON line per accepted message (wall-clock time, recipients, ids, subject)."""

    def __init__(self, journal: Path) -> None:
        self.journal = journal.open("a", buffering=1, encoding="utf-8")

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.journal.write(json.dumps({"t": time.time(), "to": list(envelope.rcpt_tos),
                                       "message_id": str(parsed["Message-ID"]),
                                       "subject": str(parsed["Subject"])}) + "\n")
        return "250 OK"


@contextmanager
def smtp_process(journal: Path) -> Iterator[tuple[str, int]]:
    """A real SMTP server in its own process, so a busy load generator cannot slow it down (benchmarks)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tests.support.smtp", str(port), str(journal)],
                            cwd=Path(__file__).resolve().parents[2], start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not port_open(port):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the SMTP server process did not start")
            time.sleep(0.1)
        yield "127.0.0.1", port
    finally:
        stop_process(proc, grace=5)


if __name__ == "__main__":
    controller = Controller(_JournalHandler(Path(sys.argv[2])), hostname="127.0.0.1", port=int(sys.argv[1]))
    controller.start()
    threading.Event().wait()
