"""Settings shared by every service (env prefix VIGIL_); each service adds its own class.

The shared secrets are not everyone's: `SECRET_HOLDERS` says which service may hold each, and outside
development and test a service refuses to start when handed another's, or without a real one of its own
(`check_secrets`, called by every service's composition root; docs/security.md).
"""

from __future__ import annotations

import base64
import functools
import ipaddress
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Development-only secrets: usable on a laptop, refused anywhere else.
DEV_MASTER_KEY = base64.b64encode(b"vigil-development-master-key-32b").decode()
DEV_FINGERPRINT_KEY = "vigil-development-fingerprint-key"
DEV_SERVICE_TOKEN = "vigil-development-service-token"  # noqa: S105  (refused outside development)
DEV_SECRETS = {DEV_MASTER_KEY, DEV_FINGERPRINT_KEY, DEV_SERVICE_TOKEN}
PLAIN_HTTP_ENVIRONMENTS = ("development", "test")

# Which services may hold each shared secret. The master key unwraps every report's data key: intake alone
# keeps the key store; the others ask intake's internal API. Places are compared as fingerprints by intake,
# which makes them, and assessment, which matches its sites against them.
SECRET_HOLDERS: dict[str, frozenset[str]] = {
    "master_key": frozenset({"intake"}),
    "fingerprint_key": frozenset({"intake", "assessment"}),
    "service_token": frozenset({"intake", "triage", "notify", "assessment"}),
}

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class VigilSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VIGIL_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    kafka_bootstrap: str = "127.0.0.1:9092"
    topic_prefix: str = Field("", description="prepended to every topic and group name (test isolation)")
    topic_partitions: int = Field(6, ge=1)
    master_key: SecretStr = SecretStr(DEV_MASTER_KEY)
    fingerprint_key: SecretStr = SecretStr(DEV_FINGERPRINT_KEY)
    service_token: SecretStr = SecretStr(DEV_SERVICE_TOKEN)
    intake_internal_url: str = "http://127.0.0.1:8001"
    triage_internal_url: str = "http://127.0.0.1:8002"  # where notify and assessment check staff sign-ins
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

    def check_secrets(self, service: str) -> None:
        """Outside development and test: `service` holds a real secret of each kind it needs and none other."""
        if self.environment in PLAIN_HTTP_ENVIRONMENTS:
            return
        for name, holders in SECRET_HOLDERS.items():
            variable = f"VIGIL_{name.upper()}"
            if service not in holders and name in self.model_fields_set:
                raise ValueError(f"{variable} is not {service}'s to hold (only {', '.join(sorted(holders))}): "
                                 "remove it from this service's environment")
            if service in holders and getattr(self, name).get_secret_value() in DEV_SECRETS:
                raise ValueError(f"{variable} must be set to a real secret in production")

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
    return [f"VIGIL_{name.upper()}" for name, holders in SECRET_HOLDERS.items() if service not in holders]


@functools.lru_cache(maxsize=16)
def parse_networks(value: str) -> tuple[Network, ...]:
    """Addresses or CIDR networks, comma-separated; a bare address is a network of one. "*" is refused:
    trusting every peer is what this setting exists to prevent."""
    try:
        return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip())
    except ValueError as e:
        raise ValueError(f"VIGIL_TRUSTED_PROXIES: {e} (give addresses or CIDR networks, comma-separated)") from None
