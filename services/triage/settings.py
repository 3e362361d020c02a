from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class TriageSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRIAGE_", extra="ignore")

    database_url: str = "sqlite:///var/triage.db"
    host: str = "127.0.0.1"
    port: int = 8002
    internal_port: int | None = Field(None, ge=1, le=65535, description=(
        "a second port for the internal routes (/internal/...), which the public port then refuses; unset: "
        "both on `port` (development, tests)"))
    ack_minutes_p1: int = Field(15, ge=1)
    ack_minutes_p2: int = Field(60, ge=1)
    cia_due_hours: int = Field(24, ge=1)
    ruleset_file: str = Field("", description="the ruleset to put in force at start-up; empty: the packaged default")
    timer_interval_seconds: float = Field(1.0, gt=0)
    session_idle_minutes: int = Field(30, ge=1)
    session_max_hours: int = Field(12, ge=1)
    secure_cookies: bool = Field(False, description="set the Secure flag on the session cookie (behind HTTPS)")
    queue_refresh_seconds: float = Field(2.0, gt=0)
    seal_staff_text: bool = Field(True, description=(
        "seal what staff write about a report (reasons, CIA notes) with the report's key at intake (ADR 0055); "
        "false only in development and tests that run triage without intake"))
    default_centre: str = Field("default", min_length=1, max_length=64, description=(
        "the reporting centre whose caseworkers hold the public form's reports kept from the police; a centre's "
        "own reports belong to it (its intake centre id)"))
    oidc_issuer: str = Field("", description=(
        "single sign-on (ADR 0060): the OpenID Connect issuer of the force's identity provider, exactly as its "
        "discovery document names it (Entra ID: https://login.microsoftonline.com/<tenant id>/v2.0); empty: off"))
    oidc_client_id: str = Field("", description="Vigil's client id at the provider")
    oidc_client_secret: SecretStr = Field(SecretStr(""), description=(
        "Vigil's client secret at the provider (sent with client_secret_basic); triage's alone"))
    oidc_label: str = Field("Sign in with your organisation's account", min_length=1, max_length=80,
                            description="the single sign-on button's text on the sign-in page")
    oidc_passwords: bool = Field(True, description=(
        "with single sign-on on, whether staff may still sign in with a Vigil password; false: only single "
        "sign-on (the command line still makes accounts and resets passwords)"))

    @model_validator(mode="after")
    def _single_sign_on_complete(self) -> TriageSettings:
        if self.oidc_issuer:
            if not self.oidc_client_id or not self.oidc_client_secret.get_secret_value():
                raise ValueError("TRIAGE_OIDC_ISSUER needs TRIAGE_OIDC_CLIENT_ID and TRIAGE_OIDC_CLIENT_SECRET, as "
                                 "registered at the provider")
            if not self.oidc_issuer.startswith(("https://", "http://")):
                raise ValueError("TRIAGE_OIDC_ISSUER is a URL, such as https://login.microsoftonline.com/<tenant>/v2.0")
        elif not self.oidc_passwords:
            raise ValueError("TRIAGE_OIDC_PASSWORDS=false needs single sign-on (TRIAGE_OIDC_ISSUER): otherwise "
                             "nobody could sign in")
        return self
