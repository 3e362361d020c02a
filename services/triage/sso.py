"""Single sign-on with the force's OpenID Connect provider (ADR 0060), such as Microsoft Entra ID.

The authorization code flow with PKCE (S256), a `state` and a `nonce`. What a sign-in begun here must remember
until the browser comes back (the nonce, the PKCE verifier, where to go after) is kept server-side under the
state's SHA-256 and used once; the state itself travels to the provider and, in a short-lived HttpOnly,
SameSite=Lax cookie, to this browser alone, so a callback another browser was sent to is refused. The code is
exchanged with client_secret_basic, and the ID token is checked in full: its signature against the provider's
JWKS (fetched again once for an unknown key id), an algorithm the provider advertises and never `none` nor a
shared-secret one, `iss`, `aud`, `azp` when there are several audiences, `exp` and `iat` within a minute's
leeway, and the nonce. Discovery and the keys are cached for an hour.

Who the identity may sign in as is decided in identities.py; Vigil's own account keeps the roles and areas.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from sqlalchemy import delete, insert

from services.triage import tables
from shared.clock import Clock
from shared.db import Database

STATE_COOKIE = "vigil_sso"
CALLBACK_PATH = "/login/oidc/callback"
BEGUN_FOR = timedelta(minutes=10)  # how long a sign-in begun at the provider may take to come back
LEEWAY_SECONDS = 60
OLDEST_ID_TOKEN_SECONDS = 600  # an ID token issued longer ago than this is not a fresh sign-in
CACHE_SECONDS = 3600
# Public-key algorithms only: a shared-secret one (HS256) would make the client secret a signing key.
ASYMMETRIC = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"})
_begun = tables.sso_sign_ins


class SsoUnavailable(Exception):
    """The provider could not be reached, or answered with something that is not OpenID Connect."""


class SsoRefused(Exception):
    """The sign-in cannot be trusted or completed. The message is for the log: it never holds personal data."""


class SsoExpired(SsoRefused):
    """No sign-in begun in this browser matches the callback (missing, tampered, reused or too old)."""


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in: its issuer and `sub` name the person; the email is only for linking."""

    issuer: str
    subject: str
    email: str | None
    email_verified: bool


@dataclass(frozen=True)
class Discovery:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    algorithms: frozenset[str]
    names_issuer: bool = False  # the callback carries `iss` (RFC 9207), which must then be the issuer

    @classmethod
    def of(cls, issuer: str, document: Any) -> Discovery:
        if not isinstance(document, dict):
            raise SsoUnavailable("the discovery document is not a JSON object")
        if document.get("issuer") != issuer:
            raise SsoUnavailable("the discovery document names another issuer than the one configured")
        try:
            authorization, token, jwks = (str(document[k]) for k in ("authorization_endpoint", "token_endpoint",
                                                                     "jwks_uri"))
        except KeyError as e:
            raise SsoUnavailable(f"the discovery document has no {e.args[0]}") from None
        advertised = document.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = frozenset(str(a) for a in advertised) & ASYMMETRIC
        if not algorithms:
            raise SsoUnavailable("the provider advertises no public-key algorithm for ID tokens")
        names_issuer = document.get("authorization_response_iss_parameter_supported") is True
        return cls(issuer, authorization, token, jwks, algorithms, names_issuer)


