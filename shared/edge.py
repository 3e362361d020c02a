"""Security headers on every response, as plain ASGI middleware, and who the client is behind a proxy.

Not BaseHTTPMiddleware, which costs a task and a stream per request on intake's hot path.
Trace context and HTTP metrics come from shared.httptelemetry (ADR 0028), server spans from FastAPI
itself while spans are recorded.

Served over HTTPS only (`VigilSettings.https_only`: outside development and test), every answer carries
Strict-Transport-Security and every cookie it sets is marked Secure, whichever route set it
(docs/security.md).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

from shared.settings import Network

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"), (b"cross-origin-opener-policy", b"same-origin")]
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


Headers = list[tuple[bytes, bytes]]


class Edge:
    """Adds the security headers a response lacks; `extra(path)` adds a service's own (a CSP, say).
    `https_only` adds HSTS and marks every cookie Secure."""

    def __init__(self, app: ASGIApp, extra: Callable[[str], Headers] | None = None, https_only: bool = False) -> None:
        self.app = app
        self.extra = extra
        self.https_only = https_only
        self.always = [*SECURITY_HEADERS, HSTS] if https_only else SECURITY_HEADERS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = [*(self.extra(scope["path"]) if self.extra else []), *self.always]  # noqa: S610  (not Django)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if self.https_only:
                    headers = [(n, secure_cookie(v) if n.lower() == b"set-cookie" else v) for n, v in headers]
                present = {name.lower() for name, _ in headers}
                message["headers"] = headers + [(n, v) for n, v in wanted if n not in present]
            await send(message)

        await self.app(scope, receive, with_headers)


def secure_cookie(set_cookie: bytes) -> bytes:
    """A Set-Cookie value with the Secure attribute, added if missing."""
    attributes = (part.strip().lower() for part in set_cookie.split(b";")[1:])
    return set_cookie if b"secure" in attributes else set_cookie + b"; Secure"


def client_address(peer: str | None, forwarded_for: str | None, trusted: Sequence[Network]) -> str | None:
    """The client's address: the peer's, unless the peer is a trusted proxy, in which case the nearest address
    in X-Forwarded-For that is not one (a client may write anything at the start of the header; only what
    the trusted proxies appended is believed). The same answer whether or not uvicorn, given the same
    proxies (services/cli.py), has already applied the header."""
    if not trusted or not forwarded_for or not _within(peer, trusted):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _within(hop, trusted):
            return hop
    return hops[0] if hops else peer


def _within(address: str | None, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in network for network in networks)
