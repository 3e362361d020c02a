"""Assessment over a real broker and PostgreSQL: reports in, area risk and tension out; the rebuild's bytes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from kafka.consumer.fetcher import ConsumerRecord
from PIL import Image
from sqlalchemy import text

from services.assessment.main import Assessment, build
from services.assessment.partner import Pseudonymiser
from services.assessment.plain import level_word
from services.assessment.rebuild import Rebuild, live_digest, projection_bytes
from services.assessment.report import build_assessment, render_html
from services.assessment.settings import AssessmentSettings
from services.assessment.sites.access import scope_of
from services.assessment.sites.register import SiteIn
from services.assessment.store import load_snapshot
from services.triage.auth import Auth
from shared.clock import MovableClock, SystemClock
from shared.db import Database
from shared.events.base import Envelope, Event
from shared.events.incidents import IncidentClosed, IncidentRegraded, IncidentTriaged
from shared.events.reports import Grading, ReportAmended, ReportErased, ReportSubmitted, ReportWithdrawn
from shared.kafka import encode, make_producer
from shared.migrate import upgrade
from shared.settings import VigilSettings
from shared.staffaccess import SESSION_COOKIE, Caller
from shared.topics import AREAS, PARTNER, REPORTS, TopicNames, ensure_topics
from tests.integration.stack import running
from tests.support.kafka_reader import headers_of, read_topic
from tests.support.services import ServiceProcess
from tests.support.waiting import eventually

NOW = datetime.now(UTC).replace(microsecond=0)   # the service process runs on the system clock
GMP, MET = "E23000005", "E23000001"
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a long enough password"


def report(n: int, area: str, at: datetime, place: str = "street", types: tuple[str, ...] = ("verbal_abuse",),
           handling: str = "P") -> ReportSubmitted:
    return ReportSubmitted.model_validate({
        "report_id": f"r-{n:05d}", "reference": f"V{n:05d}", "submitted_at": at.isoformat(), "channel": "web",
        "reporter": {"role": "witness", "anonymous": True}, "consent": {"share_with_partners": True},
        "incident": {"occurred_at": (at - timedelta(minutes=20)).isoformat(), "types": list(types),
                     "targeted_characteristics": ["religion"], "religion_targeted": "muslim",
                     "location": {"area": area, "place_type": place}},
        "grading": {"source": "2", "intelligence": "A", "handling": handling},
        "fingerprints": {"place": f"place-{n % 4}"}})


def triage(n: int, area: str, at: datetime, critical: bool = True) -> IncidentTriaged:
    return IncidentTriaged.model_validate({
        "incident_id": f"i-{n:05d}", "report_id": f"r-{n:05d}", "reference": f"V{n:05d}", "area": area,
        "triaged_at": at.isoformat(), "matched": [{"code": "place_of_worship", "explanation": "attack on a mosque"}],
        "critical": critical, "needs_duty_inspector": critical, "priority": "P2", "ack_deadline": None,
        "ruleset_version": "2026.1"})


def regrade(n: int, area: str, at: datetime, code: str) -> IncidentRegraded:
    return IncidentRegraded(incident_id=f"i-{n:05d}", area=area, previous=None, reason="known to the force",
                            grading=Grading(source=code[0], intelligence=code[1], handling=code[2]),
                            regraded_by="sup", regraded_at=at)


class Feed:
    """Publishes events the way intake and triage do: CloudEvents binary mode, keyed by report id."""

    def __init__(self, settings: VigilSettings) -> None:
        self.names = TopicNames(settings.topic_prefix)
        self.producer = make_producer(settings.kafka_bootstrap, "test-feed")
        self.versions: dict[str, int] = {}

    def send(self, event: Event, key: str, at: datetime) -> None:
        version = self.versions[key] = self.versions.get(key, 0) + 1
        env = Envelope(id=str(uuid.uuid4()), type=event.TYPE, source="/vigil/test", subject=key, time=at,
                       sequence=version if event.TOPIC == REPORTS else 1, key=key, topic=event.TOPIC,
                       data=event.model_dump(mode="json"))
        self.producer.send(**encode(env, self.names(event.TOPIC)))

    def flush(self) -> None:
        self.producer.flush(timeout=30)

    def close(self) -> None:
        self.producer.close(timeout=10)


@pytest.fixture
def feed(vigil_settings: VigilSettings) -> Iterator[Feed]:
    ensure_topics(vigil_settings.kafka_bootstrap, TopicNames(vigil_settings.topic_prefix),
                  vigil_settings.topic_partitions)
    f = Feed(vigil_settings)
    yield f
    f.close()


def _service(vigil_settings: VigilSettings, url: str, clock: MovableClock) -> Assessment:
    upgrade("assessment", url)
    return build(vigil_settings, AssessmentSettings(database_url=url, reassess_interval_seconds=3600), clock)


def _processed(core: Assessment, expected: int) -> Callable[[], bool]:
    return lambda: sum(c.processed + c.dead_lettered for c in core.consumers) >= expected


def _baseline_and_surge(feed: Feed) -> None:
    """Four quiet weeks in Greater Manchester (a report every two days), then a surge at mosques in 10 hours."""
    n = 0
    for day in range(28, 0, -2):
        n += 1
        feed.send(report(n, GMP, NOW - timedelta(days=day, hours=3)), f"r-{n:05d}", NOW - timedelta(days=day))
    for i in range(18):
        n += 1
        at = NOW - timedelta(hours=10) + timedelta(minutes=30 * i)
        feed.send(report(n, GMP, at, "place_of_worship", ("criminal_damage", "threat"), "C" if i % 3 else "P"),
                  f"r-{n:05d}", at)
        if i % 4 == 0:
            feed.send(triage(n, GMP, at + timedelta(minutes=1)), f"r-{n:05d}", at + timedelta(minutes=1))
    feed.flush()


def _partner_view(settings: VigilSettings, expect: int) -> dict[bytes, dict[str, Any]] | None:
    """The latest partner item per pseudonymous id, once every triage decision's priority has reached it."""
    records = read_topic(settings.kafka_bootstrap, f"{settings.topic_prefix}{PARTNER}", expect=expect)
    for record in records:
        assert b"r-000" not in record.value + record.key and b'"V000' not in record.value, "identifier leaked"
    latest = {r.key: json.loads(r.value) for r in records}
    return latest if sum(1 for p in latest.values() if p["priority"] == "P2") == 5 else None


