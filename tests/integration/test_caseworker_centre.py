"""A caseworker's reporting centre changed by an administrator, over a real broker and PostgreSQL: the change is an
event on `vigil.staff.v1` and in the account's history; the caseworker's held list and report pages follow it at
their next request, in the same session; taking the caseworker role away clears it; bad input, other roles and the
command line are refused or answered plainly.

Held reports are published straight onto `vigil.reports.v1`, as intake would (tests/integration/test_triage_privacy.py).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from shared.migrate import upgrade
from shared.settings import VigilSettings
from tests.integration.stack import running
from tests.integration.test_triage_admin import PROBLEM, Triage
from tests.integration.test_triage_flow import signed_in, staff
from tests.integration.test_triage_privacy import TRIAGED, centre_caseworker, decided, report, without_instance
from tests.support.kafka_reader import headers_of, read_topic

CENTRE_CHANGED = "vigil.staff.centre_changed.v1"


@pytest.fixture
def triage(vigil_settings: VigilSettings, new_database: Callable[[str], str], logdir: Path) -> Iterator[Triage]:
    url = new_database("triage")
    upgrade("triage", url)
    env = {"VIGIL_ENVIRONMENT": "test", "VIGIL_KAFKA_BOOTSTRAP": vigil_settings.kafka_bootstrap,
           "VIGIL_TOPIC_PREFIX": vigil_settings.topic_prefix,
           "VIGIL_TOPIC_PARTITIONS": str(vigil_settings.topic_partitions), "TRIAGE_DATABASE_URL": url}
    seeded = {staff(env, "ada", "admin"), staff(env, "tom", "triage_officer")}
    with running(env, logdir, ("triage",)) as services:
        yield Triage(services["triage"].url, env, vigil_settings, seeded)


def held_ids(client: httpx.Client) -> list[str]:
    answer = client.get("/v1/held")
    assert answer.status_code == 200, answer.text
    return [i["incident_id"] for i in answer.json()]


def test_the_caseworker_sees_the_new_centre_s_reports_at_their_next_request_and_the_change_is_recorded(
        triage: Triage) -> None:
    tina_id = centre_caseworker(triage.env, "tina", "tell-mama")
    tell = report(triage.settings, "VGL-TELL-0002", share_with_police=False, centre_id="tell-mama")
    galop = report(triage.settings, "VGL-GALP-0002", share_with_police=False, centre_id="galop")
    decided(triage.settings, TRIAGED, 2)
    ada, tina = signed_in(triage.url, "ada"), signed_in(triage.url, "tina")
    assert held_ids(tina) == [tell]
    assert tina.get(f"/v1/incidents/{tell}").status_code == 200
    unknown = without_instance(tina.get(f"/v1/incidents/{uuid.uuid4()}"))

    moved = ada.put(f"/v1/users/{tina_id}/centre", json={"centre": "Galop", "reason": "moved to Galop"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["centre"] == "galop" and moved.json()["user_id"] == tina_id

    # the same session, no new sign-in: the new centre's reports, and the old centre's as unknown as none at all
    assert held_ids(tina) == [galop]
    assert tina.get(f"/v1/incidents/{galop}").json()["held_for_centre"] is True
    assert without_instance(tina.get(f"/v1/incidents/{tell}")) == unknown
    assert tina.get(f"/incidents/{tell}").status_code == 404
    assert tina.get(f"/incidents/{galop}").status_code == 200
    held_page = tina.get("/held").text
    assert "VGL-GALP-0002" in held_page and "VGL-TELL-0002" not in held_page

    again = ada.put(f"/v1/users/{tina_id}/centre", json={"centre": "galop"})
    assert again.status_code == 200 and again.json()["centre"] == "galop"
    history = ada.get(f"/v1/users/{tina_id}").json()["history"]
    assert [h["type"] for h in history] == ["vigil.staff.account_created.v1", CENTRE_CHANGED], "the same: nothing"
    assert (history[1]["previous_centre"], history[1]["centre"], history[1]["reason"]) == \
        ("tell-mama", "galop", "moved to Galop")
    assert history[1]["changed_by"] == ada.get("/v1/session").json()["user_id"]

    # taking the caseworker role away clears the centre in the same change, recorded as a change of its own
    roles = ada.put(f"/v1/users/{tina_id}/roles", json={"roles": ["analyst"], "reason": "now an analyst"})
    assert roles.status_code == 200 and roles.json()["centre"] is None
    assert tina.get("/v1/held").status_code == 403
    refused = ada.put(f"/v1/users/{tina_id}/centre", json={"centre": "galop"})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "centre"
    assert "only a caseworker" in refused.json()["detail"].lower()
    history = ada.get(f"/v1/users/{tina_id}").json()["history"]
    assert [h["type"] for h in history][2:] == ["vigil.staff.roles_changed.v1", CENTRE_CHANGED]
    assert (history[3]["previous_centre"], history[3]["centre"], history[3]["reason"]) == \
        ("galop", None, "now an analyst")

    records = read_topic(triage.settings.kafka_bootstrap, f"{triage.settings.topic_prefix}vigil.staff.v1",
                         len(triage.seeded) + 4)
    on_topic = [(headers_of(r)["ce_type"].decode(), json.loads(r.value)) for r in records
                if r.key.decode() == tina_id]
    assert [(kind, data.get("previous_centre"), data.get("centre")) for kind, data in on_topic] == [
        ("vigil.staff.account_created.v1", None, "tell-mama"), (CENTRE_CHANGED, "tell-mama", "galop"),
        ("vigil.staff.roles_changed.v1", None, None), (CENTRE_CHANGED, "galop", None)]


def test_a_bad_centre_is_a_problem_naming_the_field_and_changes_nothing(triage: Triage) -> None:
    tina_id = centre_caseworker(triage.env, "tina", "tell-mama")
    ada = signed_in(triage.url, "ada")
    for centre in ("Tell Mama!", "x" * 65, "-tell"):
        answer = ada.put(f"/v1/users/{tina_id}/centre", json={"centre": centre})
        assert answer.status_code == 422 and answer.headers["content-type"] == PROBLEM, (centre, answer.text)
        assert answer.json()["errors"][0]["field"] == "centre"
    assert ada.get(f"/v1/users/{tina_id}").json()["centre"] == "tell-mama"
    assert [e["type"] for e in triage.logged()] == ["vigil.staff.account_created.v1"]


def test_only_administrators_change_a_centre_and_the_command_line_says_plainly_what_is_wrong(triage: Triage) -> None:
    tina_id = centre_caseworker(triage.env, "tina", "tell-mama")
    tom = signed_in(triage.url, "tom")
    assert tom.put(f"/v1/users/{tina_id}/centre", json={"centre": "galop"}).status_code == 403
    ada = signed_in(triage.url, "ada")
    unknown = ada.put("/v1/users/nobody/centre", json={"centre": "galop"})
    assert unknown.status_code == 404 and unknown.headers["content-type"] == PROBLEM
    del ada.headers["X-CSRF-Token"]
    assert ada.put(f"/v1/users/{tina_id}/centre", json={"centre": "galop"}).status_code == 403
    assert [e["type"] for e in triage.logged()] == ["vigil.staff.account_created.v1"]

    moved = triage.cli("user", "centre", "tina", "--centre", "galop", "--reason", "moved", "--by", "root")
    assert moved.returncode == 0 and moved.stdout.strip() == "tina now works for galop", moved.stderr
    same = triage.cli("user", "centre", "tina", "--centre", "galop")
    assert same.returncode == 0 and same.stdout.strip() == "tina already worked for galop"
    for args, words in [(("--centre", "Tell Mama!"), "lower-case letters"), (("--default", "--centre", "x"),
                                                                            "not both"), ((), "not both")]:
        refused = triage.cli("user", "centre", "tina", *args)
        assert refused.returncode == 2 and words in refused.stderr, (args, refused.stderr)
    nobody = triage.cli("user", "centre", "nobody", "--centre", "galop")
    assert nobody.returncode == 2 and "no account with the username 'nobody'" in nobody.stderr
    cleared = triage.cli("user", "centre", "tina", "--default")
    assert cleared.returncode == 0 and cleared.stdout.strip() == "tina now works for the default centre"
    changed = [e["data"] for e in triage.logged() if e["type"] == CENTRE_CHANGED]
    assert [(c["previous_centre"], c["centre"], c["changed_by"]) for c in changed] == [
        ("tell-mama", "galop", "cli:root"), ("galop", None, changed[1]["changed_by"])]
    assert changed[0]["reason"] == "moved" and changed[1]["changed_by"].startswith("cli:")
