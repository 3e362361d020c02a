from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WatchdogSettings(BaseSettings):
    """Thresholds and whom to page. How to reach the administrator (the SMTP server, the SMS gateway) is
    notify's channel configuration (NOTIFY_SMTP_*, NOTIFY_SMS_*), used directly, not through notify."""

    model_config = SettingsConfigDict(env_prefix="WATCHDOG_", extra="ignore")

    interval_seconds: float = Field(15.0, gt=0, description="time between two rounds of checks")
    grace_seconds: float = Field(60.0, ge=0, description="how long a check must stay wrong before it is paged")
    services: dict[str, str] = Field(default_factory=dict, description=(
        'JSON, service name to base URL ({"intake": "http://intake:8001", ...}); empty: the four services '
        "on this machine at their configured ports"))
    max_consumer_lag: int = Field(1000, ge=0, description="records a service's consumer groups may be behind")
    max_outbox_backlog: int = Field(1000, ge=0, description="events a service may have appended but not published")
    max_timer_lateness_seconds: float = Field(120.0, ge=0, description="how late a due timer may be")
    max_restarts: int = Field(3, ge=1, description="restarts within the window that mean a service keeps dying")
    restart_window_seconds: float = Field(900.0, gt=0)
    request_timeout_seconds: float = Field(5.0, gt=0)
    admin_email: str | None = Field(None, description="the on-call administrator's address; unset: pages are logged")
    admin_phone: str | None = Field(None, description="their mobile number, for SMS through notify's gateway")
