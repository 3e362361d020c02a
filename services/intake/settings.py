from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class IntakeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore")

    database_url: str = "sqlite:///var/intake.db"
    host: str = "127.0.0.1"
    port: int = 8001
    public_base_url: str = "http://127.0.0.1:8001"
    max_body_bytes: int = 64 * 1024
