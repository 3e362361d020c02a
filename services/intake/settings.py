from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class IntakeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore")

    database_url: str = "sqlite:///var/intake.db"
    host: str = "127.0.0.1"
    port: int = 8001
    internal_port: int | None = Field(None, ge=1, le=65535, description=(
        "a second port for the internal routes (/internal/...), which the public port then refuses; unset: "
        "both on `port` (development, tests)"))
    public_base_url: str = "http://127.0.0.1:8001"
    max_body_bytes: int = Field(64 * 1024, description="request bodies above this get 413")
    max_batch_body_bytes: int = Field(4 * 1024 * 1024, description="the limit for POST /v1/reports:batch")
    # Per client address, per process: a token bucket. A family reporting together from one
    # home connection (several reports, some corrections) stays well inside the burst.
    rate_limit_enabled: bool = True
    rate_limit_per_minute: float = Field(60.0, gt=0)
    rate_limit_burst: int = Field(60, ge=1)
    rate_limit_centre_per_minute: float = Field(600.0, gt=0)
    rate_limit_centre_burst: int = Field(200, ge=1)
    trust_forwarded_for: bool = Field(False, description="retired: `vigil` refuses to start with it true; "
                                                         "VIGIL_TRUSTED_PROXIES names the proxies instead")
    outbox_gather_ms: float = Field(50.0, ge=0, le=1000, description=(
        "intake's relay carries a surge: under load it reads at most once per this many ms, instead of "
        "VIGIL_OUTBOX_GATHER_MS (ADR 0026); a quiet relay still reads at once"))
    languages: str = "en,ar,tr,ur"
    default_language: str = "en"
    support_services_url: str = "https://www.victimsupport.org.uk/"
    quick_exit_url: str = "https://www.bbc.co.uk/weather"
    # The retention schedule (docs/retention.md): personal data is erased this many days after the report
    # (a withdrawn one: after the withdrawal) unless a legal or safeguarding hold stands.
    retention_hate_crime_days: int = Field(2190, ge=1, description="a hate crime, or a report triage has not "
                                                                   "classified: six years")
    retention_nchi_days: int = Field(90, ge=1, description="a non-crime hate incident: personal data only "
                                                           "while needed, longer only under a safeguarding hold")
    retention_withdrawn_days: int = Field(30, ge=0, description="the grace period after the reporter withdraws")
    retention_enabled: bool = Field(True, description="run the retention job in the background process")
    retention_interval_seconds: float = Field(600.0, gt=0, description="how often the job looks for due reports")