def _once_tension_raised(bootstrap: str, topic: str) -> list[ConsumerRecord] | None:
    records = read_topic(bootstrap, topic, expect=1)
    return records if any(headers_of(r)["ce_type"] == b"vigil.area.tension_raised.v1" for r in records) else None


def _pdf_pages_have_ink(pdf: Path, tmp: Path) -> int:
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp / "page")], check=True, timeout=60)
    pages = sorted(tmp.glob("page*.png"))
    for page in pages:
        with Image.open(page) as image:
            lo, hi = cast(tuple[int, int], image.convert("L").getextrema())
            assert lo < 128 < hi, f"{page.name} is blank"
    return len(pages)


def test_a_surge_of_reports_raises_area_risk_and_tension_on_the_areas_topic(
        vigil_settings: VigilSettings, new_database: Callable[[str], str], feed: Feed, tmp_path: Path,
        logdir: Path) -> None:
    _baseline_and_surge(feed)
    url = new_database("assessment")
    upgrade("assessment", url)
    triage_url = new_database("triage")
    upgrade("triage", triage_url)
    triage_db = Database(triage_url)
    Auth(triage_db, SystemClock()).create_user("ana", "Ana Analyst", PASSWORD, ["analyst"])  # national
    triage_db.dispose()
    env = {"VIGIL_ENVIRONMENT": "test", "VIGIL_KAFKA_BOOTSTRAP": vigil_settings.kafka_bootstrap,
           "VIGIL_TOPIC_PREFIX": vigil_settings.topic_prefix, "ASSESSMENT_DATABASE_URL": url,
           "TRIAGE_DATABASE_URL": triage_url}
    # Staff sign in at triage: its HTTP side only, so it triages nothing of the feed and the incidents are the
    # feed's alone.
    triage = ServiceProcess("triage", env, logdir, mode="api").start()
    with ExitStack() as stack:
        stack.callback(triage.stop)
        svc = stack.enter_context(running(env | {"VIGIL_TRIAGE_INTERNAL_URL": triage.url}, logdir, ("assessment",)))
        signed_in = httpx.post(f"{triage.url}/v1/session", json={"username": "ana", "password": PASSWORD},
                               timeout=30)
        assert signed_in.status_code == 200, signed_in.text
        client = httpx.Client(base_url=svc["assessment"].url, timeout=30,  # as an analyst's program would
                              headers={"Authorization": f"Bearer {signed_in.cookies[SESSION_COOKIE]}"})
        area = eventually(lambda: (a := client.get(f"/v1/areas/{GMP}").json())["reports"] == 32
                          and len(a["open_critical_incidents"]) == 5 and a, 60, "the projection to fold every event")
        topic = f"{vigil_settings.topic_prefix}{AREAS}"
        records = eventually(lambda: _once_tension_raised(vigil_settings.kafka_bootstrap, topic), 60, "tension raised")
        assert {r.key.decode() for r in records} == {GMP}
        changed = [json.loads(r.value) for r in records if headers_of(r)["ce_type"] == b"vigil.area.risk_changed.v1"]
        assert changed[-1]["level"] in ("severe", "critical")
        assert [c["previous_level"] for c in changed[1:]] == [c["level"] for c in changed[:-1]]
        [raised] = [json.loads(r.value) for r in records if headers_of(r)["ce_type"] == b"vigil.area.tension_raised.v1"]
        assert raised["area"] == GMP and raised["level"] in ("substantial", "severe", "critical")

        latest = eventually(lambda: _partner_view(vigil_settings, expect=32), 60, "every item in the partner view")
        assert len(latest) == 32 and all("-W" in p["week"] for p in latest.values())
        assert {p["conditions_apply"] for p in latest.values() if p["grading"] == "2AC"} == {True}

        assert area["level"] == changed[-1]["level"] and area["spike"]["spike"] is True
        assert any(reason.startswith("spike: 18 reports in 24 h") for reason in area["reasons"])
        assert area["counts"]["24h"]["by_place"] == {"place_of_worship": 18}
        assert area["places_of_worship_affected"] == 4
        listed = client.get("/v1/areas").json()["areas"]
        assert listed[0]["area"] == GMP and listed[-1]["level"] == "low" and len(listed) == 45
        today, yesterday = NOW.date(), (NOW - timedelta(days=1)).date()
        timeline = client.get(f"/v1/areas/{GMP}/timeline", params={"from": str(yesterday), "to": str(today)}).json()
        assert {i["grading"]["code"] for i in timeline["items"] if i["kind"] == "report"} == {"2AP", "2AC"}
        bad = client.get(f"/v1/areas/{GMP}/timeline", params={"from": str(today), "to": str(yesterday)})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "from"
        assert client.get("/v1/areas/X1").status_code == 404

        home = client.get("/", headers={"Accept": "text/html"})
        assert home.status_code == 200 and home.text.count('<a class="analysis-map__area"') == 45
        assert f'href="/areas/{GMP}" aria-label="Greater Manchester: {level_word(area["level"])} risk"' in home.text
        assert client.get("/").status_code == 404, "API clients keep the 404 at the root"
        weekly = client.get("/counts.csv", params={"area": GMP, "period": 13, "strand": "religion"}).text
        shown = [row.rsplit(",", 1)[1] for row in weekly.splitlines()[1:]]
        assert len(shown) == 13 and "<5" in shown, "a report every two days is suppressed week by week"
        assert all(n in ("0", "<5") or int(n) >= 5 for n in shown) and max(int(n) for n in shown if n != "<5") >= 9

        month = {"from": str(today - timedelta(days=28)), "to": str(today)}
        page = client.get("/v1/strategic-assessment", params={"area": GMP, **month})
        assert page.status_code == 200 and "<svg" in page.text and page.text.count('class="mark"') >= 12
        pdf = client.get("/v1/strategic-assessment.pdf", params=month)
        assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    (tmp_path / "all.pdf").write_bytes(pdf.content)
    assert _pdf_pages_have_ink(tmp_path / "all.pdf", tmp_path) >= 4


