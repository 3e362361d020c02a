"""A real HTTP server for tests: a partner's webhook endpoint or an SMS gateway.

It records every request; with a Standard Webhooks secret it verifies the signature the way a
partner would (and answers 401 when it does not match); `fail_next` scripts failures.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool | None

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str = ""
    secret: str | None = None
    requests: list[Request] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)  # status codes to answer, in order, before succeeding
    lock: threading.Lock = field(default_factory=threading.Lock)

    def accepted(self) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.verified is not False and r.headers.get("x-answered") == "200"]

    def all(self) -> list[Request]:
        with self.lock:
            return list(self.requests)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            verified = None
            if receiver.secret is not None:
                try:
                    Webhook(receiver.secret).verify(body, headers)
                    verified = True
                except WebhookVerificationError:
                    verified = False
            with receiver.lock:
                status = receiver.fail_next.pop(0) if receiver.fail_next else (401 if verified is False else 200)
                headers["x-answered"] = str(status)
                receiver.requests.append(Request(self.path, headers, body, verified))
            answer = json.dumps({"id": f"msg-{len(receiver.requests)}"}).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@contextmanager
def http_receiver(secret: str | None = None, path: str = "/hook") -> Iterator[Receiver]:
    """Start the server on a free port; it is shut down on exit, even when the test failed."""
    receiver = Receiver(secret=secret)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    thread = threading.Thread(target=server.serve_forever, name="http-receiver", daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
