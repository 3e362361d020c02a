from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class NotifySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFY_", extra="ignore")

    database_url: str = "sqlite:///var/notify.db"
    host: str = "127.0.0.1"
    port: int = 8003
    directory_file: str | None = Field(None, description="YAML or JSON: people, teams, rotas, policies, partners; "
                                                         "the shipped development directory when unset")
    staff_ui_url: str = "http://127.0.0.1:8002"
    # Only the log until a deployment configures its SMTP server, SMS gateway or partners (docs/notify.md).
    channels: list[Literal["email", "sms", "webhook", "log"]] = ["log"]

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_sender: str = "Vigil <notify@vigil.invalid>"
    smtp_ca_file: str | None = None
    smtp_timeout: float = 10.0

    sms_gateway_url: str = "http://127.0.0.1:8025/messages"
    sms_gateway_token: SecretStr | None = None
    sms_sender: str = "Vigil"
    sms_max_parts: int = Field(3, ge=1, le=10)

    max_attempts: int = Field(5, ge=1)
    retry_base_seconds: float = Field(2.0, gt=0)
    retry_max_seconds: float = Field(300.0, gt=0)
    send_lease_seconds: float = Field(30.0, gt=0, description="how long an unanswered attempt waits before a retry")
    dispatch_workers: int = Field(4, ge=1, le=32)
    consumer_metadata_max_age_seconds: float = Field(5.0, gt=0)
    timer_poll_seconds: float = Field(0.5, gt=0)

    cia_due_hours: float = Field(4, gt=0)
    cia_remind_every_hours: float = Field(1, gt=0)
    cia_review_days: float = Field(7, gt=0)
