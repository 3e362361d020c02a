"""`vigil intake-key`: reporting centres' keys are issued once, listed without secrets, and revoked."""

from __future__ import annotations

import re

import pytest

from services.cli import main
from services.intake.centres import Centres
from shared.clock import SystemClock
from shared.db import Database
from shared.migrate import upgrade


def test_a_key_is_shown_once_works_and_stops_working_when_revoked(
        postgres_admin_url: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from tests.support.infra import create_database

    url = create_database(postgres_admin_url, "intakecli")
    upgrade("intake", url)
    monkeypatch.setenv("INTAKE_DATABASE_URL", url)
    assert main(["intake-key", "create", "--centre", "tell-mama", "--name", "web 2026", "--trusted"]) == 0
    printed = capsys.readouterr().out
    api_key = re.search(r"API key: (\S+)", printed).group(1)  # type: ignore[union-attr]
    key_id = re.search(r"key id:\s+(\S+)", printed).group(1)  # type: ignore[union-attr]
    centres = Centres(Database(url), SystemClock())
    who = centres.authenticate(api_key)
    assert who is not None and (who.centre_id, who.trusted) == ("tell-mama", True)

    assert main(["intake-key", "list"]) == 0
    listed = capsys.readouterr().out
    assert key_id in listed and api_key.rsplit("_", 1)[1] not in listed

    assert main(["intake-key", "revoke", key_id]) == 0
    assert centres.authenticate(api_key) is None
    assert main(["intake-key", "revoke", key_id]) == 1
    assert main(["intake-key", "create", "--centre", "Not Valid!", "--name", "x"]) == 2
