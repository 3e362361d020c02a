"""The access matrix: every route of the four services, for every caller, answers as `tests/access_policy.py`
says; and an object of another force area answers exactly as one that does not exist.

The routes come from the applications' own route tables (pages hidden from OpenAPI included), so a route
added without a policy fails here. The services run in this process on PostgreSQL (`access_world.py`).
"""

from __future__ import annotations

import difflib
import html
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from tests.access_policy import POLICY, SOMETIMES, STAFF, Rule
from tests.integration.access_world import (
    AREA,
    NATIONAL_SUPERVISOR,
    OTHER,
    PASSWORD,
    Caller,
    World,
    access_world,
    report_body,
    site_body,
)
from tests.support.infra import scratch_databases

BIDI_ISOLATION = re.compile(r"</?bdi[^>]*>")
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
SIGN_IN_REDIRECTS = (302, 303, 307)
# What a path parameter names: an object of the world (the callers' area), or "=literal".
PARAMS = {"incident_id": "incident", "tension_id": "tension", "proposal_id": "proposal", "site_id": "site",
          "notification_id": "notification", "override_id": "override", "reference": "report",
          "report_id": "report_id", "user_id": "user_target", "group_id": "=no-such-group", "area": f"={AREA}",
          "lang": "=en", "token": "=not-a-signed-link", "action": "=regrade", "change": "=roles",
          "outcome_id": "=no-such-outcome", "hold_id": "=no-such-hold", "username": "=site_lead",
          "cia_id": "=00000000-0000-4000-8000-0000000000c1", "action_id": "=no-such-action"}
OTHER_OBJECTS = {"area": OTHER}  # another area's object, where it is not "<object>_other"
UNKNOWN = {"area": "E99999999", "reference": "ZZZZ2222ZZ"}


@dataclass(frozen=True)
class Route:
    service: str
    method: str
    path: str
    page: bool

    @property
    def key(self) -> tuple[str, str]:
        return self.service, f"{self.method} {self.path}"

    def __str__(self) -> str:
        return f"{self.service} {self.method} {self.path}"


@pytest.fixture(scope="module")
def world(postgres_admin_url: str, kafka_bootstrap: str) -> Iterator[World]:
    with scratch_databases(postgres_admin_url) as create, access_world(create, kafka_bootstrap) as built:
        yield built


def routes(world: World) -> list[Route]:
    found = []
    for service, app in world.apps.items():
        for route in iter_route_contexts(app.routes):
            methods = getattr(route, "methods", None)
            if not methods:
                continue  # static files
            for method in sorted(methods):
                found.append(Route(service, method, str(route.path),
                                   page=not getattr(route, "include_in_schema", True)
                                   and route.path not in ("/docs", "/openapi.json", "/healthz", "/readyz", "/metrics")))
    return found


def test_every_route_has_a_policy_and_every_policy_a_route(world: World) -> None:
    keys = {r.key for r in routes(world)}
    assert sorted(k for k in keys if k not in POLICY) == [], "routes without a policy in tests/access_policy.py"
    stale = sorted(k for k in POLICY if k not in keys and k[1] not in SOMETIMES)
    assert stale == [], "policies for routes that no longer exist"


def test_every_route_answers_every_caller_as_the_policy_says(world: World) -> None:
    failures = []
    asked = 0
    for route in routes(world):
        rule = POLICY.get(route.key)
        if rule is None:
            continue  # the test above names it
        for caller in list(world.callers.values()):
            answer = send(world, route, rule, caller)
            asked += 1
            if (wrong := judge(route, rule, caller, answer)) is not None:
                failures.append(f"{route} as {caller.key}: {wrong}")
    assert asked > 1000
    assert failures == [], "\n".join(failures)


def test_another_areas_object_answers_exactly_as_an_unknown_one(world: World) -> None:
    failures, compared = [], 0
    for route in routes(world):
        rule = POLICY.get(route.key)
        if rule is None or rule.scoped is None:
            continue
        for caller in world.callers.values():
            if caller.key not in rule.who:
                continue
            nowhere = UNKNOWN.get(rule.scoped) or str(uuid.uuid4())  # shaped as the real ids are
            other = send(world, route, rule, caller, {rule.scoped: _other(world, rule, rule.scoped)})
            unknown = send(world, route, rule, caller, {rule.scoped: nowhere})
            compared += 1
            if other.status_code != rule.scoped_status or unknown.status_code != rule.scoped_status:
                failures.append(f"{route} as {caller.key}: another area's {other.status_code}, "
                                f"an unknown one's {unknown.status_code}, not {rule.scoped_status}")
            elif (said := _body(other, _other(world, rule, rule.scoped))) != (
                    unknown_said := _body(unknown, nowhere)):
                failures.append(f"{route} as {caller.key}: another area's answer differs from an unknown one's: "
                                + " | ".join(difflib.unified_diff(said.splitlines(), unknown_said.splitlines(),
                                                                  lineterm="", n=0)))
    assert compared > 50
    assert failures == [], "\n".join(failures)


def _other(world: World, rule: Rule, name: str) -> str:
    if name in OTHER_OBJECTS:
        return OTHER_OBJECTS[name]
    key = rule.params.get(name) or PARAMS[name]
    return world.objects[f"{key}_other"]


