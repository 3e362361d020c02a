from __future__ import annotations

import base64

import pytest
from pydantic import ValidationError

from shared.settings import VigilSettings


def test_production_refuses_the_development_secrets() -> None:
    with pytest.raises(ValidationError, match="VIGIL_MASTER_KEY must be set"):
        VigilSettings(environment="production")


def test_production_accepts_real_secrets() -> None:
    settings = VigilSettings(environment="production", master_key=base64.b64encode(b"k" * 32).decode(),
                             fingerprint_key="real-fingerprint-key", service_token="real-token")
    assert settings.master_key_bytes() == b"k" * 32


def test_a_master_key_of_the_wrong_length_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        VigilSettings(master_key=base64.b64encode(b"short").decode()).master_key_bytes()
