from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class TriageSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRIAGE_", extra="ignore")

    database_url: str = "sqlite:///var/triage.db"
    host: str = "127.0.0.1"
    port: int = 8002
    ack_minutes_p1: int = 15
    ack_minutes_p2: int = 60
