"""The register through the real app over SQLite: sites as events, sealed contacts, who sees which site,
reports linked by their place fingerprint or offered to staff."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from services.assessment import tables
from services.assessment.facts import Fact
from services.assessment.main import Assessment, build, create_app
from services.assessment.projection import MemoryState, ReportFacts, Snapshot, fold_all
from services.assessment.settings import AssessmentSettings
from services.assessment.store import DbStore, load_snapshot
from shared.areas import default_registry
from shared.clock import MovableClock
from shared.crypto import Fingerprinter
from shared.db import Database
from shared.migrate import upgrade
from shared.settings import VigilSettings
from shared.staffaccess import SESSION_COOKIE, Caller, StaffAccess
from shared.topics import SITES

NOW = datetime(2027, 1, 13, 18, 0, tzinfo=UTC)   # a Wednesday evening
GMP, MET = "E23000005", "E23000001"
STAFF = {
    "sup": Caller("sup", frozenset({"supervisor"}), csrf_token="t-sup"),
    "nina": Caller("nina", frozenset({"neighbourhood_officer"}), csrf_token="t-nina", areas=frozenset({GMP})),
    "ana": Caller("ana", frozenset({"analyst"}), csrf_token="t-ana", areas=frozenset({MET})),
    "lee": Caller("lee", frozenset({"site_lead"}), csrf_token="t-lee"),
    "adam": Caller("adam", frozenset({"admin"}), csrf_token="t-adam"),
    "tom": Caller("tom", frozenset({"triage_officer"}), csrf_token="t-tom"),
}


class FakeTriage(StaffAccess):
    """Triage's answers about sessions, without triage: a token is the username of the one signed in."""

    def _introspect(self, token: str) -> Caller | None:
        return STAFF.get(token)


def vigil() -> VigilSettings:
    return VigilSettings(environment="test", kafka_bootstrap="127.0.0.1:1", topic_prefix="unused.")


def mosque(**changes: Any) -> dict[str, Any]:
    return {"name": "Central Mosque", "faith": "muslim", "area": GMP, "postcode_district": "M13",
            "capacity_band": "800+", "measures": ["cctv", "lighting"], "children_on_site": True,
            "services": [{"name": "Friday prayers", "day": "friday", "time": "13:15", "main": True},
                         {"name": "Taraweeh", "day": "daily", "time": "19:30", "main": True, "season": "Ramadan"}],
            "contacts": [{"name": "Aisha Khan", "role": "security lead", "email": "aisha@example.org",
                          "phone": "07700 900123"}]} | changes


def synagogue(**changes: Any) -> dict[str, Any]:
    return {"name": "Heaton Park Synagogue", "faith": "jewish", "area": GMP, "postcode_district": "M25",
            "capacity_band": "200-799", "measures": ["cctv", "gates", "stewards", "trained_staff"],
            "services": [{"name": "Shabbat morning", "day": "saturday", "time": "09:30", "main": True}]} | changes


def place_report(n: int, area: str, at: datetime, place_fp: str | None, religion: str | None = "muslim",
                 types: tuple[str, ...] = ("criminal_damage",)) -> ReportFacts:
    return ReportFacts(report_id=f"r{n}", reference=f"V{n:05d}", area=area, district=None, occurred_at=at,
                       submitted_at=at, updated_at=at, sequence=1, types=types, strands=("religion",),
                       religion=religion, place_type="place_of_worship", place_fp=place_fp, injuries="none",
                       weapon=False, ongoing=False, vulnerable=False, repeat=False, grading="2AP", channel="web",
                       role="witness")


def fingerprint(area: str, name: str) -> str:
    found = Fingerprinter(vigil().fingerprint_key.get_secret_value()).place(area, name)
    assert found is not None
    return found


def new_core(tmp_path: Path) -> Assessment:
    url = f"sqlite:///{tmp_path / 'assessment.db'}"
    upgrade("assessment", url)
    return build(vigil(), AssessmentSettings(database_url=url), clock=MovableClock(NOW))


