"""A Content-Security-Policy on every HTML answer that has none of its own, as plain ASGI middleware.

Vigil's pages load only Vigil's own files (the design system is served from /assets, never a CDN) and
carry no inline script, so the policy allows 'self' and nothing inline. A service that sets its own
policy (a route, or its Edge extras) keeps it; JSON answers are left alone.
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.edge import ASGIApp, Message, Receive, Scope, Send

CSP = b"content-security-policy"
DOCS_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def page_policy(form_origins: Sequence[str] = ()) -> str:
    """The policy of Vigil's pages; forms may post to `form_origins` too (staff sign out at triage)."""
    forms = " ".join(["'self'", *form_origins])
    return ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
            f"form-action {forms}")


class HtmlPolicy:
    def __init__(self, app: ASGIApp, policy: str) -> None:
        self.app = app
        self.header = (CSP, policy.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if _is_html(headers) and all(name.lower() != CSP for name, _ in headers):
                    message["headers"] = [*headers, self.header]
            await send(message)

        await self.app(scope, receive, with_policy)


def _is_html(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(name.lower() == b"content-type" and value.lower().startswith(b"text/html") for name, value in headers)
