"""A flood from one address pages the Duty Inspector at most once; a real P1 sent in the middle is paged on its own
(#14). Intake, triage and notify as real processes on a real broker, PostgreSQL and SMTP server."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from shared.settings import VigilSettings
from tests.factories import report_body
from tests.integration.stack import running, stack_env
from tests.integration.test_triage_flow import signed_in, staff
from tests.support.kafka_reader import headers_of, read_topic
from tests.support.smtp import Mailbox, smtp_server
from tests.support.waiting import eventually

DUTY = {"di-north@vigil.invalid", "di-south@vigil.invalid"}  # the shipped development rota
FLOODER, SOMEONE = "203.0.113.7", "198.51.100.20"  # documentation addresses, as a proxy would pass them on


def junk(n: int) -> dict[str, Any]:
    return report_body(reporter={"role": "witness", "anonymous": True}, consent__contact=False,
                       incident__types=["verbal_abuse"], incident__description=f"junk junk junk {n % 3}",
                       incident__location={"area": "E23000001", "postcode": "E1 6AN", "place_type": "street"})


def real_p1() -> dict[str, Any]:
    return report_body(reporter={"role": "victim", "anonymous": True}, consent__contact=False,
                       incident__types=["physical_assault", "threat"], incident__ongoing=True,
                       incident__description="Two men are outside my door now shouting that they will kill us.",
                       incident__location={"area": "E23000001", "postcode": "E1 7AA", "place_type": "home"})


def post(client: httpx.Client, body: dict[str, Any], address: str) -> str:
    answer = client.post("/v1/reports", json=body, headers={"X-Forwarded-For": address})
    assert answer.status_code == 202, answer.text
    reference: str = answer.json()["reference"]
    return reference


def duty_alerts(box: Mailbox) -> list[str]:
    """The subject of every alert the Duty Inspector's rota received."""
    return [str(m.message["Subject"]) for m in box.all() if set(m.recipients) & DUTY]


def naming(subjects: list[str], references: set[str]) -> list[str]:
    return [s for s in subjects if any(r in s for r in references)]


def test_sixty_junk_reports_from_one_address_page_once_and_a_real_p1_in_the_middle_pages_alone(
        vigil_settings: VigilSettings, new_database: Callable[[str], str], logdir: Path) -> None:
    env = stack_env(vigil_settings, new_database)
    staff(env, "sue", "supervisor")
    with smtp_server() as box:
        env |= {"NOTIFY_SMTP_HOST": box.host, "NOTIFY_SMTP_PORT": str(box.port), "NOTIFY_CHANNELS": '["email"]',
                "VIGIL_TRUSTED_PROXIES": "127.0.0.1"}
        with running(env, logdir, ("intake", "triage", "notify")) as svc, httpx.Client(
                base_url=svc["intake"].url, timeout=10) as client:
            started = time.monotonic()
            with ThreadPoolExecutor(4) as pool:
                first = list(pool.map(lambda n: post(client, junk(n), FLOODER), range(30)))
                p1 = post(client, real_p1(), SOMEONE)
                rest = list(pool.map(lambda n: post(client, junk(n), FLOODER), range(30, 60)))
            sent_in = time.monotonic() - started
            flood = set(first + rest)

            p1_alert = eventually(lambda: naming(duty_alerts(box), {p1}), 90, "the P1's own alert")
            triaged = eventually(lambda: _triaged(vigil_settings, 61), 120, "all 61 reports triaged")
            eventually(lambda: naming(duty_alerts(box), flood), 60, "the flood's one alert")
            time.sleep(3)  # anything else notify was going to send has had its chance
            alerts = duty_alerts(box)
            sue = signed_in(svc["triage"].url, "sue")
            [group] = sue.get("/v1/groups").json()
            confirmed = sue.post(f"/v1/groups/{group['group_id']}/confirm",
                                 json={"reason": "one address, sixty junk reports in two seconds"})

    assert sent_in < 10, f"the flood took {sent_in:.1f} s to send"
    assert len(naming(alerts, flood)) == 1, alerts
    assert len(p1_alert) == 1 and p1_alert[0].startswith("[P1]")
    assert len(alerts) == 2, alerts
    [flood_mail] = [m for m in box.all() if any(r in str(m.message["Subject"]) for r in flood)]
    assert "Suspected flood:" in flood_mail.part("plain")
    [p1_mail] = [m for m in box.all() if p1 in str(m.message["Subject"])]
    assert "Suspected flood" not in p1_mail.part("plain")

    by_reference = {d["reference"]: d for d in triaged}
    assert by_reference[p1]["group_id"] is None and by_reference[p1]["priority"] == "P1"
    members = [by_reference[r] for r in flood]
    assert {m["group_id"] for m in members} == {group["group_id"]} and group["members"] == 60
    covered = [m for m in members if m["paged_with_group"]]
    assert len(covered) > 50 and all(m["needs_duty_inspector"] and m["ack_deadline"] is None for m in covered)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["state"] == "confirmed" and confirmed.json()["size"] == 60


def _triaged(settings: VigilSettings, count: int) -> list[dict[str, Any]] | None:
    """Each incident's latest decision (a member grouped after it was triaged has a later one)."""
    records = read_topic(settings.kafka_bootstrap, f"{settings.topic_prefix}vigil.incidents.v1", expect=count)
    latest: dict[str, dict[str, Any]] = {}
    for r in records:
        if headers_of(r)["ce_type"] == b"vigil.incident.triaged.v1":
            decision = json.loads(r.value)
            latest[decision["incident_id"]] = decision
    return list(latest.values()) if len(latest) >= count else None