def new_app(core: Assessment) -> FastAPI:
    application = create_app(core, with_worker=False)
    application.state.staff_access = FakeTriage(vigil(), "assessment")
    return application


@pytest.fixture
def core(tmp_path: Path) -> Iterator[Assessment]:
    service = new_core(tmp_path)
    yield service
    service.db.dispose()


@pytest.fixture
def app(core: Assessment) -> FastAPI:
    return new_app(core)


def as_staff(app: FastAPI, who: str) -> TestClient:
    c = TestClient(app, follow_redirects=False, headers={"X-CSRF-Token": STAFF[who].csrf_token})
    c.cookies.set(SESSION_COOKIE, who)
    return c


def register(app: FastAPI, body: dict[str, Any], who: str = "sup") -> str:
    answer = as_staff(app, who).post("/v1/sites", json=body)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["site_id"])


def seed_reports(db: Database, *reports: ReportFacts) -> None:
    with db.transaction() as s:
        for r in reports:
            DbStore(s).put_report(r)


def stored_events(db: Database) -> list[dict[str, Any]]:
    with db.sessions() as s:
        return [dict(r) for r in s.execute(select(tables.metadata.tables["event_log"])
                                           .order_by(tables.metadata.tables["event_log"].c.seq)).mappings()]


def test_a_registered_site_is_an_event_on_the_sites_topic_with_its_contacts_sealed(app: FastAPI,
                                                                                  core: Assessment) -> None:
    answer = as_staff(app, "sup").post("/v1/sites", json=mosque())
    assert answer.status_code == 201
    site = answer.json()
    assert answer.headers["Location"] == f"/v1/sites/{site['site_id']}"
    assert (site["name"], site["capacity_band"], site["measures"], site["version"]) == (
        "Central Mosque", "800+", ["cctv", "lighting"], 1)
    assert site["has_contacts"] is True and "contacts" not in site
    [event] = stored_events(core.db)
    assert (event["type"], event["topic"], event["key"], event["stream_id"]) == (
        "vigil.site.registered.v1", SITES, site["site_id"], f"site-{site['site_id']}")
    assert "Aisha" not in event["data"] and "example.org" not in event["data"] and "07700" not in event["data"]
    data = json.loads(event["data"])
    assert data["place_fingerprint"] == fingerprint(GMP, "central mosque")
    assert data["contacts"]["alg"] == "AES-256-GCM"
    contacts = as_staff(app, "nina").get(f"/v1/sites/{site['site_id']}/contacts").json()["contacts"]
    assert contacts == [{"name": "Aisha Khan", "role": "security lead", "email": "aisha@example.org",
                         "phone": "07700 900123"}]


def test_the_register_lists_by_area_and_a_change_is_a_new_version(app: FastAPI) -> None:
    first = register(app, mosque())
    register(app, synagogue())
    register(app, mosque(name="East London Mosque", area=MET, postcode_district="E1"))
    sup = as_staff(app, "sup")
    assert [s["name"] for s in sup.get("/v1/sites").json()["sites"]] == [
        "East London Mosque", "Central Mosque", "Heaton Park Synagogue"]
    assert [s["name"] for s in sup.get("/v1/sites", params={"area": GMP}).json()["sites"]] == [
        "Central Mosque", "Heaton Park Synagogue"]
    changed = sup.put(f"/v1/sites/{first}", json=mosque(measures=["cctv", "lighting", "stewards"], contacts=None))
    assert changed.status_code == 200 and changed.json()["version"] == 2
    assert changed.json()["measures"] == ["cctv", "lighting", "stewards"]
    assert sup.get(f"/v1/sites/{first}/contacts").json()["contacts"][0]["name"] == "Aisha Khan", "contacts kept"


