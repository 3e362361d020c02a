"""Sign-in and the public edge over real HTTP, with intake and triage started as `vigil <service> api` starts
them in production (services/cli.py sets uvicorn's proxy flags): X-Forwarded-For is believed only from
VIGIL_TRUSTED_PROXIES; sign-in slows guessing per username and per address without locking the owner out;
served as HTTPS-only, cookies are Secure and every answer carries HSTS. SQLite each, no Kafka needed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from services.triage.auth import Auth
from shared.clock import SystemClock
from shared.db import Database
from shared.migrate import upgrade
from tests.support.services import ServiceProcess

PASSWORD = "a long enough password"
OFFICE, DESK_NEARBY = "203.0.113.10", "203.0.113.77"  # one /24: the account's usual network
BASE_ENV = {"VIGIL_ENVIRONMENT": "test", "VIGIL_KAFKA_BOOTSTRAP": "127.0.0.1:1", "VIGIL_TOPIC_PREFIX": "unused."}


def started(name: str, env: dict[str, str], tmp_path: Path) -> ServiceProcess:
    url = f"sqlite:///{tmp_path / name}.db"
    upgrade(name, url)
    if name == "triage":
        db = Database(url)
        Auth(db, SystemClock()).create_user("dora", "Dora Inspector", PASSWORD, ["duty_inspector"])
        db.dispose()
    return ServiceProcess(name, {**BASE_ENV, f"{name.upper()}_DATABASE_URL": url, **env}, tmp_path, mode="api").start()


@pytest.fixture
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServiceProcess]:
    name, env = request.param
    process = started(name, env, tmp_path)
    try:
        yield process
    finally:
        process.stop()


INTAKE_TIGHT = {"INTAKE_RATE_LIMIT_BURST": "2", "INTAKE_RATE_LIMIT_PER_MINUTE": "0.5"}


def statuses(base: str, forwarded_for: list[str]) -> list[int]:
    return [httpx.get(f"{base}/v1/reports/VGL0000000", headers={"X-Forwarded-For": address}, timeout=10).status_code
            for address in forwarded_for]


@pytest.mark.parametrize("service", [("intake", INTAKE_TIGHT)], indirect=True)
def test_without_trusted_proxies_a_forwarded_for_from_this_host_is_bucketed_by_its_real_address(
        service: ServiceProcess) -> None:
    assert statuses(service.url, ["198.51.100.1", "198.51.100.2", "198.51.100.3"]) == [404, 404, 429]


@pytest.mark.parametrize("service", [("intake", {**INTAKE_TIGHT, "VIGIL_TRUSTED_PROXIES": "127.0.0.1"})],
                         indirect=True)
def test_behind_a_trusted_proxy_each_client_it_names_has_its_own_bucket(service: ServiceProcess) -> None:
    assert statuses(service.url, ["198.51.100.1", "198.51.100.2", "198.51.100.3"]) == [404, 404, 404]
    assert statuses(service.url, ["6.6.6.6, 198.51.100.4"] * 3) == [404, 404, 429], (
        "the nearest hop the proxy appended counts, not what the client wrote before it")


TRIAGE_BEHIND_PROXY = {"VIGIL_TRUSTED_PROXIES": "127.0.0.1", "VIGIL_HTTPS": "true"}


def sign_in(base: str, address: str, password: str = PASSWORD, username: str = "dora") -> httpx.Response:
    return httpx.post(f"{base}/v1/session", json={"username": username, "password": password},
                      headers={"X-Forwarded-For": address}, timeout=30)


@pytest.mark.parametrize("service", [("triage", TRIAGE_BEHIND_PROXY)], indirect=True)
def test_served_https_only_the_session_cookie_is_secure_httponly_strict_and_hsts_is_sent(
        service: ServiceProcess) -> None:
    answer = sign_in(service.url, OFFICE)
    assert answer.status_code == 200
    cookie = answer.headers["set-cookie"].lower()
    assert "secure" in cookie.split("; ") and "httponly" in cookie.split("; ") and "samesite=strict" in cookie
    for path in ("/v1/session", "/login", "/healthz"):
        hsts = httpx.get(f"{service.url}{path}", timeout=10).headers["strict-transport-security"]
        assert hsts == "max-age=31536000; includeSubDomains"


@pytest.mark.parametrize("service", [("triage", TRIAGE_BEHIND_PROXY)], indirect=True)
def test_guessing_elsewhere_slows_the_guesser_and_never_locks_the_owner_out(service: ServiceProcess) -> None:
    assert sign_in(service.url, OFFICE).status_code == 200
    for n in range(5):
        assert sign_in(service.url, f"198.51.100.{n + 1}", password="a wrong guess!!").status_code == 401
    refused = sign_in(service.url, "198.51.100.9")
    assert refused.status_code == 429 and refused.headers["content-type"] == "application/problem+json"
    assert 1 <= int(refused.headers["retry-after"]) <= 2
    assert sign_in(service.url, DESK_NEARBY).status_code == 200, "the owner, on her usual network, gets in at once"

    for n in range(5):
        assert sign_in(service.url, f"198.51.100.{n + 1}", password="a wrong guess!!").status_code == 401
    page = httpx.post(f"{service.url}/login", data={"username": "dora", "password": PASSWORD},
                      headers={"X-Forwarded-For": "198.51.100.9"}, timeout=30)
    assert page.status_code == 429 and "try again in" in page.text
    time.sleep(int(page.headers["retry-after"]))
    assert sign_in(service.url, "198.51.100.9").status_code == 200, "once the delay has passed, the password works"


@pytest.mark.parametrize("service", [("triage", TRIAGE_BEHIND_PROXY)], indirect=True)
def test_many_usernames_tried_from_one_address_slow_that_address_only(service: ServiceProcess) -> None:
    for n in range(20):
        assert sign_in(service.url, "192.0.2.1", username=f"guess{n}").status_code == 401
    assert sign_in(service.url, "192.0.2.1").status_code == 429
    assert sign_in(service.url, "192.0.2.2").status_code == 200
