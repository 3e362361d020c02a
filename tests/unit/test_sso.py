"""Single sign-on's pure parts (ADR 0060): which account an identity signs in to, and the ID token's checks
(signature, algorithm, issuer, audience, authorised party, times, nonce) on tokens signed here."""

from __future__ import annotations

import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from services.triage.identities import Refusal, choose
from services.triage.sso import Discovery, Identity, OidcClient, SsoRefused, SsoUnavailable
from services.triage.staff_store import Account, Linkable

ISSUER, CLIENT, NONCE = "https://login.example.org/tenant/v2.0", "vigil-client", "the-nonce"


def account(user_id: str, enabled: bool = True, subject: str | None = None) -> Linkable:
    found = Account(user_id, user_id, user_id.title(), frozenset({"triage_officer"}), "hash", frozenset({"E23000001"}))
    return Linkable(found, enabled, ISSUER if subject else None, subject)


def identity(email: str | None = "dora@police.example", verified: bool = True, sub: str = "sub-1") -> Identity:
    return Identity(ISSUER, sub, email, verified)


# --- which account -------------------------------------------------------------------------------------

def test_a_linked_identity_signs_in_to_its_account_without_linking_again() -> None:
    choice = choose(identity(email=None), account("dora", subject="sub-1"), [])
    assert choice.account is not None and choice.account.user_id == "dora" and not choice.link


def test_a_linked_but_disabled_account_is_refused() -> None:
    assert choose(identity(), account("dora", enabled=False, subject="sub-1"), []).refusal is Refusal.disabled


def test_a_first_sign_in_links_by_a_verified_email_held_by_exactly_one_enabled_account() -> None:
    choice = choose(identity(), None, [account("dora"), account("old-dora", enabled=False)])
    assert choice.account is not None and choice.account.user_id == "dora" and choice.link


def test_an_unverified_email_never_links() -> None:
    assert choose(identity(verified=False), None, [account("dora")]).refusal is Refusal.unverified


def test_no_email_and_no_link_is_an_unknown_identity() -> None:
    assert choose(identity(email=None), None, []).refusal is Refusal.unknown
    assert choose(identity(), None, []).refusal is Refusal.unknown


def test_only_disabled_accounts_with_the_email_are_refused_as_disabled() -> None:
    assert choose(identity(), None, [account("dora", enabled=False)]).refusal is Refusal.disabled


def test_two_enabled_accounts_with_the_email_link_neither() -> None:
    assert choose(identity(), None, [account("dora"), account("dora2")]).refusal is Refusal.ambiguous


def test_a_second_identity_cannot_claim_an_account_already_linked() -> None:
    assert choose(identity(sub="sub-2"), None, [account("dora", subject="sub-1")]).refusal is Refusal.taken


# --- the ID token ----------------------------------------------------------------------------------------

KEY = RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256", "use": "sig"})
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256", "use": "sig"})


class KnownProvider(OidcClient):
    """The client with its discovery and keys given, not fetched: the checks alone."""

    def __init__(self, algorithms: frozenset[str] = frozenset({"RS256"})) -> None:
        super().__init__(ISSUER, CLIENT, "secret", "https://vigil.example/login/oidc/callback")
        self.known = Discovery(ISSUER, f"{ISSUER}/authorize", f"{ISSUER}/token", f"{ISSUER}/keys", algorithms)

    def discovery(self) -> Discovery:
        return self.known

    def keys(self, refresh: bool = False) -> KeySet:
        return KeySet([KEY])


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    found: dict[str, Any] = {"iss": ISSUER, "sub": "sub-1", "aud": CLIENT, "exp": now + 300, "iat": now,
                             "nonce": NONCE, "email": "dora@police.example", "email_verified": True}
    found.update(changes)
    return {k: v for k, v in found.items() if v is not None}


def signed(payload: dict[str, Any], key: RSAKey = KEY, alg: str = "RS256") -> str:
    return jwt.encode({"alg": alg, "kid": "k1"}, payload, key)


def test_a_good_id_token_gives_the_identity() -> None:
    assert KnownProvider().identity(signed(claims()), NONCE) == Identity(ISSUER, "sub-1", "dora@police.example", True)


def test_email_verified_must_be_true_itself_not_a_truthy_string() -> None:
    assert not KnownProvider().identity(signed(claims(email_verified="true")), NONCE).email_verified


