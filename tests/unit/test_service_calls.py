"""Each Vigil service calls the others with a credential of its own; each internal route names its callers."""

from __future__ import annotations

import pytest

from shared.problems import Forbidden, Unauthorized
from shared.servicecalls import calling_service, require_caller, service_headers
from shared.settings import DEV_SERVICE_TOKENS, SERVICES, VigilSettings, new_service_token, token_digest


def bearer(settings: VigilSettings, caller: str) -> str:
    return service_headers(settings, caller)["Authorization"]


def test_in_development_each_service_is_told_apart_by_its_own_credential() -> None:
    settings = VigilSettings(environment="test")
    assert {calling_service(settings, settings.service_token(s)) for s in SERVICES} == set(SERVICES)
    assert len({bearer(settings, s) for s in SERVICES}) == 4
    assert calling_service(settings, "guess") is None and calling_service(settings, None) is None
    assert calling_service(settings, "") is None


def test_a_service_is_recognised_by_the_digest_it_never_needs_the_credential_for() -> None:
    token, digest = new_service_token()
    assert digest == token_digest(token) and len(digest) == 64 and token not in digest
    receiving = VigilSettings(environment="production", notify_service_token_sha256=digest)
    assert calling_service(receiving, token) == "notify"
    assert receiving.notify_service_token.get_secret_value() != token, "the receiver holds the digest only"
    assert calling_service(receiving, new_service_token()[0]) is None


def test_outside_development_a_development_credential_opens_nothing() -> None:
    production = VigilSettings(environment="production")  # every digest left at the development one
    assert production.service_token_digests() == {}
    assert all(calling_service(production, token) is None for token in DEV_SERVICE_TOKENS.values())


def test_an_internal_route_answers_its_callers_and_refuses_the_others() -> None:
    settings = VigilSettings(environment="test")
    assert require_caller(settings, bearer(settings, "notify"), {"notify", "triage"}) == "notify"
    assert require_caller(settings, bearer(settings, "triage").lower(), {"notify", "triage"}) == "triage"
    with pytest.raises(Forbidden, match="not for assessment: it answers notify, triage only"):
        require_caller(settings, bearer(settings, "assessment"), {"notify", "triage"})
    for authorization in (None, "", "Bearer ", "Bearer guess", f"Basic {settings.service_token('notify')}",
                          settings.service_token("notify")):
        with pytest.raises(Unauthorized):
            require_caller(settings, authorization, {"notify"})


def test_only_vigils_services_have_headers_to_call_with() -> None:
    with pytest.raises(ValueError, match="not a Vigil service"):
        service_headers(VigilSettings(), "watchdog")
