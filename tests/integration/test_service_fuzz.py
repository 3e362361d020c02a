"""Property-based fuzzing of triage's, notify's and assessment's APIs from their own OpenAPI documents.

As test_intake_fuzz.py does for intake: every generated request, valid or not, must get a documented answer:
no 5xx, and a status, content type and body the schema allows. The requests get past the door, so the
handlers themselves are fuzzed: every staff route as a signed-in member of staff holding every role (at
triage through the real sign-in, with the session's CSRF token; at notify and assessment with a session
triage's check is answered for here), and every internal route with notify's service credential (notify is
the caller they accept; staff routes refuse a service's credential). Each service runs on PostgreSQL
without its Kafka worker; what it would ask another service (intake, triage) is unreachable or answered
"not signed in", so those paths are fuzzed too. Bounded: `EXAMPLES` per operation.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from infra.procs import free_port
from services.assessment.main import build as build_assessment
from services.assessment.main import create_app as assessment_app
from services.assessment.settings import AssessmentSettings
from services.notify.main import build as build_notify
from services.notify.main import create_app as notify_app
from services.notify.settings import NotifySettings
from services.triage.main import build as build_triage
from services.triage.main import create_app as triage_app
from services.triage.settings import TriageSettings
from shared.migrate import upgrade
from shared.servicecalls import service_headers
from shared.settings import VigilSettings
from shared.staffaccess import Role, StaffAccess
from tests.support.asgi import serving
from tests.support.infra import create_database

EXAMPLES = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection]
PASSWORD = "a long enough password for fuzzing"
EVERY_ROLE = ["triage_officer", "duty_inspector", "supervisor", "analyst", "admin", "data_protection_officer"]

SIGNING_OUT = {"DELETE /v1/session"}  # would end the fuzzing session: signing out is tested in test_staff_access
FUZZ_SESSION = "fuzz-session"
# Base URL, headers and cookies of a member of staff with every role. Internal routes are called with notify's
# credential instead (the one service each service's internal routes accept): staff routes refuse it.
Served = tuple[str, dict[str, str], dict[str, str]]


def _vigil() -> VigilSettings:
    nowhere = f"http://127.0.0.1:{free_port()}"  # intake and triage, where asked: not answering
    return VigilSettings(environment="test", kafka_bootstrap="127.0.0.1:1", topic_prefix="unused.",
                         intake_internal_url=nowhere, triage_internal_url=nowhere)


@contextmanager
def _triage(url: str) -> Iterator[Served]:
    triage = build_triage(_vigil(), TriageSettings(database_url=url))
    triage.auth.create_user("fuzz", "Fuzz Everyrole", PASSWORD, EVERY_ROLE)
    app = triage_app(triage, with_worker=False)
    with TestClient(app) as client:  # a session, through the real sign-in
        signed = client.post("/v1/session", json={"username": "fuzz", "password": PASSWORD})
        assert signed.status_code == 200, signed.text
        session, csrf = client.cookies["vigil_staff"], signed.json()["csrf_token"]
    with serving(app, name="triage") as base:
        yield base, {"X-CSRF-Token": csrf}, {"vigil_staff": session}
    triage.db.dispose()


def _signed_in(vigil: VigilSettings, service: str) -> StaffAccess:
    """Triage's session check for notify and assessment, answering that FUZZ_SESSION is a national account with
    every role (the real check is tested in test_staff_access), so their handlers run."""

    def introspect(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content)["token"] != FUZZ_SESSION:
            return httpx.Response(200, json={"active": False})
        return httpx.Response(200, json={"active": True, "username": "fuzz", "roles": [r.value for r in Role],
                                         "csrf_token": "c", "areas": []})

    return StaffAccess(vigil, service, client=httpx.Client(transport=httpx.MockTransport(introspect)))


@contextmanager
def _notify(url: str) -> Iterator[Served]:
    notify = build_notify(_vigil(), NotifySettings(database_url=url))
    notify.staff_access = _signed_in(notify.vigil, "notify")
    with serving(notify_app(notify, with_worker=False), name="notify") as base:
        yield base, {"Authorization": f"Bearer {FUZZ_SESSION}"}, {}
    notify.db.dispose()


@contextmanager
def _assessment(url: str) -> Iterator[Served]:
    assessment = build_assessment(_vigil(), AssessmentSettings(database_url=url))
    assessment.staff_access = _signed_in(assessment.vigil, "assessment")
    with serving(assessment_app(assessment, with_worker=False), name="assessment") as base:
        yield base, {"Authorization": f"Bearer {FUZZ_SESSION}"}, {}
    assessment.db.dispose()


SERVICES: dict[str, Callable[[str], Any]] = {"triage": _triage, "notify": _notify, "assessment": _assessment}


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_no_generated_request_gets_a_5xx_or_an_undocumented_answer(service: str, postgres_admin_url: str) -> None:
    url = create_database(postgres_admin_url, f"{service}fuzz")
    upgrade(service, url)
    failures: list[str] = []
    with SERVICES[service](url) as (base, staff, cookies):
        internal = service_headers(VigilSettings(environment="test"), "notify")
        schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 10
        for operation in operations:
            if operation.label in SIGNING_OUT:
                continue

            @given(case=operation.as_strategy())
            @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            def check(case: Any) -> None:
                headers = internal if case.operation.path.startswith("/internal/") else staff
                case.call_and_validate(checks=CHECKS, headers=headers, cookies=cookies)

            try:
                check()
            except (Exception, BaseExceptionGroup) as e:  # every operation is fuzzed; all failures reported together
                failures.append(f"{operation.label}: {str(e)[:1500]}")
    assert not failures, "\n\n".join(failures)
