"""Security headers on every response, as plain ASGI middleware.

Not BaseHTTPMiddleware, which costs a task and a stream per request on intake's hot path.
Trace context and HTTP metrics come from shared.httptelemetry (ADR 0028), server spans from FastAPI
itself while spans are recorded.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"), (b"cross-origin-opener-policy", b"same-origin")]


Headers = list[tuple[bytes, bytes]]


class Edge:
    """Adds the security headers a response lacks; `extra(path)` adds a service's own (a CSP, say)."""

    def __init__(self, app: ASGIApp, extra: Callable[[str], Headers] | None = None) -> None:
        self.app = app
        self.extra = extra

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = [*(self.extra(scope["path"]) if self.extra else []), *SECURITY_HEADERS]  # noqa: S610  (not Django)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                message["headers"] = headers + [(n, v) for n, v in wanted if n not in present]
            await send(message)

        await self.app(scope, receive, with_headers)
