"""The internal routes on an internal port of their own, apart from the public one.

With `<SERVICE>_INTERNAL_PORT` set, `vigil <service> api|all` listens on both ports (`services/cli.py`), and
this gate, outermost, sends each request to the routes of its port: `/internal/...` only on the internal port,
everything else only on the public one, `/healthz` on both. A request to the other port's routes is answered
404, as a path that does not exist there. Unset (development, the tests), both kinds share the one port.
The port a request came in on is the listening socket's own (`scope["server"]`), which no header can change.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from shared.problems import problem_response

INTERNAL_PREFIX = "/internal/"
BOTH = frozenset({"/healthz"})


class InternalListener:
    def __init__(self, app: ASGIApp, internal_port: int) -> None:
        self.app = app
        self.internal_port = internal_port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in BOTH:
            server = scope.get("server") or (None, None)
            on_internal_port = server[1] == self.internal_port
            if scope["path"].startswith(INTERNAL_PREFIX) != on_internal_port:
                where = "the internal port" if not on_internal_port else "the public port"
                response = problem_response(404, "Not found", f"nothing here: this is served on {where}",
                                            instance=scope["path"])
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