def test_a_regrade_reaches_the_facts_the_partner_feed_and_the_strategic_assessment(
        vigil_settings: VigilSettings, new_database: Callable[[str], str], feed: Feed) -> None:
    """Regraded to C: partners not entitled to C are told to delete the item, the others get it again marked;
    a report regraded to P from C reaches partners as an ordinary item. The analysts see the grading now."""
    at = NOW - timedelta(days=2)
    regrades = ((901, "P", "3DC"), (902, "C", "1AP"), (903, "P", None))
    for n, handling, _ in regrades:
        feed.send(report(n, MET, at + timedelta(minutes=n - 900), handling=handling), f"r-{n:05d}", at)
    feed.flush()
    core = _service(vigil_settings, new_database("assessment"), MovableClock(NOW))
    runner = core.runner().start()
    try:
        # the reports first, so what partners are told follows one order (triage's events may overtake them)
        eventually(_processed(core, 3), 60, "the reports folded")
        for n, _, code in regrades:
            feed.send(triage(n, MET, at + timedelta(minutes=n - 899), critical=False), f"r-{n:05d}", at)
            if code:
                feed.send(regrade(n, MET, at + timedelta(minutes=n - 898), code), f"r-{n:05d}", at)
        feed.flush()
        eventually(_processed(core, 8), 60, "the live projection to fold every event")
        pseudonym = Pseudonymiser(vigil_settings.fingerprint_key.get_secret_value())
        topic = f"{vigil_settings.topic_prefix}{PARTNER}"

        def told(n: int, count: int) -> list[tuple[str, dict[str, Any]]] | None:
            records = [r for r in read_topic(vigil_settings.kafka_bootstrap, topic, expect=1)
                       if r.key == pseudonym(f"r-{n:05d}").encode()]
            got = [(headers_of(r)["ce_type"].decode(), json.loads(r.value)) for r in records]
            return got if len(got) >= count else None

        restricted = eventually(lambda: told(901, 4), 60, "the regraded item told to partners")
        assert [t for t, _ in restricted] == ["vigil.partner.incident_reported.v1"] * 2 + [
            "vigil.partner.incident_restricted.v1", "vigil.partner.incident_reported.v1"]
        assert restricted[2][1]["grading"] == "3DC"
        assert (restricted[3][1]["grading"], restricted[3][1]["conditions_apply"]) == ("3DC", True)
        opened = eventually(lambda: told(902, 3), 60, "the item regraded to P")
        assert [(d["grading"], d["conditions_apply"]) for _, d in opened] == [("2AC", True)] * 2 + [("1AP", False)]
        assert [t for t, _ in eventually(lambda: told(903, 2), 60, "the item never regraded")] == [
            "vigil.partner.incident_reported.v1"] * 2
        with core.db.snapshot() as s:
            doc = build_assessment(s, core.registry, core.scoring, MET, NOW - timedelta(days=7), NOW, NOW)
        gradings = {i["reference"]: i["grading"]["code"] for i in doc.items}
        assert {k: gradings[k] for k in ("V00901", "V00902", "V00903")} == {
            "V00901": "3DC", "V00902": "1AP", "V00903": "2AP"}
        page = render_html(doc)
        assert "3DC: " in page and "1AP: " in page and "2AC" not in page
    finally:
        runner.shutdown()
        core.db.dispose()


