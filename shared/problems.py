"""RFC 9457 problem details at the edge: domain exceptions become application/problem+json.

A browser asking for a page (its Accept prefers text/html) is shown an HTML error page instead, in
Vigil's layout (shared.web.errors): "Page not found" rather than a raw JSON 404, and on the public
service the quick exit. API clients, which accept JSON or anything, keep problem+json.
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from shared.edge import SECURITY_HEADERS
from shared.web.errors import ErrorPages
from shared.web.policy import page_policy

PROBLEM = "application/problem+json"
JSON_TYPES = ("application/problem+json", "application/json")


class Problem(Exception):
    """Raised by application code that wants a specific problem answer."""

    status = 400
    title = "Bad request"
    type = "about:blank"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra
        self.headers: dict[str, str] = extra.pop("headers", {}) or {}


class NotFound(Problem):
    status = 404
    title = "Not found"


class Conflict(Problem):
    status = 409
    title = "Conflict"


class Gone(Problem):
    status = 410
    title = "Gone"


class Unauthorized(Problem):
    status = 401
    title = "Unauthorized"


class Forbidden(Problem):
    status = 403
    title = "Forbidden"


class TooManyRequests(Problem):
    status = 429
    title = "Too many requests"


class Unavailable(Problem):
    status = 503
    title = "Service unavailable"


class Unprocessable(Problem):
    status = 422
    title = "Unprocessable content"


class UnsupportedMediaType(Problem):
    status = 415
    title = "Unsupported media type"


M = TypeVar("M", bound=BaseModel)


def json_body(model: type[M], body: bytes, content_type: str | None) -> M:
    """A JSON request body validated straight from its bytes, for routes too hot for FastAPI's body handling.

    pydantic parses and validates in one pass (no intermediate dict); errors become the same 422
    problem, each field named, that FastAPI's own validation gives. No Content-Type is read as JSON.
    """
    media = (content_type or "application/json").split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise UnsupportedMediaType(f"send the body as application/json, not {media}")
    try:
        return model.model_validate_json(body)
    except ValidationError as e:
        raise RequestValidationError([{**err, "loc": ("body", *err["loc"])} for err in e.errors()]) from e


def problem_response(status: int, title: str, detail: str, instance: str | None = None,
                     headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": extra.pop("type", "about:blank"), "title": title, "status": status,
                            "detail": detail}
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body",)]
        errors.append({"field": ".".join(loc) or "(body)",
                       "pointer": "/" + "/".join(loc),
                       "message": err.get("msg", "invalid"),
                       "code": err.get("type", "invalid")})
    return errors


def prefers_html(accept: str | None) -> bool:
    """Whether an Accept header ranks text/html above JSON; `*/*` alone (curl, httpx, fetch) means JSON."""
    ranges = _media_ranges(accept or "")
    html = _quality(ranges, "text/html")
    json = max(_quality(ranges, t) for t in JSON_TYPES)
    return html[0] > json[0] or (html[0] == json[0] > 0 and html[1] > json[1])


def _media_ranges(accept: str) -> list[tuple[str, float]]:
    ranges = []
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media:
            ranges.append((media.lower(), quality))
    return ranges


def _quality(ranges: list[tuple[str, float]], media: str) -> tuple[float, int]:
    """The quality the most specific matching range gives `media`, and that specificity (2 exact, 0 */*)."""
    kind = media.split("/")[0]
    best: tuple[int, float] = (-1, 0.0)
    for candidate, quality in ranges:
        specificity = 2 if candidate == media else 1 if candidate == f"{kind}/*" else 0 if candidate == "*/*" else -1
        if specificity > best[0]:
            best = (specificity, quality)
    return best[1], best[0]


def install_problem_handlers(app: FastAPI, pages: ErrorPages | None = None) -> None:
    """Problem answers for API clients, `pages` (default: staff error pages) for browsers."""
    error_pages = pages or ErrorPages()

    def answer(request: Request, status: int, title: str, detail: str, headers: dict[str, str] | None = None,
               **extra: Any) -> Response:
        return_to = extra.pop("return_to", None)
        if prefers_html(request.headers.get("accept")):
            return error_pages.render(request, status, detail, headers, return_to=return_to)
        return problem_response(status, title, detail, instance=request.url.path, headers=headers, **extra)

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> Response:
        return answer(request, exc.status, exc.title, exc.detail, exc.headers, type=exc.type, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = field_errors(exc)
        fields = ", ".join(e["field"] for e in errors[:10])
        return answer(request, 422, "Invalid request", f"Please correct: {fields}", errors=errors)

    @app.exception_handler(DataError)
    async def _unstorable(request: Request, exc: DataError) -> Response:
        """A value PostgreSQL cannot hold or compare (a NUL character in text, a number beyond its range) is the
        request's fault: 422, as a validation error. Any other data error is the server's."""
        reason = str(exc.orig)
        if "NUL" in reason or "out of range" in reason:
            return answer(request, 422, "Invalid request", "a value in this request cannot be stored or looked "
                          "up: text with a NUL character, or a number out of range", errors=[
                              {"field": "(request)", "message": "no NUL characters; numbers within range",
                               "code": "unstorable"}])
        logging.getLogger(__name__).error("unexpected data error", exc_info=exc)
        return await _unexpected(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return answer(request, exc.status_code, _title(exc.status_code), str(exc.detail),
                      getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        """Answered outside every middleware (Starlette's server-error layer), so it adds the headers itself."""
        response = answer(request, 500, "Internal server error", "an unexpected error; it has been logged")
        for name, value in SECURITY_HEADERS:
            response.headers.setdefault(name.decode(), value.decode())
        if response.media_type == "text/html":
            response.headers["Content-Security-Policy"] = page_policy(error_pages.site.form_origins())
        return response


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