class OidcClient:
    """The provider as Vigil's client sees it: discovery, the keys, the authorization URL, the token request and
    the ID token's checks."""

    def __init__(self, issuer: str, client_id: str, client_secret: str, redirect_uri: str,
                 now: Callable[[], float] = time.time, timeout: float = 10.0) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.now = now
        self.timeout = timeout
        self._lock = threading.Lock()
        self._discovery: tuple[float, Discovery] | None = None
        self._keys: tuple[float, KeySet] | None = None

    def discovery(self) -> Discovery:
        with self._lock:
            if self._discovery is None or self.now() - self._discovery[0] > CACHE_SECONDS:
                url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
                self._discovery = (self.now(), Discovery.of(self.issuer, self._get_json(url)))
            return self._discovery[1]

    def keys(self, refresh: bool = False) -> KeySet:
        jwks_uri = self.discovery().jwks_uri
        with self._lock:
            if refresh or self._keys is None or self.now() - self._keys[0] > CACHE_SECONDS:
                try:
                    self._keys = (self.now(), KeySet.import_key_set(self._get_json(jwks_uri)))
                except (JoseError, ValueError, TypeError, KeyError) as e:
                    raise SsoUnavailable(f"the provider's JWKS cannot be read ({type(e).__name__})") from None
            return self._keys[1]

    def authorization_url(self, state: str, nonce: str, verifier: str) -> str:
        query = urlencode({"response_type": "code", "client_id": self.client_id, "redirect_uri": self.redirect_uri,
                           "scope": "openid email", "state": state, "nonce": nonce,
                           "code_challenge": create_s256_code_challenge(verifier), "code_challenge_method": "S256"})
        endpoint = self.discovery().authorization_endpoint
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"

    def exchange(self, code: str, verifier: str) -> str:
        """The ID token for `code`, asked for with client_secret_basic (RFC 6749 2.3.1: each part form-encoded)."""
        auth = (quote(self.client_id, safe=""), quote(self.client_secret, safe=""))
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri,
                "code_verifier": verifier}
        try:
            answer = httpx.post(self.discovery().token_endpoint, data=data, auth=auth, timeout=self.timeout,
                                headers={"Accept": "application/json"})
        except httpx.HTTPError as e:
            raise SsoUnavailable(f"the token endpoint cannot be reached ({type(e).__name__})") from None
        body = _json(answer)
        if answer.status_code != 200:
            error = body.get("error") if isinstance(body, dict) else None
            raise SsoRefused(f"the token endpoint refused the code: HTTP {answer.status_code} {error or ''}".strip())
        token = body.get("id_token") if isinstance(body, dict) else None
        if not isinstance(token, str):
            raise SsoRefused("the token endpoint gave no ID token")
        return token

    def identity(self, id_token: str, nonce: str) -> Identity:
        """The ID token's person, once every check has passed."""
        algorithms = sorted(self.discovery().algorithms)
        try:
            try:
                token = jwt.decode(id_token, self.keys(), algorithms=algorithms)
            except InvalidKeyIdError:
                token = jwt.decode(id_token, self.keys(refresh=True), algorithms=algorithms)
        except JoseError as e:
            raise SsoRefused(f"the ID token's signature does not hold ({type(e).__name__})") from None
        return self.checked(token.header, token.claims, nonce)

    def checked(self, header: dict[str, Any], claims: dict[str, Any], nonce: str) -> Identity:
        """The claims' checks, once the signature holds."""
        if header.get("alg") not in self.discovery().algorithms:
            raise SsoRefused("the ID token is signed with an algorithm the provider does not advertise")
        now = int(self.now())
        registry = jwt.JWTClaimsRegistry(
            now=now, leeway=LEEWAY_SECONDS, iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.client_id}, sub={"essential": True}, exp={"essential": True},
            iat={"essential": True}, nonce={"essential": True, "value": nonce})
        try:
            registry.validate(claims)
        except JoseError as e:
            raise SsoRefused(f"the ID token's claims do not hold: {e.error} {e.description or ''}".strip()) from None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if (len(audiences) > 1 or "azp" in claims) and claims.get("azp") != self.client_id:
            raise SsoRefused("the ID token was issued to another party (azp)")
        if claims["iat"] < now - OLDEST_ID_TOKEN_SECONDS - LEEWAY_SECONDS:
            raise SsoRefused("the ID token was issued too long ago")
        email = claims.get("email")
        return Identity(self.issuer, str(claims["sub"]), email if isinstance(email, str) and email else None,
                        claims.get("email_verified") is True)

    def _get_json(self, url: str) -> Any:
        try:
            answer = httpx.get(url, timeout=self.timeout, headers={"Accept": "application/json"})
        except httpx.HTTPError as e:
            raise SsoUnavailable(f"the provider cannot be reached ({type(e).__name__})") from None
        if answer.status_code != 200:
            raise SsoUnavailable(f"the provider answered HTTP {answer.status_code}")
        body = _json(answer)
        if body is None:
            raise SsoUnavailable("the provider's answer is not JSON")
        return body


def _json(answer: httpx.Response) -> Any:
    try:
        return answer.json()
    except ValueError:
        return None


@dataclass(frozen=True)
class Begun:
    url: str  # the provider's authorization URL to send the browser to
    state: str  # for the browser's state cookie


@dataclass(frozen=True)
class Completed:
    identity: Identity
    next_url: str | None


class SingleSignOn:
    """A sign-in at the provider, from its start here to the identity it comes back with."""

    def __init__(self, db: Database, clock: Clock, client: OidcClient, label: str, passwords: bool = True) -> None:
        self.db = db
        self.clock = clock
        self.client = client
        self.label = label
        self.passwords = passwords

    def begin(self, next_url: str | None) -> Begun:
        state, nonce, verifier = secrets.token_urlsafe(32), generate_token(32), generate_token(64)
        url = self.client.authorization_url(state, nonce, verifier)  # unreachable provider: nothing kept
        now = self.clock.now()
        with self.db.transaction() as s:
            s.execute(delete(_begun).where(_begun.c.created_at < now - BEGUN_FOR))
            s.execute(insert(_begun).values(state_hash=_digest(state), nonce=nonce, code_verifier=verifier,
                                            next_url=next_url, created_at=now))
        return Begun(url, state)

    def complete(self, state: str, browser_state: str | None, code: str, iss: str = "") -> Completed:
        """The identity for `code`. The sign-in begun under `state` is used up whatever happens next. `iss`: the
        issuer the callback names (RFC 9207), so a code from another provider is not sent to this one."""
        if not state or not browser_state or not secrets.compare_digest(state, browser_state):
            raise SsoExpired("the state does not match this browser's")
        with self.db.transaction() as s:
            row = s.execute(delete(_begun).where(_begun.c.state_hash == _digest(state))
                            .returning(_begun.c.nonce, _begun.c.code_verifier, _begun.c.next_url,
                                       _begun.c.created_at)).first()
        if row is None or self.clock.now() - row.created_at > BEGUN_FOR:
            raise SsoExpired("no sign-in begun under this state, or it was used or has expired")
        if not code:
            raise SsoRefused("the callback has no code")
        if (iss or self.client.discovery().names_issuer) and iss != self.client.issuer:
            raise SsoRefused("the callback names another issuer (or none, where the provider always names it)")
        identity = self.client.identity(self.client.exchange(code, row.code_verifier), row.nonce)
        return Completed(identity, row.next_url)


def _digest(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()