def load_snapshot_of(db: Database) -> Any:
    with db.snapshot() as s:
        return load_snapshot(s)


def _history_with_everything(feed: Feed) -> int:
    """Amendments, withdrawals, erasures, and incidents whose reports sit in other partitions."""
    sent = 0
    start = NOW - timedelta(days=20)
    for n in range(1, 61):
        at = start + timedelta(hours=7 * n)
        key = f"r-{n:05d}"
        if n % 5 == 0:   # triage's event first: it may well arrive before the report it is about
            feed.send(triage(n, MET, at + timedelta(minutes=2)), key, at + timedelta(minutes=2))
            sent += 1
        if n % 5 == 0 and n % 10:   # and a regrade of it (twice for some), before the report too
            for minutes, code in ((3, "3DC"), (4, "1BP"))[: 1 + n % 3 % 2]:
                feed.send(regrade(n, MET, at + timedelta(minutes=minutes), code), key, at + timedelta(minutes=minutes))
                sent += 1
        feed.send(report(n, MET if n % 2 else GMP, at, "place_of_worship" if n % 3 == 0 else "street"), key, at)
        sent += 1
        if n % 7 == 0:
            incident = report(n, GMP, at).incident.model_copy(update={"ongoing": True})
            feed.send(ReportAmended(report_id=key, amended_at=at + timedelta(hours=1), incident=incident), key,
                      at + timedelta(hours=1))
            sent += 1
        if n % 11 == 0:
            gone = at + timedelta(hours=2)
            feed.send(ReportWithdrawn(report_id=key, withdrawn_at=gone), key, gone)
            sent += 1
        if n % 10 == 0:
            feed.send(ReportErased(report_id=key, erased_at=at + timedelta(hours=3), requested_by="dpo"), key,
                      at + timedelta(hours=3))
            sent += 1
        if n % 15 == 0:
            feed.send(IncidentClosed(incident_id=f"i-{n:05d}", outcome="resolved", closed_at=at + timedelta(hours=4)),
                      key, at + timedelta(hours=4))
            sent += 1
    feed.flush()
    return sent


def _sites_and_their_decisions(core: Assessment) -> int:
    """Two places of worship on `vigil.sites.v1`, from assessment's own outbox: staff link one report to a
    mosque and dismiss another, a check finds an issue. Answers how many events that made."""
    entry = {"name": "East London Mosque", "faith": "muslim", "area": MET, "postcode_district": "E1",
             "capacity_band": "800+", "measures": ["cctv"],
             "contacts": [{"name": "A Steward", "phone": "07700 900456"}]}
    mosque = SiteIn.model_validate(entry)
    synagogue = SiteIn.model_validate(entry | {"name": "Bevis Marks Synagogue", "faith": "jewish",
                                               "postcode_district": "EC3A", "capacity_band": "200-799"})
    site, _ = core.sites.register([mosque, synagogue], "sup")
    everywhere = scope_of(Caller("sup", frozenset({"supervisor"})), frozenset())
    core.sites.decide_link(site, "r-00003", True, "sup", everywhere)
    core.sites.decide_link(site, "r-00009", False, "sup", everywhere)
    return 4


