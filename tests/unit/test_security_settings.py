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
from shared.settings import (
    ACCEPTED_CALLERS,
    DEV_SERVICE_TOKENS,
    DEV_TOKEN_DIGESTS,
    SECRET_HOLDERS,
    VigilSettings,
    parse_networks,
    token_digest,
)

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("intake", "triage", "notify", "assessment")
REAL_KEY = base64.b64encode(b"k" * 32).decode()
PASSWORD = "a long enough password"


def production(**secrets: str) -> VigilSettings:
    return VigilSettings(environment="production", **secrets)  # type: ignore[arg-type]


REAL_TOKENS = {service: f"real-{service}-credential" for service in SERVICES}
DIGESTS = {f"{service}_service_token_sha256": token_digest(token) for service, token in REAL_TOKENS.items()}
SHARED = {"master_key": REAL_KEY, "fingerprint_key": "real-fingerprint"}


def own(service: str) -> dict[str, str]:
    """Everything `service` is to be handed in production: its shared secrets, its credential, every digest."""
    shared = {name: value for name, value in SHARED.items() if service in SECRET_HOLDERS[name]}
    return {**shared, f"{service}_service_token": REAL_TOKENS[service], **DIGESTS}


# --- secrets per service --------------------------------------------------------------------------

@pytest.mark.parametrize("service", ["triage", "notify", "assessment"])
def test_a_service_other_than_intake_refuses_to_start_with_the_master_key(service: str) -> None:
    settings = production(**own(service), master_key=REAL_KEY)
    with pytest.raises(ValueError, match=f"VIGIL_MASTER_KEY is not {service}'s to hold"):
        settings.check_secrets(service)


def test_the_master_key_read_from_the_environment_counts_as_handed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_ENVIRONMENT", "production")
    monkeypatch.setenv("VIGIL_MASTER_KEY", REAL_KEY)
    monkeypatch.setenv("VIGIL_TRIAGE_SERVICE_TOKEN", "real-token")
    with pytest.raises(ValueError, match="VIGIL_MASTER_KEY is not triage's to hold"):
        VigilSettings().check_secrets("triage")


def test_each_service_starts_with_exactly_its_own_secrets() -> None:
    for service in SERVICES:
        production(**own(service)).check_secrets(service)


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_handed_another_services_credential_refuses_to_start(service: str) -> None:
    for other in set(SERVICES) - {service}:
        settings = production(**own(service), **{f"{other}_service_token": REAL_TOKENS[other]})
        with pytest.raises(ValueError, match=f"VIGIL_{other.upper()}_SERVICE_TOKEN is not {service}'s to hold"):
            settings.check_secrets(service)


def test_a_service_without_a_real_secret_of_its_own_refuses_to_start() -> None:
    with pytest.raises(ValueError, match="VIGIL_MASTER_KEY must be set to a real secret"):
        production(**{**own("intake"), "master_key": VigilSettings().master_key.get_secret_value()}
                   ).check_secrets("intake")
    with pytest.raises(ValueError, match="VIGIL_TRIAGE_SERVICE_TOKEN must be set to a real secret"):
        production().check_secrets("triage")
    with pytest.raises(ValueError, match="VIGIL_MASTER_KEY must be set to a real secret"):
        production().master_key_bytes()


@pytest.mark.parametrize(("service", "caller"), sorted((s, c) for s, cs in ACCEPTED_CALLERS.items() for c in cs))
def test_a_service_that_does_not_know_a_callers_real_digest_refuses_to_start(service: str, caller: str) -> None:
    """Left at its default, a digest is the development credential's, which opens nothing in production."""
    settings = own(service)
    del settings[f"{caller}_service_token_sha256"]
    with pytest.raises(ValueError, match=f"VIGIL_{caller.upper()}_SERVICE_TOKEN_SHA256 must be the digest"):
        production(**settings).check_secrets(service)