@pytest.mark.parametrize("changes", [
    {"iss": "https://login.example.org/another-tenant/v2.0"},
    {"aud": "another-client"},
    {"aud": [CLIENT, "another-client"]},  # several audiences and no azp
    {"aud": [CLIENT, "another-client"], "azp": "another-client"},
    {"azp": "another-client"},
    {"exp": int(time.time()) - 120},
    {"iat": int(time.time()) + 600},
    {"iat": int(time.time()) - 3600, "exp": int(time.time()) + 300},
    {"nonce": "another-nonce"},
    {"nonce": None},
    {"sub": None},
    {"exp": None},
], ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_an_id_token_failing_a_claim_check_is_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(SsoRefused):
        KnownProvider().identity(signed(claims(**changes)), NONCE)


def test_several_audiences_with_vigil_as_authorised_party_pass() -> None:
    assert KnownProvider().identity(signed(claims(aud=[CLIENT, "api"], azp=CLIENT)), NONCE).subject == "sub-1"


def test_a_small_clock_difference_is_within_the_leeway() -> None:
    assert KnownProvider().identity(signed(claims(exp=int(time.time()) - 20)), NONCE).subject == "sub-1"


def test_a_token_signed_by_another_key_is_refused() -> None:
    with pytest.raises(SsoRefused, match="signature"):
        KnownProvider().identity(signed(claims(), key=OTHER_KEY), NONCE)


def test_an_unsigned_token_is_refused() -> None:
    header, payload = jwt.encode({"alg": "RS256"}, claims(), KEY).split(".")[:2]
    for token in (f"{header}.{payload}.", "eyJhbGciOiJub25lIn0." + payload + "."):
        with pytest.raises(SsoRefused):
            KnownProvider().identity(token, NONCE)


def test_an_algorithm_the_provider_does_not_advertise_is_refused() -> None:
    with pytest.raises(SsoRefused):
        KnownProvider(frozenset({"ES256"})).identity(signed(claims()), NONCE)


def test_discovery_keeps_public_key_algorithms_only_and_must_name_the_issuer() -> None:
    document = {"issuer": ISSUER, "authorization_endpoint": "a", "token_endpoint": "t", "jwks_uri": "j",
                "id_token_signing_alg_values_supported": ["none", "HS256", "RS256"]}
    assert Discovery.of(ISSUER, document).algorithms == {"RS256"}
    with pytest.raises(SsoUnavailable):
        Discovery.of(ISSUER, {**document, "issuer": "https://elsewhere.example"})
    with pytest.raises(SsoUnavailable):
        Discovery.of(ISSUER, {**document, "id_token_signing_alg_values_supported": ["none", "HS256"]})


# --- settings ------------------------------------------------------------------------------------------

def test_single_sign_on_settings_are_complete_or_refused_and_the_secret_is_never_shown() -> None:
    from pydantic import ValidationError

    from services.triage.settings import TriageSettings
    from shared.settings import foreign_secrets

    on = TriageSettings(oidc_issuer=ISSUER, oidc_client_id=CLIENT, oidc_client_secret="s3cret-value")
    assert "s3cret-value" not in repr(on) and on.oidc_client_secret.get_secret_value() == "s3cret-value"
    with pytest.raises(ValidationError, match="TRIAGE_OIDC_CLIENT_SECRET"):
        TriageSettings(oidc_issuer=ISSUER, oidc_client_id=CLIENT)
    with pytest.raises(ValidationError, match="nobody could sign in"):
        TriageSettings(oidc_passwords=False)
    assert "TRIAGE_OIDC_CLIENT_SECRET" in foreign_secrets("notify")
    assert "TRIAGE_OIDC_CLIENT_SECRET" not in foreign_secrets("triage")


def test_outside_development_the_issuer_must_be_https() -> None:
    from services.triage.main import single_sign_on
    from services.triage.settings import TriageSettings
    from shared.clock import SystemClock
    from shared.db import Database
    from shared.settings import VigilSettings

    settings = TriageSettings(oidc_issuer="http://login.example.org", oidc_client_id=CLIENT,
                              oidc_client_secret="s3cret-value")
    db = Database("sqlite://")
    try:
        with pytest.raises(ValueError, match="https"):
            single_sign_on(VigilSettings(environment="production"), settings, db, SystemClock())
        assert single_sign_on(VigilSettings(environment="test"), settings, db, SystemClock()) is not None
    finally:
        db.dispose()
