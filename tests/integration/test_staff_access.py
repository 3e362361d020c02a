"""Staff sign in once, at triage; notify and assessment ask triage about the session and check roles.

Three real services on real sockets (in this process, SQLite each); every call is real HTTP, including
notify's and assessment's questions to triage (ADR 0046).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from infra.procs import free_port
from services.assessment.main import build as build_assessment
from services.assessment.main import create_app as assessment_app
from services.assessment.settings import AssessmentSettings
from services.notify.channels import LogChannel
from services.notify.main import build as build_notify
from services.notify.main import create_app as notify_app
from services.notify.settings import NotifySettings
from services.triage.auth import Auth
from services.triage.main import build as build_triage
from services.triage.main import create_app as triage_app
from services.triage.settings import TriageSettings
from shared.clock import MovableClock, SystemClock
from shared.db import Database
from shared.migrate import upgrade
from shared.settings import VigilSettings
from shared.staffaccess import INTROSPECT_PATH, SESSION_COOKIE
from tests.integration.test_notify_api import T0
from tests.integration.test_notify_flow import staff_directory
from tests.support.asgi import serving

PASSWORD = "a long enough password"
PROBLEM = "application/problem+json"
AREA = "E23000001"


@dataclass
class Deployment:
    triage: str
    notify: str
    assessment: str
    service_token: str  # assessment's credential

    def sign_in(self, username: str) -> tuple[str, str]:
        """The session token (triage's cookie) and its CSRF token."""
        answer = httpx.post(f"{self.triage}/v1/session", json={"username": username, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        return answer.cookies[SESSION_COOKIE], answer.json()["csrf_token"]


def _vigil(triage_url: str) -> VigilSettings:
    return VigilSettings(environment="test", kafka_bootstrap="127.0.0.1:1", topic_prefix="unused.",
                         triage_internal_url=triage_url)


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    urls = {}
    for name in ("triage", "notify", "assessment"):
        urls[name] = f"sqlite:///{tmp_path / name}.db"
        upgrade(name, urls[name])
    db = Database(urls["triage"])
    auth = Auth(db, SystemClock())
    for username, roles in {"ana": ["analyst"], "sue": ["supervisor"], "tom": ["triage_officer"]}.items():
        auth.create_user(username, username.title(), PASSWORD, roles)
    db.dispose()
    with ExitStack() as stacks:
        triage = build_triage(_vigil("http://127.0.0.1:1"), TriageSettings(database_url=urls["triage"]))
        triage_url = stacks.enter_context(serving(triage_app(triage, with_worker=False), name="triage"))
        vigil = _vigil(triage_url)
        notify = build_notify(vigil, NotifySettings(database_url=urls["notify"]), clock=MovableClock(T0),
                              channels={"log": LogChannel()}, directory=staff_directory(rota_start=T0))
        assessment = build_assessment(vigil, AssessmentSettings(database_url=urls["assessment"]))
        for service in (notify, assessment):
            service.staff_access.ttl = 0  # every request asks triage, so a sign-out shows at once
        notify_url = stacks.enter_context(serving(notify_app(notify, with_worker=False), name="notify"))
        assessment_url = stacks.enter_context(serving(assessment_app(assessment, with_worker=False), name="assessment"))
        yield Deployment(triage_url, notify_url, assessment_url, vigil.service_token("assessment"))
        for service in (triage, notify, assessment):
            service.db.dispose()


def _get(url: str, token: str | None = None, bearer: str | None = None) -> httpx.Response:
    return httpx.get(url, cookies={SESSION_COOKIE: token} if token else None,
                     headers={"Authorization": f"Bearer {bearer}"} if bearer else None, timeout=10)


def test_without_a_sign_in_notify_and_assessment_answer_401_as_a_problem(deployment: Deployment) -> None:
    for url in (f"{deployment.notify}/v1/rota/{AREA}", f"{deployment.notify}/v1/notifications",
                f"{deployment.assessment}/v1/areas", f"{deployment.assessment}/v1/strategic-assessment"):
        answer = _get(url)
        assert answer.status_code == 401, url
        assert answer.headers["content-type"] == PROBLEM and "sign in at triage" in answer.json()["detail"]
    assert _get(f"{deployment.notify}/v1/rota/{AREA}", token="not-a-session").status_code == 401


def test_each_role_reaches_what_it_may_and_is_refused_the_rest(deployment: Deployment) -> None:
    ana, _ = deployment.sign_in("ana")
    sue, _ = deployment.sign_in("sue")
    tom, _ = deployment.sign_in("tom")
    areas, strategic = f"{deployment.assessment}/v1/areas", f"{deployment.assessment}/v1/strategic-assessment"
    rota = f"{deployment.notify}/v1/rota/{AREA}"
    assert _get(areas, ana).status_code == 200 and _get(strategic, ana).status_code == 200
    assert _get(areas, sue).status_code == 200 and _get(rota, sue).status_code == 200
    for url, token in [(rota, ana), (areas, tom), (strategic, tom), (rota, tom)]:
        answer = _get(url, token)
        assert answer.status_code == 403, url
        assert answer.headers["content-type"] == PROBLEM and "roles" in answer.json()["detail"]
    assert _get(rota, bearer=sue).status_code == 200, "the session token as a bearer token"
    for url in (rota, areas, strategic):  # staff routes are for people: a service's credential is no sign-in
        refused = _get(url, bearer=deployment.service_token)
        assert refused.status_code == 403 and refused.headers["content-type"] == PROBLEM, url
        assert "signed-in member of staff" in refused.json()["detail"]


def test_a_change_with_the_cookie_needs_the_sessions_csrf_token(deployment: Deployment) -> None:
    sue, csrf = deployment.sign_in("sue")
    window = {"person_id": "di-2", "starts_at": T0.isoformat(), "ends_at": (T0 + timedelta(hours=2)).isoformat()}
    url = f"{deployment.notify}/v1/rota/{AREA}/overrides"
    without = httpx.put(url, json=window, cookies={SESSION_COOKIE: sue})
    wrong = httpx.put(url, json=window, cookies={SESSION_COOKIE: sue}, headers={"X-CSRF-Token": "guess"})
    assert (without.status_code, wrong.status_code) == (403, 403) and "CSRF" in without.json()["detail"]
    assert _get(f"{deployment.notify}/v1/rota/{AREA}", sue).json()["on_call"] == "di-1", "nothing changed"
    made = httpx.put(url, json=window, cookies={SESSION_COOKIE: sue}, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201, made.text
    assert _get(f"{deployment.notify}/v1/rota/{AREA}", sue).json()["on_call"] == "di-2"


def test_signing_out_at_triage_closes_the_other_services_too(deployment: Deployment) -> None:
    ana, csrf = deployment.sign_in("ana")
    areas = f"{deployment.assessment}/v1/areas"
    assert _get(areas, ana).status_code == 200
    out = httpx.delete(f"{deployment.triage}/v1/session", cookies={SESSION_COOKIE: ana},
                       headers={"X-CSRF-Token": csrf})
    assert out.status_code == 204
    assert _get(areas, ana).status_code == 401


def test_triage_answers_session_questions_only_to_vigil_services(deployment: Deployment) -> None:
    ana, _ = deployment.sign_in("ana")
    url = deployment.triage + INTROSPECT_PATH
    assert httpx.post(url, json={"token": ana}).status_code == 401
    assert httpx.post(url, json={"token": ana}, headers={"Authorization": "Bearer guess"}).status_code == 401
    service = {"Authorization": f"Bearer {deployment.service_token}"}
    known = httpx.post(url, json={"token": ana}, headers=service)
    assert known.json()["active"] is True and known.json()["roles"] == ["analyst"]
    assert known.headers["cache-control"] == "no-store"
    assert httpx.post(url, json={"token": "nobody"}, headers=service).json() == {"active": False}


def test_when_triage_cannot_be_asked_a_staff_call_is_503_never_let_through(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'assessment.db'}"
    upgrade("assessment", url)
    vigil = _vigil(f"http://127.0.0.1:{free_port()}")  # nothing listens there
    assessment = build_assessment(vigil, AssessmentSettings(database_url=url))
    with serving(assessment_app(assessment, with_worker=False), name="assessment") as base:
        asked = _get(f"{base}/v1/areas", token="some-session")
        assert asked.status_code == 503 and asked.headers["content-type"] == PROBLEM
        assert _get(f"{base}/v1/areas", bearer=vigil.service_token("notify")).status_code == 403, \
            "a service's credential is refused without asking triage"
    assessment.db.dispose()
