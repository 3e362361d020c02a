"""Settings shared by every service (env prefix VIGIL_); each service adds its own class."""

from __future__ import annotations

import base64
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Development-only secrets: usable on a laptop, refused anywhere else.
DEV_MASTER_KEY = base64.b64encode(b"vigil-development-master-key-32b").decode()
DEV_FINGERPRINT_KEY = "vigil-development-fingerprint-key"
DEV_SERVICE_TOKEN = "vigil-development-service-token"  # noqa: S105  (refused outside development)
DEV_SECRETS = {DEV_MASTER_KEY, DEV_FINGERPRINT_KEY, DEV_SERVICE_TOKEN}


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
    data_dir: str = "var"
    log_level: str = "INFO"
    otel_exporter: Literal["none", "console", "otlp"] = "none"
    gc_gen0_threshold: int = Field(20_000, ge=0, description=(
        "allocations between young-generation collections once a service is built (0: CPython's default, 700); "
        "start-up's objects are frozen out of the collector's way (ADR 0027)"))
    outbox_gather_ms: float = Field(20.0, ge=0, le=1000, description=(
        "under load the outbox relay reads at most once per this many ms, so one read and one produce "
        "request carry many commits; a quiet relay still reads at once (ADR 0026)"))

    @model_validator(mode="after")
    def _no_default_secrets_outside_development(self) -> VigilSettings:
        if self.environment == "production":
            for name in ("master_key", "fingerprint_key", "service_token"):
                if getattr(self, name).get_secret_value() in DEV_SECRETS:
                    raise ValueError(f"VIGIL_{name.upper()} must be set to a real secret in production")
        return self

    def master_key_bytes(self) -> bytes:
        key = base64.b64decode(self.master_key.get_secret_value())
        if len(key) != 32:
            raise ValueError("VIGIL_MASTER_KEY must be 32 bytes, base64-encoded")
        return key
