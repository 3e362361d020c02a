from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class AssessmentSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ASSESSMENT_", extra="ignore")

    database_url: str = "sqlite:///var/assessment.db"
    host: str = "127.0.0.1"
    port: int = 8004
