"""Reporter receipts: intake runs as a real process and answers notify's personal-data requests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from services.notify import tables
from services.notify.main import Notify
from shared.clock import MovableClock
from shared.migrate import upgrade
from shared.settings import VigilSettings
from tests.factories import report_body
from tests.integration.stack import running
from tests.integration.test_notify_flow import nothing_pending, notify_settings, running_notify, staff_directory
from tests.support.smtp import Mailbox, smtp_server, wait_for_mail
from tests.support.waiting import eventually


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with smtp_server() as box:
        yield box


def test_only_reporters_who_consented_get_a_receipt_in_their_own_language(
        vigil_settings: VigilSettings, new_database: Callable[[str], str], logdir: Path, mailbox: Mailbox) -> None:
    intake_db = new_database("intake")
    upgrade("intake", intake_db)
    env = {"VIGIL_ENVIRONMENT": "test", "VIGIL_KAFKA_BOOTSTRAP": vigil_settings.kafka_bootstrap,
           "VIGIL_TOPIC_PREFIX": vigil_settings.topic_prefix,
           "VIGIL_TOPIC_PARTITIONS": str(vigil_settings.topic_partitions), "INTAKE_DATABASE_URL": intake_db}
    start = datetime.now(UTC)
    with running(env, logdir, ("intake",)) as svc:
        vigil = vigil_settings.model_copy(update={"intake_internal_url": svc["intake"].url})
        settings = notify_settings(new_database, mailbox)
        with running_notify(vigil, settings, MovableClock(start), staff_directory(rota_start=start)) as notify:
            silent = report_body(reporter__email="no.consent@example.org", consent__contact=False)
            arabic = report_body(reporter__email="amina.ar@example.org", reporter__preferred_language="ar")
            answers = [httpx.post(f"{svc['intake'].url}/v1/reports", json=b, timeout=10) for b in (silent, arabic)]
            assert [a.status_code for a in answers] == [202, 202]
            reference = answers[1].json()["reference"]

            [receipt] = wait_for_mail(mailbox, "amina.ar@example.org", timeout=60)
            assert receipt.message["Subject"] == f"تم استلام بلاغك {reference}"
            assert receipt.message["Content-Language"] == "ar"
            assert "999" in receipt.part("plain") and '<html lang="ar" dir="rtl">' in receipt.part("html")

            eventually(lambda: _reporters(notify) == 2, what="both reports to reach notify")
            eventually(lambda: nothing_pending(notify), what="the ledger to settle")
            assert mailbox.to("no.consent@example.org") == []
            with notify.db.sessions() as s:
                stored = " ".join(str(v) for row in s.execute(select(tables.deliveries)).all() for v in row)
            assert "amina.ar@example.org" not in stored, "notify kept the reporter's address"
            assert len(mailbox.all()) == 1


def _reporters(notify: Notify) -> int:
    with notify.db.sessions() as s:
        return len(s.execute(select(tables.reporters.c.report_id)).all())
