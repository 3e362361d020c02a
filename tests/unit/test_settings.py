from __future__ import annotations

import base64
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.settings import VigilSettings


def test_production_refuses_the_development_secrets() -> None:
    """Refused where the service is known: at intake, the master key's one holder (test_security_settings.py)."""
    with pytest.raises(ValueError, match="VIGIL_MASTER_KEY must be set"):
        VigilSettings(environment="production").check_secrets("intake")
    with pytest.raises(ValidationError, match="VIGIL_MASTER_KEY must be set"):
        VigilSettings(environment="production", master_key=VigilSettings().master_key.get_secret_value())


def test_production_accepts_real_secrets() -> None:
    settings = VigilSettings(environment="production", master_key=base64.b64encode(b"k" * 32).decode(),
                             fingerprint_key="real-fingerprint-key", intake_service_token="real-token")
    assert settings.master_key_bytes() == b"k" * 32


def test_a_master_key_of_the_wrong_length_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        VigilSettings(master_key=base64.b64encode(b"short").decode()).master_key_bytes()


def test_intakes_relay_gathers_over_its_own_interval_and_the_others_over_vigils(tmp_path: Path) -> None:
    from services.intake.main import build
    from services.intake.settings import IntakeSettings
    from services.triage.main import build as build_triage
    from services.triage.settings import TriageSettings

    vigil = VigilSettings(outbox_gather_ms=20)
    intake = build(vigil, IntakeSettings(database_url=f"sqlite:///{tmp_path}/i.db"))
    assert intake.relay.gather == 0.05, "intake's default: the surge path reads at most every 50 ms when busy"
    assert build(vigil, IntakeSettings(database_url=f"sqlite:///{tmp_path}/j.db", outbox_gather_ms=0)).relay.gather == 0
    triage = build_triage(vigil, TriageSettings(database_url=f"sqlite:///{tmp_path}/t.db"))
    assert triage.relay.gather == 0.02