def _body(answer: httpx.Response, given: str) -> Any:
    """What an answer says, with the id asked for (and the path it appears in) taken out."""
    if answer.headers.get("content-type", "").endswith("json"):
        body = answer.json()
        kept = {k: v for k, v in body.items() if k != "instance"} if isinstance(body, dict) else body
        return json.dumps(kept, sort_keys=True).replace(given, "<id>")
    return BIDI_ISOLATION.sub("", answer.text).replace(given, "<id>")  # pages isolate runs of an id


# --- one request -------------------------------------------------------------------------------------------

def send(world: World, route: Route, rule: Rule, caller: Caller,
         overrides: dict[str, str] | None = None) -> httpx.Response:
    if rule.fresh and caller.staff:
        caller = world.sign_in(caller.key)
    path = route.path
    for name, value in _path_values(world, route, rule).items():
        path = path.replace("{" + name + "}", (overrides or {}).get(name, value))
    headers = {"Accept": BROWSER if route.page else "application/json", **caller.headers}
    unsafe = route.method not in ("GET", "HEAD", "OPTIONS")
    if unsafe and caller.csrf:
        headers["X-CSRF-Token"] = caller.csrf
    kwargs: dict[str, Any] = {"headers": headers, "params": rule.query}
    client = world.client(route.service)
    client.cookies.clear()
    csrf = caller.csrf
    if rule.public_form:
        csrf = _public_form_token(client, path)
    for name, value in caller.cookies.items():
        client.cookies.set(name, value)
    if rule.form is not None:
        kwargs["data"] = {**{k: _filled(world, v) for k, v in rule.form.items()},
                          "csrf" if rule.public_form else "csrf_token": csrf}
    elif rule.json is not None:
        kwargs["json"] = _filled(world, rule.json)
    return client.request(route.method, path, **kwargs)


def _public_form_token(client: TestClient, path: str) -> str:
    """A public page's CSRF value: its cookie stays on the client, the form's copy is answered."""
    page = client.get("/" + path.strip("/").split("/")[0] + "/follow-up", headers={"Accept": BROWSER})
    found = CSRF_FIELD.search(page.text)
    assert page.status_code == 200 and found, page.text[:300]
    return html.unescape(found.group(1))


def _path_values(world: World, route: Route, rule: Rule) -> dict[str, str]:
    values = {}
    for name in _names(route.path):
        named = rule.params.get(name) or PARAMS[name]
        values[name] = named[1:] if named.startswith("=") else world.objects[named]
    return values


def _names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]


FILLERS: dict[str, Callable[[World], Any]] = {
    "$area": lambda w: AREA,
    "$site": lambda w: w.objects["site"],
    "$national": lambda w: NATIONAL_SUPERVISOR,
    "$password": lambda w: PASSWORD,
    "$duty_inspector_id": lambda w: w.objects["duty_inspector_id"],
    "$new_username": lambda w: f"new-{uuid.uuid4().hex[:8]}",
    "$now": lambda w: datetime.now(UTC).isoformat(),
    "$later": lambda w: (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
}


def _filled(world: World, value: Any) -> Any:
    if isinstance(value, dict):
        if "$report" in value:
            return report_body(AREA)
        if "$site" in value:
            return site_body(f"Mosque {uuid.uuid4().hex[:6]}", AREA, "E1")
        return {k: _filled(world, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_filled(world, v) for v in value]
    if isinstance(value, str) and value in FILLERS:
        return FILLERS[value](world)
    return value


# --- the verdict -------------------------------------------------------------------------------------------

def judge(route: Route, rule: Rule, caller: Caller, answer: httpx.Response) -> str | None:
    """None if the answer is the policy's; otherwise what is wrong with it."""
    status = answer.status_code
    to_sign_in = status in SIGN_IN_REDIRECTS and "login" in answer.headers.get("location", "")
    refused = status in (401, 403) or to_sign_in
    if status >= 500 and not (status == 503 and rule.unavailable_ok):
        return f"{status}: {answer.text[:200]}"
    if caller.key in rule.who:
        if caller.key in rule.answers:
            return None if status == rule.answers[caller.key] else f"{status}, not {rule.answers[caller.key]}"
        return f"refused ({status}) though the policy admits it" if refused else None
    if rule.refusal is not None:
        return None if status == rule.refusal else f"{status}, not the route's refusal {rule.refusal}"
    internal = route.path.startswith("/internal/")
    if caller.staff and not internal:
        wanted = rule.staff_refusal
        return None if status == wanted else f"{status}, not {wanted} for a member of staff without the role"
    service = caller.key.startswith("service:")
    if route.page:  # a page may also refuse a service's credential it is sent (403)
        return None if to_sign_in or status == 401 or (service and status == 403) else f"{status}, not sent to sign in"
    if service and not internal and route.service != "triage" and rule.who and rule.who <= STAFF:
        # Staff APIs outside triage (shared.staffaccess) know a service's credential and refuse it.
        return None if status == 403 else f"{status}, not 403 for a service's credential on a staff route"
    # A service's credential is known but not this route's (403), or not one triage's staff routes know (401).
    expected = {401, 403} if service else {401}
    return None if status in expected else f"{status}, not {' or '.join(map(str, sorted(expected)))}"