def test_rebuild_from_offset_zero_is_byte_identical_to_the_live_projection(
        vigil_settings: VigilSettings, new_database: Callable[[str], str], feed: Feed) -> None:
    sent = _history_with_everything(feed)
    live_url, rebuilt_url = new_database("assessment"), new_database("assessment")
    core = _service(vigil_settings, live_url, MovableClock(NOW))
    runner = core.runner().start()
    try:
        eventually(_processed(core, sent), 60, "the live projection to fold every event")
        sent += _sites_and_their_decisions(core)
        eventually(_processed(core, sent), 60, "the sites' events back from vigil.sites.v1")
    finally:
        runner.shutdown()
    live = live_digest(core.db, core.registry)
    upgrade("assessment", rebuilt_url)
    target = Database(rebuilt_url)
    job = Rebuild(vigil_settings.kafka_bootstrap, TopicNames(vigil_settings.topic_prefix), core.registry, target,
                  MovableClock(NOW), batch=7, snapshot_every=50)
    result = job.run(resume=False)
    assert result.events == sent and result.digest == live == live_digest(target, core.registry)
    with target.sessions() as s:
        assert s.execute(text("SELECT count(*) FROM proj_erasures")).scalar() == 6
        assert s.execute(text("SELECT count(*) FROM proj_sites")).scalar() == 2
        assert s.execute(text("SELECT count(*) FROM proj_site_links")).scalar() == 2
    document = json.loads(projection_bytes(load_snapshot_of(target), core.registry))
    risks = sorted((r["level"], r["likelihood"], r["impact"]) for r in document["site_risk"].values())
    assert len(risks) == 2 and all(level in ("low", "moderate", "substantial", "severe", "critical")
                                   for level, _, _ in risks)

    resumed = job.run(resume=True)   # from the snapshot the first run left: nothing new to read
    assert (resumed.resumed_from, resumed.events, resumed.digest) == (sent, 0, live)
    with target.transaction() as s:   # keep only the first snapshot, taken part-way: resume from there
        s.execute(text("DELETE FROM snapshots WHERE id <> (SELECT min(id) FROM snapshots)"))
    partway = job.run(resume=True)
    assert partway.resumed_from and 0 < partway.events < sent and partway.digest == live
    parallel = Rebuild(vigil_settings.kafka_bootstrap, TopicNames(vigil_settings.topic_prefix), core.registry,
                       target, MovableClock(NOW), workers=2, parallel_from=0).run(resume=False, write=False)
    assert parallel.digest == live
    core.db.dispose()
    target.dispose()


def test_rebuild_command_reports_progress_and_checks_against_the_live_projection(
        vigil_settings: VigilSettings, new_database: Callable[[str], str], feed: Feed, tmp_path: Path) -> None:
    sent = _history_with_everything(feed)
    live_url = new_database("assessment")
    core = _service(vigil_settings, live_url, MovableClock(NOW))
    runner = core.runner().start()
    try:
        eventually(_processed(core, sent), 60, "the live projection to fold every event")
    finally:
        runner.shutdown()
        core.db.dispose()
    env = {**os.environ, "VIGIL_KAFKA_BOOTSTRAP": vigil_settings.kafka_bootstrap,
           "VIGIL_TOPIC_PREFIX": vigil_settings.topic_prefix, "ASSESSMENT_DATABASE_URL": live_url}
    run = subprocess.run([sys.executable, "-m", "services.cli", "assessment", "rebuild", "--full", "--check",
                          "--into", new_database("assessment")], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr + run.stdout
    assert f"rebuilt from {sent} events" in run.stdout and "the live projection is identical" in run.stdout
    out = tmp_path / "met.pdf"
    made = subprocess.run([sys.executable, "-m", "services.cli", "assessment", "report", "--area", MET,
                           "--from", str((NOW - timedelta(days=21)).date()), "--out", str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    assert _pdf_pages_have_ink(out, tmp_path) >= 4
    wrong = subprocess.run([sys.executable, "-m", "services.cli", "assessment", "report", "--area", "NOPE",
                            "--out", str(out)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert wrong.returncode == 2 and "unknown area code 'NOPE'" in wrong.stderr
