"""The administrator's console over a real triage process, PostgreSQL and Kafka: the JSON API and
`vigil triage user ...` create, disable, enable, change and reset accounts; a disabled person's sessions end
at once and the session check other services make refuses them; every change reaches `vigil.staff.v1`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from services.triage.auth import Auth
from shared.clock import SystemClock
from shared.db import Database
from shared.migrate import upgrade
from shared.servicecalls import service_headers
from shared.settings import VigilSettings
from shared.staffaccess import INTROSPECT_PATH, SESSION_COOKIE, StaffAccess
from tests.integration.stack import running
from tests.support.kafka_reader import headers_of, read_topic

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a long enough password"
PROBLEM = "application/problem+json"
MET, DYFED = "E23000001", "W15000004"
CONTACTS = ["dora@example.org", "07700 900123"]


@dataclass
class Triage:
    url: str
    env: dict[str, str]
    settings: VigilSettings
    seeded: set[str]

    def client(self, username: str, password: str = PASSWORD) -> httpx.Client:
        client = httpx.Client(base_url=self.url, timeout=10)
        answer = client.post("/v1/session", json={"username": username, "password": password})
        assert answer.status_code == 200, answer.text
        client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
        return client

    def signs_in(self, username: str, password: str = PASSWORD) -> int:
        return httpx.post(f"{self.url}/v1/session", json={"username": username, "password": password}).status_code

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "services.cli", "triage", *args], cwd=ROOT, input=stdin,
                              capture_output=True, text=True, timeout=60, env={**os.environ, **self.env})

    def staff_events(self, expect: int) -> list[tuple[str, str, dict[str, Any], bytes]]:
        """(type, key, data, raw value) of the records on vigil.staff.v1 about accounts the test made."""
        records = read_topic(self.settings.kafka_bootstrap, f"{self.settings.topic_prefix}vigil.staff.v1",
                             expect + len(self.seeded))
        found = [(headers_of(r)["ce_type"].decode(), r.key.decode(), json.loads(r.value), r.value) for r in records]
        return [f for f in found if f[1] not in self.seeded]

    def logged(self) -> list[dict[str, Any]]:
        """The staff events triage appended about accounts the test made, in order."""
        engine = sa.create_engine(self.env["TRIAGE_DATABASE_URL"])
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT stream_id, type, key, data FROM event_log "
                                        "WHERE topic = 'vigil.staff.v1' ORDER BY seq")).mappings()
            found = [dict(r) | {"data": json.loads(r["data"])} for r in rows if r["key"] not in self.seeded]
        engine.dispose()
        return found


@pytest.fixture
def triage(vigil_settings: VigilSettings, new_database: Callable[[str], str], logdir: Path) -> Iterator[Triage]:
    url = new_database("triage")
    upgrade("triage", url)
    db = Database(url)
    auth = Auth(db, SystemClock())
    seeded = {auth.create_user("ada", "Ada Admin", PASSWORD, ["admin"]),
              auth.create_user("tom", "Tom Officer", PASSWORD, ["triage_officer"])}
    db.dispose()
    env = {"VIGIL_ENVIRONMENT": "test", "VIGIL_KAFKA_BOOTSTRAP": vigil_settings.kafka_bootstrap,
           "VIGIL_TOPIC_PREFIX": vigil_settings.topic_prefix,
           "VIGIL_TOPIC_PARTITIONS": str(vigil_settings.topic_partitions), "TRIAGE_DATABASE_URL": url}
    with running(env, logdir, ("triage",)) as services:
        yield Triage(services["triage"].url, env, vigil_settings, seeded)


def created(ada: httpx.Client, **body: Any) -> dict[str, Any]:
    answer = ada.post("/v1/users", json={"username": "dora", "display_name": "Dora Inspector",
                                         "roles": ["duty_inspector"]} | body)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def test_an_account_is_created_with_areas_and_contacts_and_a_temporary_password_shown_once(triage: Triage) -> None:
    ada = triage.client("ada")
    dora = created(ada, areas=[DYFED, MET.lower()], email=CONTACTS[0], phone=CONTACTS[1])
    assert dora["areas"] == [MET, DYFED] and dora["national"] is False and dora["enabled"] is True
    assert (dora["email"], dora["phone"]) == tuple(CONTACTS)
    temporary = dora["temporary_password"]
    assert len(temporary) == 19 and triage.signs_in("dora", temporary) == 200
    again = ada.get(f"/v1/users/{dora['user_id']}").json()
    assert "temporary_password" not in again and again["sign_ins"][0]["network"] == "127.0.0.0/24"
    assert [u["username"] for u in ada.get("/v1/users", params={"area": MET}).json()] == ["dora"]
    assert [u["username"] for u in ada.get("/v1/users", params={"area": "national"}).json()] == ["ada", "tom"]
    assert [u["username"] for u in ada.get("/v1/users", params={"role": "admin"}).json()] == ["ada"]

    [(kind, key, data, raw)] = triage.staff_events(1)
    assert (kind, key) == ("vigil.staff.account_created.v1", dora["user_id"])
    assert data["contact_channels"] == ["email", "phone"] and data["areas"] == [MET, DYFED]
    assert data["changed_by"] == ada.get("/v1/session").json()["user_id"]
    for secret in [*CONTACTS, temporary]:
        assert secret.encode() not in raw


def test_disabling_ends_the_sessions_at_once_and_the_session_check_refuses_them(triage: Triage) -> None:
    ada = triage.client("ada")
    dora_id = created(ada, password=PASSWORD)["user_id"]
    dora = triage.client("dora")
    token = dora.cookies[SESSION_COOKIE]
    access = StaffAccess(VigilSettings(environment="test", triage_internal_url=triage.url), "notify", ttl=0)
    assert access.caller(token, None) is not None

    answer = ada.post(f"/v1/users/{dora_id}/disable", json={"reason": "left the force"})
    assert answer.status_code == 200 and answer.json()["sessions_ended"] == 1 and answer.json()["enabled"] is False
    assert dora.get("/v1/session").status_code == 401
    service = service_headers(triage.settings, "notify")
    assert httpx.post(triage.url + INTROSPECT_PATH, json={"token": token}, headers=service).json() == {"active": False}
    assert access.caller(token, None) is None
    assert triage.signs_in("dora") == 401

    assert ada.post(f"/v1/users/{dora_id}/enable", json={"reason": "came back"}).json()["enabled"] is True
    assert triage.signs_in("dora") == 200
    disabled = [e for e in triage.logged() if e["type"] == "vigil.staff.account_disabled.v1"]
    assert [(e["key"], e["data"]["reason"], e["data"]["sessions_ended"]) for e in disabled] == \
        [(dora_id, "left the force", 1)]


def test_roles_areas_and_contact_details_change_with_a_reason_in_the_history(triage: Triage) -> None:
    ada = triage.client("ada")
    dora_id = created(ada, password=PASSWORD, email=CONTACTS[0])["user_id"]
    dora = triage.client("dora")

    promoted = {"roles": ["supervisor", "duty_inspector"], "reason": "promoted"}
    roles = ada.put(f"/v1/users/{dora_id}/roles", json=promoted)
    assert roles.status_code == 200 and roles.json()["roles"] == ["duty_inspector", "supervisor"]
    assert dora.get("/v1/session").json()["roles"] == ["duty_inspector", "supervisor"], "at once, same session"
    assert ada.put(f"/v1/users/{dora_id}/areas", json={"areas": [MET]}).json()["areas"] == [MET]
    contact = ada.put(f"/v1/users/{dora_id}/contact", json={"phone": CONTACTS[1]})
    assert (contact.json()["email"], contact.json()["phone"]) == (None, CONTACTS[1])

    history = ada.get(f"/v1/users/{dora_id}").json()["history"]
    assert [h["type"] for h in history] == ["vigil.staff.account_created.v1", "vigil.staff.roles_changed.v1",
                                            "vigil.staff.areas_changed.v1", "vigil.staff.contact_details_changed.v1"]
    assert history[1]["previous_roles"] == ["duty_inspector"] and history[1]["reason"] == "promoted"
    assert history[2]["previous_areas"] == [] and history[3]["changed"] == ["email", "phone"]
    assert history[3]["contact_channels"] == ["phone"]
    events = triage.staff_events(4)
    assert {key for _, key, _, _ in events} == {dora_id}
    assert all(c.encode() not in raw for *_, raw in events for c in CONTACTS)


def test_a_password_reset_signs_the_person_out_and_only_the_new_password_works(triage: Triage) -> None:
    ada = triage.client("ada")
    dora_id = created(ada, password=PASSWORD)["user_id"]
    dora = triage.client("dora")
    answer = ada.post(f"/v1/users/{dora_id}/password")
    temporary = answer.json()["temporary_password"]
    assert answer.headers["cache-control"] == "no-store"
    assert dora.get("/v1/session").status_code == 401
    assert triage.signs_in("dora") == 401 and triage.signs_in("dora", temporary) == 200
    chosen = ada.post(f"/v1/users/{dora_id}/password", json={"password": "another long password"})
    assert chosen.status_code == 200 and "temporary_password" not in chosen.json()
    assert triage.signs_in("dora", "another long password") == 200
    resets = [e["data"] for e in triage.logged() if e["type"] == "vigil.staff.password_reset.v1"]
    assert [r["temporary"] for r in resets] == [True, False]
    assert not any(p in json.dumps(resets) for p in (temporary, "another long password"))


@pytest.mark.parametrize(("method", "path", "body", "status", "field", "words"), [
    ("post", "/v1/users", {"username": "x1", "display_name": "X", "roles": ["chief"]}, 422, "roles",
     "unknown role chief"),
    ("post", "/v1/users", {"username": "x1", "display_name": "X", "roles": ["analyst"], "areas": ["E99"]}, 422,
     "areas", "unknown area code E99"),
    ("post", "/v1/users", {"username": "x1", "display_name": "X", "roles": ["analyst"], "email": "x@"}, 422,
     "email", "not an email address"),
    ("post", "/v1/users", {"username": "tom", "display_name": "X", "roles": ["analyst"]}, 422, "username",
     "already exists"),
    ("put", "/v1/users/nobody/roles", {"roles": ["analyst"]}, 404, None, "no such account"),
    ("post", "/v1/users/{ada}/password", {"password": "short"}, 422, "password", "at least 12"),
    ("post", "/v1/users/{ada}/disable", {}, 409, None, "your own account"),
    ("put", "/v1/users/{ada}/roles", {"roles": ["analyst"]}, 409, None, "only enabled administrator"),
])
def test_bad_input_is_refused_as_a_problem_naming_what_is_wrong(triage: Triage, method: str, path: str,
                                                              body: dict[str, Any], status: int, field: str | None,
                                                              words: str) -> None:
    ada = triage.client("ada")
    me = ada.get("/v1/session").json()["user_id"]
    answer = ada.request(method.upper(), path.format(ada=me), json=body)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM and words.lower() in answer.json()["detail"].lower()
    if field:
        assert answer.json()["errors"][0]["field"] == field
    assert triage.logged() == [], "nothing recorded"


def test_only_administrators_manage_accounts_and_a_change_needs_the_csrf_token(triage: Triage) -> None:
    tom = triage.client("tom")
    assert tom.get("/v1/users").status_code == 403
    assert tom.post("/v1/users", json={"username": "x1", "display_name": "X", "roles": ["admin"]}).status_code == 403
    ada = triage.client("ada")
    del ada.headers["X-CSRF-Token"]
    answer = ada.post("/v1/users", json={"username": "x1", "display_name": "X", "roles": ["analyst"]})
    assert answer.status_code == 403 and "CSRF" in answer.json()["detail"]


def test_the_command_line_manages_accounts_and_says_plainly_what_is_wrong(triage: Triage) -> None:
    made = triage.cli("user", "create", "dora", "--name", "Dora Inspector", "--role", "duty_inspector",
                      "--area", MET, "--email", CONTACTS[0], "--phone", CONTACTS[1], "--by", "root")
    assert made.returncode == 0, made.stderr
    temporary = made.stdout.split("shown once; give it to the person): ")[1].strip()
    assert triage.signs_in("dora", temporary) == 200
    typed = subprocess.run([sys.executable, "-m", "services.cli", "triage", "create-user", "--username", "sam",
                            "--name", "Sam Supervisor", "--role", "supervisor", "--area", DYFED, "--password-env",
                            "PW"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                           env={**os.environ, **triage.env, "PW": PASSWORD})
    assert typed.returncode == 0, typed.stderr
    assert triage.signs_in("sam") == 200

    listed = triage.cli("user", "list", "--area", MET)
    assert listed.returncode == 0 and listed.stdout.splitlines()[0].split("\t")[:5] == \
        ["dora", "Dora Inspector", "duty_inspector", MET, "enabled"]
    steps = [("user", "roles", "dora", "--role", "duty_inspector", "--role", "supervisor", "--reason", "promoted"),
             ("user", "areas", "dora", "--national"),
             ("user", "disable", "dora", "--reason", "left"),
             ("user", "enable", "dora")]
    for step in steps:
        done = triage.cli(*step, "--by", "root")
        assert done.returncode == 0, (step, done.stderr)
    reset = triage.cli("user", "reset-password", "dora", "--password-stdin", stdin="typed by the operator\n")
    assert reset.returncode == 0 and "temporary" not in reset.stdout
    assert triage.signs_in("dora", "typed by the operator") == 200

    for args, words in [(("user", "roles", "dora", "--role", "chief"), "unknown role chief"),
                        (("user", "areas", "dora", "--area", "E99"), "unknown area code E99"),
                        (("user", "disable", "nobody"), "no account with the username 'nobody'"),
                        (("user", "create", "x1", "--name", "X", "--role", "analyst", "--phone", "call me"),
                         "not a phone number")]:
        refused = triage.cli(*args)
        assert refused.returncode == 2 and words in refused.stderr, (args, refused.stderr)
    twice = triage.cli("user", "enable", "dora")
    assert twice.returncode == 1 and "already enabled" in twice.stderr

    logged = [(e["type"].split(".")[2], e["data"]["changed_by"]) for e in triage.logged()]
    assert [kind for kind, _ in logged] == ["account_created", "account_created", "roles_changed", "areas_changed",
                                            "account_disabled", "account_enabled", "password_reset"]
    assert logged[0][1] == logged[2][1] == "cli:root"