def test_the_one_shared_credential_is_retired(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_SERVICE_TOKEN", "the-old-shared-one")
    with pytest.raises(ValueError, match="VIGIL_SERVICE_TOKEN is retired"):
        production(**own("notify")).check_secrets("notify")
    VigilSettings(environment="development").check_secrets("notify")


def test_a_development_secret_given_in_production_is_refused_at_once() -> None:
    with pytest.raises(ValidationError, match="VIGIL_NOTIFY_SERVICE_TOKEN must be set to a real secret"):
        production(notify_service_token=DEV_SERVICE_TOKENS["notify"])


def test_a_digest_that_is_not_one_is_refused() -> None:
    with pytest.raises(ValidationError, match="64 hex digits"):
        VigilSettings(notify_service_token_sha256="not-a-digest")


@pytest.mark.parametrize("environment", ["development", "test"])
def test_development_and_test_keep_every_secret_everywhere(environment: Literal["development", "test"]) -> None:
    settings = VigilSettings(environment=environment, master_key=REAL_KEY)
    for service in SERVICES:
        settings.check_secrets(service)


def test_triage_built_in_production_with_the_master_key_does_not_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'triage.db'}"
    with pytest.raises(ValueError, match="VIGIL_MASTER_KEY is not triage's"):
        build(production(**own("triage"), master_key=REAL_KEY), TriageSettings(database_url=url))


def test_vigil_up_hands_each_service_only_its_own_secrets() -> None:
    tokens = {f"VIGIL_{service.upper()}_SERVICE_TOKEN": "t" for service in SERVICES}
    digests = {f"VIGIL_{service.upper()}_SERVICE_TOKEN_SHA256": "d" for service in SERVICES}
    env = {"VIGIL_MASTER_KEY": "m", "VIGIL_FINGERPRINT_KEY": "f", **tokens, **digests, "PATH": "/bin"}
    shared = {"PATH", *digests}
    assert set(_own(env, "intake")) == {"VIGIL_MASTER_KEY", "VIGIL_FINGERPRINT_KEY", "VIGIL_INTAKE_SERVICE_TOKEN",
                                        *shared}
    assert set(_own(env, "triage")) == {"VIGIL_TRIAGE_SERVICE_TOKEN", *shared}
    assert set(_own(env, "notify")) == {"VIGIL_NOTIFY_SERVICE_TOKEN", *shared}
    assert set(_own(env, "assessment")) == {"VIGIL_FINGERPRINT_KEY", "VIGIL_ASSESSMENT_SERVICE_TOKEN", *shared}
    assert set(_own(env, "watchdog")) == shared


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
    for name, url in environment.items():
        if name.endswith("_DATABASE_URL"):
            role = name.removesuffix("_DATABASE_URL").lower()
            assert url.startswith(f"postgresql+psycopg://{role}:${{{role.upper()}_DB_PASSWORD:-"), "its own role"
    for other in SERVICES:
        if f"VIGIL_{other.upper()}_SERVICE_TOKEN_SHA256" in environment:
            assert DEV_TOKEN_DIGESTS[other] in environment[f"VIGIL_{other.upper()}_SERVICE_TOKEN_SHA256"]


def test_compose_makes_each_services_role_and_database_with_the_init_script() -> None:
    postgres = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["postgres"]
    assert "./infra/docker/postgres-init.sh:/docker-entrypoint-initdb.d/10-databases.sh:ro" in postgres["volumes"]
    script = (ROOT / "infra" / "docker" / "postgres-init.sh").read_text()
    for service in SERVICES:
        assert f"{service.upper()}_DB_PASSWORD" in postgres["environment"]
        assert f'{service}_password="${service.upper()}_DB_PASSWORD"' in script


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
    triage = build(production(**own("triage")), TriageSettings(database_url=url))
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


def test_compose_serves_internal_routes_on_unpublished_ports_and_the_services_call_there() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for service in SERVICES:
        internal = services[service]["environment"][f"{service.upper()}_INTERNAL_PORT"]
        assert not [p for p in services[service].get("ports", []) if str(internal) in str(p)], "not published"
        url = services[service]["environment"].get(f"VIGIL_{service.upper()}_INTERNAL_URL")
        assert url in (None, f"http://{service}:{internal}")
    assert services["notify"]["environment"]["VIGIL_INTAKE_INTERNAL_URL"] == "http://intake:9001"
