"""Assessment's settings (env prefix ASSESSMENT_)."""

from __future__ import annotations

import base64
from datetime import time
from pathlib import Path

import yaml
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.assessment.calendar import DEFAULT_ANNIVERSARIES, Anniversary
from services.assessment.scoring import HALF_LIFE_HOURS, MIN_HISTORY_DAYS, SEEDED_SEVERITY, THRESHOLDS, ScoringConfig
from shared.areas import AreaRegistry, default_registry

# Development only: refused in production (`sites_key_bytes`).
DEV_SITES_KEY = base64.b64encode(b"vigil-development-sites-key--32b").decode()


class AssessmentSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ASSESSMENT_", extra="ignore")

    database_url: str = "sqlite:///var/assessment.db"
    host: str = "127.0.0.1"
    port: int = 8004
    internal_port: int | None = Field(None, ge=1, le=65535, description=(
        "a second port for the internal routes (/internal/...), which the public port then refuses; unset: "
        "both on `port` (development, tests)"))
    reassess_interval_seconds: float = Field(60.0, gt=0, description="how often every area is re-assessed")
    half_life_hours: float = Field(HALF_LIFE_HOURS, gt=0, description="recency weighting of severity")
    thresholds: tuple[float, float, float, float] = Field(
        THRESHOLDS, description="score-to-normal ratios for moderate, substantial, severe, critical")
    min_history_days: int = Field(MIN_HISTORY_DAYS, ge=0, le=28, description=(
        "days of the normal's 28-day window that must be on record before levels are read against it"))
    seeded_severity: float = Field(SEEDED_SEVERITY, gt=0, description=(
        "the severity one report imported with `vigil assessment import-history` weighs in an area's normal"))
    anniversaries_file: Path | None = Field(
        None, description="YAML list of {name, month, day, weight, faiths}: replaces the default anniversaries")
    areas_extra_file: Path | None = Field(
        None, description="extra districts and postcode districts layered on the packaged areas")
    partner_feed: bool = Field(True, description="publish the redacted partner view on vigil.partner.v1")
    snapshot_every: int = Field(250_000, gt=0, description="rebuild: events between snapshots")
    sites_key: SecretStr = Field(SecretStr(DEV_SITES_KEY), description=(
        "base64 of 32 bytes: wraps each site's data key (its contacts, routines' notes); assessment's own key"))
    reminder_interval_seconds: float = Field(300.0, gt=0, description=(
        "how often sites' routines are looked at, to announce those falling due or overdue"))
    tasking_morning_at: time = Field(time(7, 0), description=(
        "when each morning (UK time, HH:MM) the day's tasking of each area is announced for its neighbourhood "
        "officers"))
    tasking_interval_seconds: float = Field(60.0, gt=0, description="how often the morning announcement is looked at")
    tasking_teams_file: Path | None = Field(
        None, description="neighbourhood teams (YAML: each team's area and postcode districts); where an area has "
                          "teams, its tasking list is also given per team and its morning message goes per team")
    guidance_file: Path | None = Field(
        None, description="the places-of-worship guidance (YAML); default: the newest packaged version")

    def sites_key_bytes(self, environment: str) -> bytes:
        secret = self.sites_key.get_secret_value()
        if environment == "production" and secret == DEV_SITES_KEY:
            raise ValueError("ASSESSMENT_SITES_KEY must be set to a real secret in production")
        key = base64.b64decode(secret)
        if len(key) != 32:
            raise ValueError("ASSESSMENT_SITES_KEY must be 32 bytes, base64-encoded")
        return key

    def scoring(self) -> ScoringConfig:
        return ScoringConfig(half_life_hours=self.half_life_hours, thresholds=self.thresholds,
                             anniversaries=self.anniversaries(), min_history_days=self.min_history_days,
                             seeded_severity=self.seeded_severity)

    def anniversaries(self) -> tuple[Anniversary, ...]:
        if self.anniversaries_file is None:
            return DEFAULT_ANNIVERSARIES
        rows = yaml.safe_load(self.anniversaries_file.read_text(encoding="utf-8")) or []
        return tuple(Anniversary(str(r["name"]), int(r["month"]), int(r["day"]), float(r.get("weight", 1.2)),
                                 tuple(str(f) for f in r.get("faiths") or ())) for r in rows)

    def registry(self) -> AreaRegistry:
        if self.areas_extra_file is None:
            return default_registry()
        return AreaRegistry.load(extra=self.areas_extra_file)
