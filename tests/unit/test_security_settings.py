"""Outside development: every service holds only its own secrets, browsers are held to HTTPS (HSTS, Secure
cookies), and X-Forwarded-For is believed from the configured proxies only (docs/security.md)."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any, Literal

import pytest
import yaml
from fastapi import Response
from fastapi.testclient import TestClient
from pydantic import ValidationError

from services.cli import _own, proxy_options
from services.intake.settings import IntakeSettings
from services.triage.main import build, create_app
from services.triage.settings import TriageSettings
from shared.edge import client_address, secure_cookie
from shared.migrate import upgrade
from shared.service import http_app
from shared.settings import SECRET_HOLDERS, VigilSettings, foreign_secrets, parse_networks

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("intake", "triage", "notify", "assessment")
REAL_KEY = base64.b64encode(b"k" * 32).decode()
PASSWORD = "a long enough password"


def production(**secrets: str) -> VigilSettings:
    return VigilSettings(environment="production", **secrets)  # type: ignore[arg-type]


# --- secrets per service --------------------------------------------------------------------------

@pytest.mark.parametrize("service", ["triage", "notify", "assessment"])
def test_a_service_other_than_intake_refuses_to_start_with_the_master_key(service: str) -> None:
    settings = production(master_key=REAL_KEY, fingerprint_key="real-fingerprint", service_token="real-token")
    with pytest.raises(ValueError, match=f"VIGIL_MASTER_KEY is not {service}'s to hold"):
        settings.check_secrets(service)


def test_the_master_key_read_from_the_environment_counts_as_handed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_ENVIRONMENT", "production")
    monkeypatch.setenv("VIGIL_MASTER_KEY", REAL_KEY)
    monkeypatch.setenv("VIGIL_SERVICE_TOKEN", "real-token")
    with pytest.raises(ValueError, match="VIGIL_MASTER_KEY is not triage's to hold"):
        VigilSettings().check_secrets("triage")


def test_each_service_starts_with_exactly_its_own_secrets() -> None:
    real = {"master_key": REAL_KEY, "fingerprint_key": "real-fingerprint", "service_token": "real-token"}
    for service in SERVICES:
        own = {name: value for name, value in real.items() if service in SECRET_HOLDERS[name]}
        production(**own).check_secrets(service)


def test_a_service_without_a_real_secret_of_its_own_refuses_to_start() -> None:
    with pytest.raises(ValueError, match="VIGIL_MASTER_KEY must be set to a real secret"):
        production(fingerprint_key="real-fingerprint", service_token="real-token").check_secrets("intake")
    with pytest.raises(ValueError, match="VIGIL_SERVICE_TOKEN must be set to a real secret"):
        production().check_secrets("triage")
    with pytest.raises(ValueError, match="VIGIL_MASTER_KEY must be set to a real secret"):
        production().master_key_bytes()


def test_a_development_secret_given_in_production_is_refused_at_once() -> None:
    with pytest.raises(ValidationError, match="VIGIL_SERVICE_TOKEN must be set to a real secret"):
        production(service_token="vigil-development-service-token")


@pytest.mark.parametrize("environment", ["development", "test"])
def test_development_and_test_keep_every_secret_everywhere(environment: Literal["development", "test"]) -> None:
    settings = VigilSettings(environment=environment, master_key=REAL_KEY)
    for service in SERVICES:
        settings.check_secrets(service)


def test_triage_built_in_production_with_the_master_key_does_not_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'triage.db'}"
    with pytest.raises(ValueError, match="VIGIL_MASTER_KEY is not triage's"):
        build(production(master_key=REAL_KEY, service_token="real-token"), TriageSettings(database_url=url))


def test_vigil_up_hands_each_service_only_its_own_secrets() -> None:
    env = {"VIGIL_MASTER_KEY": "m", "VIGIL_FINGERPRINT_KEY": "f", "VIGIL_SERVICE_TOKEN": "t", "PATH": "/bin"}
    assert set(_own(env, "intake")) == set(env)
    assert set(_own(env, "triage")) == set(_own(env, "notify")) == {"VIGIL_SERVICE_TOKEN", "PATH"}
    assert set(_own(env, "assessment")) == {"VIGIL_FINGERPRINT_KEY", "VIGIL_SERVICE_TOKEN", "PATH"}
    assert set(_own(env, "watchdog")) == {"PATH"}
    assert foreign_secrets("intake") == []


def _compose_environment(service: str) -> dict[str, Any]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    environment: dict[str, Any] = compose["services"][service]["environment"]
    return environment


@pytest.mark.parametrize("service", [*SERVICES, "watchdog", "migrate"])
def test_compose_gives_each_service_only_its_own_secrets_and_database(service: str) -> None:
    environment = _compose_environment(service)
    for name, holders in SECRET_HOLDERS.items():
        assert (f"VIGIL_{name.upper()}" in environment) == (service in holders), name
    for other in SERVICES:
        given = f"{other.upper()}_DATABASE_URL" in environment
        assert given == (other == service or service == "migrate"), other
    assert not [k for k in environment if re.match(r"(INTAKE|TRIAGE|NOTIFY|ASSESSMENT)_", k)
                and not k.startswith(service.upper()) and service != "migrate"]


# --- HTTPS only: HSTS and Secure cookies ----------------------------------------------------------

def cookie_app(environment: Literal["development", "test", "production"], https: bool | None = None) -> TestClient:
    settings = VigilSettings.model_construct(environment=environment, https=https)
    app = http_app("tiny", "Tiny", "a tiny service", settings)

    @app.get("/cookie")
    def cookie() -> Response:
        response = Response("ok")
        response.set_cookie("plain", "1", httponly=True, samesite="strict")
        response.set_cookie("already", "2", secure=True, samesite="lax")
        return response

    return TestClient(app, base_url="https://testserver")


def test_outside_development_every_answer_carries_hsts_and_every_cookie_is_secure() -> None:
    with cookie_app("production") as client:
        for path in ("/cookie", "/healthz", "/no-such-page"):
            assert client.get(path).headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
        cookies = client.get("/cookie").headers.get_list("set-cookie")
    assert len(cookies) == 2 and all(re.search(r";\s*secure\b", c, re.IGNORECASE) for c in cookies)
    assert sum(c.lower().count("secure") for c in cookies) == 2, "Secure once each, never twice"


@pytest.mark.parametrize("environment", ["development", "test"])
def test_development_and_test_keep_plain_http(environment: Literal["development", "test"]) -> None:
    with cookie_app(environment) as client:
        answer = client.get("/cookie")
    assert "strict-transport-security" not in answer.headers
    assert "secure" not in answer.headers.get_list("set-cookie")[0].lower()


def test_https_can_be_said_explicitly_either_way() -> None:
    with cookie_app("development", https=True) as client:
        assert "strict-transport-security" in client.get("/healthz").headers
    with cookie_app("production", https=False) as client:
        assert "strict-transport-security" not in client.get("/healthz").headers


def test_secure_is_added_once() -> None:
    assert secure_cookie(b"a=1; Path=/") == b"a=1; Path=/; Secure"
    assert secure_cookie(b"a=1; Secure; Path=/") == b"a=1; Secure; Path=/"
    assert secure_cookie(b"secure=1; Path=/") == b"secure=1; Path=/; Secure", "a cookie named secure is not the flag"


def test_triages_session_cookie_in_production_is_secure_httponly_and_strict(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'triage.db'}"
    upgrade("triage", url)
    triage = build(production(service_token="real-token"), TriageSettings(database_url=url))
    triage.auth.create_user("dora", "Dora", PASSWORD, ["duty_inspector"])
    with TestClient(create_app(triage, with_worker=False), base_url="https://testserver") as client:
        answer = client.post("/v1/session", json={"username": "dora", "password": PASSWORD})
    assert answer.status_code == 200
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and re.search(r";\s*secure\b", cookie)
    assert answer.headers["strict-transport-security"].startswith("max-age=31536000")


# --- trusted proxies ------------------------------------------------------------------------------

def test_without_trusted_proxies_the_peer_is_the_client() -> None:
    assert client_address("127.0.0.1", "203.0.113.9", ()) == "127.0.0.1"


def test_behind_a_trusted_proxy_the_nearest_untrusted_hop_is_the_client() -> None:
    proxies = parse_networks("10.0.0.0/8, 127.0.0.1")
    assert client_address("10.0.0.5", "203.0.113.9", proxies) == "203.0.113.9"
    assert client_address("10.0.0.5", "6.6.6.6, 203.0.113.9, 10.0.0.7", proxies) == "203.0.113.9", (
        "what the client wrote at the start is not believed")
    assert client_address("198.51.100.1", "203.0.113.9", proxies) == "198.51.100.1", "a peer not trusted"
    assert client_address("10.0.0.5", "10.0.0.9, 127.0.0.1", proxies) == "10.0.0.9", "every hop a proxy"
    assert client_address("10.0.0.5", None, proxies) == "10.0.0.5"


def test_trusted_proxies_must_be_addresses() -> None:
    for wrong in ("*", "proxy.example", "10.0.0.0/33"):
        with pytest.raises(ValidationError, match="VIGIL_TRUSTED_PROXIES"):
            VigilSettings(trusted_proxies=wrong)
    assert VigilSettings(trusted_proxies=" 10.0.0.5 , 2001:db8::/64").proxy_networks()[1].prefixlen == 64


def test_uvicorn_believes_forwarded_headers_only_from_the_trusted_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIGIL_TRUSTED_PROXIES", raising=False)
    assert proxy_options(TriageSettings()) == {"proxy_headers": False, "forwarded_allow_ips": ""}
    monkeypatch.setenv("VIGIL_TRUSTED_PROXIES", "10.0.0.5,10.1.0.0/16")
    assert proxy_options(TriageSettings()) == {"proxy_headers": True,
                                               "forwarded_allow_ips": ["10.0.0.5/32", "10.1.0.0/16"]}


def test_intakes_own_forwarded_for_switch_is_retired_loudly() -> None:
    with pytest.raises(SystemExit, match="VIGIL_TRUSTED_PROXIES"):
        proxy_options(IntakeSettings(trust_forwarded_for=True))
