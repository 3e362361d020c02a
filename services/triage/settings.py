from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class TriageSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRIAGE_", extra="ignore")

    database_url: str = "sqlite:///var/triage.db"
    host: str = "127.0.0.1"
    port: int = 8002
    ack_minutes_p1: int = Field(15, ge=1)
    ack_minutes_p2: int = Field(60, ge=1)
    cia_due_hours: int = Field(24, ge=1)
    ruleset_file: str = Field("", description="the ruleset to put in force at start-up; empty: the packaged default")
    timer_interval_seconds: float = Field(1.0, gt=0)
    session_idle_minutes: int = Field(30, ge=1)
    session_max_hours: int = Field(12, ge=1)
    secure_cookies: bool = Field(False, description="set the Secure flag on the session cookie (behind HTTPS)")
    queue_refresh_seconds: float = Field(2.0, gt=0)