def test_bad_entries_are_refused_naming_each_field(app: FastAPI) -> None:
    sup = as_staff(app, "sup")
    bad = sup.post("/v1/sites", json=mosque(capacity_band="lots", measures=["moat"]))
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} >= {"capacity_band", "measures.0"}
    wrong = sup.post("/v1/sites", json=mosque(area=MET))
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "postcode_district"
    register(app, mosque())
    twice = sup.post("/v1/sites", json=mosque(name="CENTRAL mosque!"))
    assert twice.status_code == 422 and "already in the register" in twice.json()["errors"][0]["message"]


def test_staff_see_the_sites_of_their_areas_and_another_areas_site_is_not_found(app: FastAPI) -> None:
    gmp = register(app, mosque())
    met = register(app, mosque(name="East London Mosque", area=MET, postcode_district="E1"))
    nina, ana = as_staff(app, "nina"), as_staff(app, "ana")
    assert [s["site_id"] for s in nina.get("/v1/sites").json()["sites"]] == [gmp]
    assert nina.get(f"/v1/sites/{met}").status_code == 404
    assert ana.get(f"/v1/sites/{gmp}").status_code == 404
    assert ana.get(f"/v1/sites/{met}").status_code == 200
    assert nina.post("/v1/sites", json=mosque(name="Another", area=MET, postcode_district="E1")).status_code == 403
    assert ana.get(f"/v1/sites/{met}/contacts").status_code == 403, "analysts see sites, not their contacts"
    assert as_staff(app, "tom").get("/v1/sites").status_code == 403
    assert TestClient(app).get("/v1/sites").status_code == 401


def test_a_site_lead_sees_only_its_own_sites_and_is_refused_another_as_not_found(app: FastAPI) -> None:
    own, other = register(app, mosque()), register(app, synagogue())
    lee = as_staff(app, "lee")
    assert lee.get("/v1/sites").json()["sites"] == []
    assert as_staff(app, "sup").put("/v1/site-leads/lee", json={"site_ids": [own]}).status_code == 403
    tied = as_staff(app, "adam").put("/v1/site-leads/lee", json={"site_ids": [own]})
    assert tied.status_code == 200 and tied.json() == {"username": "lee", "site_ids": [own]}
    assert as_staff(app, "adam").put("/v1/site-leads/lee", json={"site_ids": ["nope"]}).status_code == 422
    assert [s["site_id"] for s in lee.get("/v1/sites").json()["sites"]] == [own]
    assert lee.get(f"/v1/sites/{own}").status_code == 200
    refused = lee.get(f"/v1/sites/{other}")
    assert refused.status_code == 404 and "there is no site" in refused.json()["detail"]
    assert lee.put(f"/v1/sites/{own}", json=mosque(measures=["cctv", "guarding"])).status_code == 200
    assert lee.put(f"/v1/sites/{other}", json=synagogue()).status_code == 404
    assert lee.post("/v1/sites", json=mosque(name="New")).status_code == 403
    assert lee.get(f"/v1/sites/{own}").json()["link_candidates"] == [], "offers are for police staff to decide"


