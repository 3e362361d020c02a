from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class NotifySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFY_", extra="ignore")

    database_url: str = "sqlite:///var/notify.db"
    host: str = "127.0.0.1"
    port: int = 8003
    internal_port: int | None = Field(None, ge=1, le=65535, description=(
        "a second port for the internal routes (/internal/...), which the public port then refuses; unset: "
        "both on `port` (development, tests)"))
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
    area_cia_chase_every_hours: float = Field(24, gt=0, description="an area assessment's action still open "
                                              "after it fell due is chased on its owner again this often")

    # Answering from the message itself (docs/notify.md): signed links in alert emails, codes in SMS replies.
    links_url: str | None = Field(None, description="notify's address as a recipient's browser reaches it, for the "
                                                    "links in alerts; VIGIL_STAFF_NOTIFY_URL when unset")
    link_secret: SecretStr = Field(SecretStr("vigil-development-link-secret"),  # refused in production
                                   description="signs the links in alerts (HMAC-SHA256); notify's alone")
    acknowledge_link_hours: float = Field(2, gt=0, le=48)
    escalate_link_hours: float = Field(2, gt=0, le=48)
    reply_code_hours: float = Field(2, gt=0, le=48, description="an SMS reply code works this long after the "
                                                                "latest alert that quoted it")
    sms_inbound_secret: SecretStr | None = Field(None, description="shared with the SMS gateway: it signs what it "
                                                                   "posts to /v1/sms/inbound; unset, every reply "
                                                                   "is refused")
    sms_inbound_tolerance_seconds: float = Field(300, gt=0, le=3600)
    site_link_hours: float = Field(72, gt=0, le=24 * 14, description="a routine reminder's link to record the "
                                                                   "routine works this long after it was sent")
    tasking_link_hours: float = Field(24, gt=0, le=24 * 7, description="a morning tasking message's links to record "
                                                                      "a visit work this long after it was sent")
