"""What every intake response passes through: a body-size limit and intake's own security headers.

Both are plain ASGI middleware (not BaseHTTPMiddleware), so they cost microseconds on the
hot path of POST /v1/reports.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'")
PERMISSIONS = (b"permissions-policy", b"camera=(), microphone=(), geolocation=()")


class BodyLimit:
    """413 for bodies over the limit, whether announced by Content-Length or streamed in chunks."""

    def __init__(self, app: ASGIApp, limit: int, limits_by_path: dict[str, int]) -> None:
        self.app = app
        self.limit = limit
        self.limits_by_path = limits_by_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits_by_path.get(scope["path"], self.limit)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await too_large(scope, send, limit)
            return
        seen = 0
        refused = False

        async def counted() -> Message:
            """Past the limit: answer 413 ourselves and tell the app the client went away."""
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                refused = True
                await too_large(scope, send, limit)
                return {"type": "http.disconnect"}
            return message

        async def unless_refused(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, counted, unless_refused)


async def too_large(scope: Scope, send: Send, limit: int) -> None:
    body = json.dumps({"type": "about:blank", "title": "Content too large", "status": 413,
                       "detail": f"the request body is over the limit of {limit} bytes",
                       "instance": scope["path"]}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/problem+json"),
                            (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def page_headers(path: str) -> list[tuple[bytes, bytes]]:
    """A CSP with frame-ancestors on every answer but the API docs, whose own policy shared.web sets."""
    if path == "/docs":
        return [PERMISSIONS]
    return [(b"content-security-policy", PAGE_CSP.encode()), PERMISSIONS]