def test_reports_at_the_site_are_linked_by_their_place_fingerprint_and_others_are_offered(app: FastAPI,
                                                                                        core: Assessment) -> None:
    site = register(app, mosque())
    register(app, synagogue())
    at = NOW - timedelta(days=3)
    seed_reports(core.db,
                 place_report(1, GMP, at, fingerprint(GMP, "Central  Mosque!")),         # the site, as typed
                 place_report(2, GMP, at, fingerprint(GMP, "Heaton Park Synagogue"), "jewish"),
                 place_report(3, GMP, at - timedelta(days=1), fingerprint(GMP, "the mosque on Dickenson Rd")),
                 place_report(4, GMP, at, None, None),                                    # no place name given
                 place_report(5, MET, at, fingerprint(MET, "Central Mosque")),            # same name, other force
                 place_report(6, GMP, at, fingerprint(GMP, "a church"), "christian"),
                 place_report(7, GMP, NOW - timedelta(days=200), fingerprint(GMP, "old mosque")))
    sup = as_staff(app, "sup")
    page = sup.get(f"/v1/sites/{site}").json()
    assert [(i["reference"], i["linked_by"]) for i in page["incidents"]] == [("V00001", "place")]
    assert [c["reference"] for c in page["link_candidates"]] == ["V00004", "V00003"]
    assert "description" not in json.dumps(page) and "place_name" not in json.dumps(page)

    assert sup.post(f"/v1/sites/{site}/links", json={"report_id": "r3", "decision": "link"}).status_code == 200
    assert sup.post(f"/v1/sites/{site}/links", json={"report_id": "r4", "decision": "dismiss"}).status_code == 200
    again = sup.post(f"/v1/sites/{site}/links", json={"report_id": "r3", "decision": "link"})
    assert again.status_code == 409
    assert sup.post(f"/v1/sites/{site}/links", json={"report_id": "r99", "decision": "link"}).status_code == 404
    page = sup.get(f"/v1/sites/{site}").json()
    assert [(i["reference"], i["linked_by"]) for i in page["incidents"]] == [("V00003", "staff"), ("V00001", "place")]
    assert page["link_candidates"] == [] and page["version"] == 3


def test_a_sites_page_gives_its_risk_matrix_with_reasons_and_the_risk_rises_with_a_linked_incident(
        app: FastAPI, core: Assessment) -> None:
    site = register(app, mosque())
    sup = as_staff(app, "sup")
    quiet = sup.get(f"/v1/sites/{site}").json()["risk"]
    assert quiet == {"likelihood": 1, "impact": 5, "level": "moderate", "score": 5, "reasons": [
        "likelihood 1 x impact 5 = 5: moderate", "likelihood 1 of 5: nothing raises it",
        "impact 5 of 5: capacity 800+: 3; children on site: +1; lacks 4 of the 6 core protections (intruder alarm, "
        "access control, door hardening, stewards, trained staff or guarding): +1"]}
    seed_reports(core.db, place_report(1, GMP, NOW - timedelta(days=10), fingerprint(GMP, "Central Mosque"),
                                       types=("arson",)))
    risk = sup.get(f"/v1/sites/{site}").json()["risk"]
    assert (risk["likelihood"], risk["level"]) == (3, "severe")
    assert risk["reasons"][1].startswith("likelihood 3 of 5: 1 incident at the site in the last two years")
    listed = sup.get("/v1/sites").json()["sites"]
    assert [(s["site_id"], s["risk"]["level"]) for s in listed] == [(site, "severe")]


def test_the_register_replayed_from_its_events_is_the_register_the_database_holds(app: FastAPI,
                                                                                 core: Assessment) -> None:
    site = register(app, mosque())
    other = register(app, synagogue())
    seed_reports(core.db, place_report(3, GMP, NOW - timedelta(days=2), "fp-elsewhere"))
    sup = as_staff(app, "sup")
    sup.put(f"/v1/sites/{site}", json=mosque(measures=["cctv"], contacts=[]))
    sup.post(f"/v1/sites/{other}/links", json={"report_id": "r3", "decision": "dismiss"})
    facts = [Fact(e["type"], e["key"], e["version"], e["time"].replace(tzinfo=UTC), json.loads(e["data"]))
             for e in stored_events(core.db)]
    replayed = Snapshot.of(fold_all(facts, default_registry()))
    redelivered = Snapshot.of(fold_all(facts + facts[::-1], default_registry(), MemoryState()))
    with core.db.snapshot() as s:
        held = load_snapshot(s)
    for snap in (replayed, redelivered):
        assert (snap.sites, snap.outcomes, snap.links) == (held.sites, held.outcomes, held.links)
    by_id = {x.site_id: x for x in held.sites}
    assert (by_id[site].sequence, by_id[site].contacts, by_id[other].sequence) == (2, None, 2)
