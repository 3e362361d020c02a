from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class NotifySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFY_", extra="ignore")

    database_url: str = "sqlite:///var/notify.db"
    host: str = "127.0.0.1"
    port: int = 8003
    duty_inspector_address: str = "duty.inspector@vigil.invalid"
    max_attempts: int = 5
