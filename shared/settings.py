"""Settings shared by every service (env prefix VIGIL_); each service adds its own class.

The shared secrets are not everyone's: `SECRET_HOLDERS` says which service may hold each, and outside
development and test a service refuses to start when handed another's, or without a real one of its own
(`check_secrets`, called by every service's composition root; docs/security.md).

Each service has its own credential for calling the others (`VIGIL_<SERVICE>_SERVICE_TOKEN`, held by that
service alone). The services it calls recognise it by its SHA-256 digest (`VIGIL_<SERVICE>_SERVICE_TOKEN_SHA256`,
not a secret), so no service holds a credential with which it could pass for another (`shared/servicecalls.py`).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import ipaddress
import re
import secrets
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Development-only secrets: usable on a laptop, refused anywhere else.
DEV_MASTER_KEY = base64.b64encode(b"vigil-development-master-key-32b").decode()
DEV_FINGERPRINT_KEY = "vigil-development-fingerprint-key"
SERVICES = ("intake", "triage", "notify", "assessment")  # the services that call one another
DEV_SERVICE_TOKENS = {service: f"vigil-development-{service}-service-token" for service in SERVICES}
DEV_SECRETS = {DEV_MASTER_KEY, DEV_FINGERPRINT_KEY, *DEV_SERVICE_TOKENS.values()}
PLAIN_HTTP_ENVIRONMENTS = ("development", "test")


def token_digest(token: str) -> str:
    """The SHA-256 digest (hex) by which the services a credential is presented to recognise it."""
    return hashlib.sha256(token.encode()).hexdigest()


DEV_TOKEN_DIGESTS = {service: token_digest(token) for service, token in DEV_SERVICE_TOKENS.items()}
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")

# Whose credential each service accepts on some internal route (each route names its own callers): outside
# development a service refuses to start without the real digest of each of these.
ACCEPTED_CALLERS: dict[str, frozenset[str]] = {
    "intake": frozenset({"triage", "notify"}),  # a report's personal data
    "triage": frozenset({"intake", "notify", "assessment"}),  # sign-in checks; staff contacts and answers: notify
    "notify": frozenset(),
    "assessment": frozenset({"notify"}),  # routines recorded from signed links
}

# Which services may hold each shared secret. The master key unwraps every report's data key: intake alone
# keeps the key store; the others ask intake's internal API. Places are compared as fingerprints by intake,
# which makes them, and assessment, which matches its sites against them.
SECRET_HOLDERS: dict[str, frozenset[str]] = {
    "master_key": frozenset({"intake"}),
    "fingerprint_key": frozenset({"intake", "assessment"}),
    **{f"{service}_service_token": frozenset({service}) for service in SERVICES},
}

# A service's own secrets, under its own prefix (no other service reads them): kept from the others' environments
# by launchers that share one environment among the services.
OWN_SECRETS: dict[str, tuple[str, ...]] = {"triage": ("TRIAGE_OIDC_CLIENT_SECRET",)}  # single sign-on, ADR 0060

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class VigilSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VIGIL_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    kafka_bootstrap: str = "127.0.0.1:9092"
    topic_prefix: str = Field("", description="prepended to every topic and group name (test isolation)")
    topic_partitions: int = Field(6, ge=1)
    master_key: SecretStr = SecretStr(DEV_MASTER_KEY)
    fingerprint_key: SecretStr = SecretStr(DEV_FINGERPRINT_KEY)
    intake_service_token: SecretStr = Field(SecretStr(DEV_SERVICE_TOKENS["intake"]),
                                            description="intake's own credential for calling the others")
    triage_service_token: SecretStr = Field(SecretStr(DEV_SERVICE_TOKENS["triage"]),
                                            description="triage's own credential for calling the others")
    notify_service_token: SecretStr = Field(SecretStr(DEV_SERVICE_TOKENS["notify"]),
                                            description="notify's own credential for calling the others")
    assessment_service_token: SecretStr = Field(SecretStr(DEV_SERVICE_TOKENS["assessment"]),
                                                description="assessment's own credential for calling the others")
    intake_service_token_sha256: str = Field(DEV_TOKEN_DIGESTS["intake"], description="SHA-256 (hex) of intake's")
    triage_service_token_sha256: str = Field(DEV_TOKEN_DIGESTS["triage"], description="SHA-256 (hex) of triage's")
    notify_service_token_sha256: str = Field(DEV_TOKEN_DIGESTS["notify"], description="SHA-256 (hex) of notify's")
    assessment_service_token_sha256: str = Field(DEV_TOKEN_DIGESTS["assessment"],
                                                 description="SHA-256 (hex) of assessment's")
    retired_service_token: SecretStr | None = Field(None, validation_alias=AliasChoices("VIGIL_SERVICE_TOKEN"),
                                                    description="the one credential all four shared: retired")
    intake_internal_url: str = "http://127.0.0.1:8001"
    triage_internal_url: str = "http://127.0.0.1:8002"  # where notify and assessment check staff sign-ins
    assessment_internal_url: str = "http://127.0.0.1:8004"  # where notify records a site routine from a link
    trusted_proxies: str = Field("", description=(
        "comma-separated addresses or networks (CIDR) of the reverse proxies in front of the services; only "
        "from these is X-Forwarded-For believed. Empty (the default): the peer's own address is the client's"))
    https: bool | None = Field(None, description=(
        "Secure on every cookie and Strict-Transport-Security on every answer; unset: on outside development "
        "and test"))
    data_dir: str = "var"
    log_level: str = "INFO"
    otel_exporter: Literal["none", "console", "otlp"] = "none"
    gc_gen0_threshold: int = Field(20_000, ge=0, description=(
        "allocations between young-generation collections once a service is built (0: CPython's default, 700); "
        "start-up's objects are frozen out of the collector's way (ADR 0027)"))
    outbox_gather_ms: float = Field(20.0, ge=0, le=1000, description=(
        "under load the outbox relay reads at most once per this many ms, so one read and one produce "
        "request carry many commits; a quiet relay still reads at once (ADR 0026)"))

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: str) -> str:
        parse_networks(value)
        return value

    @field_validator("intake_service_token_sha256", "triage_service_token_sha256", "notify_service_token_sha256",
                     "assessment_service_token_sha256")
    @classmethod
    def _hex_digest(cls, value: str) -> str:
        value = value.strip().lower()
        if not _HEX_DIGEST.fullmatch(value):
            raise ValueError("a service credential's digest is 64 hex digits: `vigil service-token` prints one")
        return value

    @model_validator(mode="after")
    def _no_development_secret_given_in_production(self) -> VigilSettings:
        if self.environment == "production":
            for name in SECRET_HOLDERS:
                if name in self.model_fields_set and getattr(self, name).get_secret_value() in DEV_SECRETS:
                    raise ValueError(f"VIGIL_{name.upper()} must be set to a real secret in production")
        return self

    @property
    def https_only(self) -> bool:
        """Whether browsers reach the services over HTTPS only (Secure cookies, HSTS)."""
        return self.https if self.https is not None else self.environment not in PLAIN_HTTP_ENVIRONMENTS

    def proxy_networks(self) -> tuple[Network, ...]:
        return parse_networks(self.trusted_proxies)

    def service_token(self, service: str) -> str:
        """`service`'s own credential: only that service is given a real one (`shared/servicecalls.py`)."""
        token: SecretStr = getattr(self, f"{service}_service_token")
        return token.get_secret_value()

    def service_token_digests(self) -> dict[str, str]:
        """The digest of each service's credential, as the services it calls recognise it. Outside development
        and test the development credentials' digests are left out: a development credential opens nothing."""
        digests = {service: str(getattr(self, f"{service}_service_token_sha256")) for service in SERVICES}
        if self.environment in PLAIN_HTTP_ENVIRONMENTS:
            return digests
        return {service: digest for service, digest in digests.items() if digest != DEV_TOKEN_DIGESTS[service]}

    def check_secrets(self, service: str) -> None:
        """Outside development and test: `service` holds a real secret of each kind it needs and none other,
        and knows the real digest of every service whose calls it accepts."""
        if self.environment in PLAIN_HTTP_ENVIRONMENTS:
            return
        if self.retired_service_token is not None:
            raise ValueError("VIGIL_SERVICE_TOKEN is retired: each service has its own credential, "
                             "VIGIL_<SERVICE>_SERVICE_TOKEN, and the others know its digest (docs/security.md)")
        for name, holders in SECRET_HOLDERS.items():
            variable = f"VIGIL_{name.upper()}"
            if service not in holders and name in self.model_fields_set:
                raise ValueError(f"{variable} is not {service}'s to hold (only {', '.join(sorted(holders))}): "
                                 "remove it from this service's environment")
            if service in holders and getattr(self, name).get_secret_value() in DEV_SECRETS:
                raise ValueError(f"{variable} must be set to a real secret in production")
        known = self.service_token_digests()
        missing = sorted(ACCEPTED_CALLERS.get(service, frozenset()) - known.keys())
        if missing:
            raise ValueError(f"VIGIL_{missing[0].upper()}_SERVICE_TOKEN_SHA256 must be the digest of {missing[0]}'s "
                             f"real credential: {service} accepts calls from {missing[0]}")

    def master_key_bytes(self) -> bytes:
        secret = self.master_key.get_secret_value()
        if self.environment == "production" and secret in DEV_SECRETS:
            raise ValueError("VIGIL_MASTER_KEY must be set to a real secret in production")
        key = base64.b64decode(secret)
        if len(key) != 32:
            raise ValueError("VIGIL_MASTER_KEY must be 32 bytes, base64-encoded")
        return key


def foreign_secrets(service: str) -> list[str]:
    """The environment variables of shared secrets `service` must not be handed (for launchers that share one
    environment among the services, such as `vigil up`)."""
    return ([f"VIGIL_{name.upper()}" for name, holders in SECRET_HOLDERS.items() if service not in holders]
            + [variable for owner, names in OWN_SECRETS.items() if owner != service for variable in names])


def new_service_token() -> tuple[str, str]:
    """A fresh credential for a service, and the digest the services it calls are given."""
    token = secrets.token_urlsafe(32)
    return token, token_digest(token)


@functools.lru_cache(maxsize=16)
def parse_networks(value: str) -> tuple[Network, ...]:
    """Addresses or CIDR networks, comma-separated; a bare address is a network of one. "*" is refused:
    trusting every peer is what this setting exists to prevent."""
    try:
        return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip())
    except ValueError as e:
        raise ValueError(f"VIGIL_TRUSTED_PROXIES: {e} (give addresses or CIDR networks, comma-separated)") from None
