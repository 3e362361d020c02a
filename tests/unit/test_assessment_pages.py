"""The analysts' pages from the real app over SQLite: the map, trends, an area, the CSV, and who may see them."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.assessment.main import build, create_app
from services.assessment.projection import IncidentFacts, ReportFacts, TensionFacts
from services.assessment.settings import AssessmentSettings
from services.assessment.store import DbStore
from shared.clock import MovableClock
from shared.db import Database
from shared.migrate import upgrade
from shared.servicecalls import service_headers
from shared.settings import VigilSettings
from shared.staffaccess import SESSION_COOKIE, Caller, StaffAccess
from shared.web.site import StaffSite

NOW = datetime(2026, 6, 10, 18, 0, tzinfo=UTC)  # 19:00 BST on a Wednesday
GMP, MET, WYK = "E23000005", "E23000001", "E23000010"
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
STAFF = {"ana": Caller("ana", frozenset({"analyst"}), csrf_token="c1"),
         "dora": Caller("dora", frozenset({"duty_inspector"}), csrf_token="c2"),
         "tom": Caller("tom", frozenset({"triage_officer"}), csrf_token="c3")}
SNAKE = re.compile(r"\b[a-z]+_[a-z_]+\b")
AREA_CODE = re.compile(r"\b[ENSW]\d{8}\b")


def report(n: int, area: str, at: datetime, types: tuple[str, ...] = ("verbal_abuse",), place: str = "street",
           strands: tuple[str, ...] = ("religion",)) -> ReportFacts:
    return ReportFacts(report_id=f"r{n}", reference=f"V{n:05d}", area=area, district=None, occurred_at=at,
                       submitted_at=at, updated_at=at, sequence=1, types=types, strands=strands, religion="muslim",
                       place_type=place, place_fp=f"fp{n % 3}" if place == "place_of_worship" else None,
                       injuries="none", weapon=False, ongoing=False, vulnerable=False, repeat=False, grading="2AP",
                       channel="web", role="witness")


def seed(db: Database, now: datetime) -> None:
    """A steady baseline in three forces; then a surge at mosques in Greater Manchester, three open critical
    incidents in the Met and heightened tension declared in West Yorkshire. Every other force is quiet."""
    with db.transaction() as s:
        store = DbStore(s)
        n = 0
        for area in (GMP, MET, WYK):
            for day in range(40):
                for i in range(2):
                    n += 1
                    strands = ("race",) if i else ("religion",)
                    store.put_report(report(n, area, now - timedelta(days=day, hours=3 + 8 * i), strands=strands))
        for i in range(15):
            n += 1
            store.put_report(report(n, GMP, now - timedelta(minutes=40 * i), ("threat",), "place_of_worship"))
        for k in range(3):
            store.put_incident(IncidentFacts(f"i{k}", f"r{k + 100}", MET, "P2", True, "open", now - timedelta(hours=k),
                                             now - timedelta(hours=k), ("violence",)))
        store.put_tension(TensionFacts("t1", WYK, now - timedelta(hours=2), None, now - timedelta(hours=2)))


class FakeTriage(StaffAccess):
    """Triage's answers about sessions, without triage: a token is the username of the one signed in."""

    def _introspect(self, token: str) -> Caller | None:
        return STAFF.get(token)


def vigil() -> VigilSettings:
    return VigilSettings(environment="test", kafka_bootstrap="127.0.0.1:1", topic_prefix="unused.")


@pytest.fixture
def app(tmp_path: Path) -> Iterator[FastAPI]:
    url = f"sqlite:///{tmp_path / 'assessment.db'}"
    upgrade("assessment", url)
    core = build(vigil(), AssessmentSettings(database_url=url), clock=MovableClock(NOW))
    seed(core.db, NOW)
    application = create_app(core, with_worker=False)
    application.state.staff_access = FakeTriage(vigil(), "assessment")
    yield application
    core.db.dispose()


def client(app: FastAPI, who: str | None = None) -> TestClient:
    c = TestClient(app, follow_redirects=False)
    if who:
        c.cookies.set(SESSION_COOKIE, who)
    return c


class _Text(HTMLParser):
    """The words a person reads on a page: text outside scripts and styles, and nothing in attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.words: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("script", "style")

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.words.append(" ".join(data.split()))


def shown(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return "\n".join(parser.words)


def test_api_clients_asking_for_the_root_still_get_the_json_404(app: FastAPI) -> None:
    for who in (None, "ana"):
        for accept in (None, "application/json", "*/*"):
            answer = client(app, who).get("/", headers={"Accept": accept} if accept else {})
            assert answer.status_code == 404 and answer.headers["content-type"] == "application/problem+json"


def test_a_browser_nobody_signed_in_on_is_sent_to_sign_in_at_triage_and_brought_back(app: FastAPI) -> None:
    for path in ("/?period=4", f"/areas/{GMP}", "/counts.csv"):
        answer = client(app).get(path, headers=BROWSER)
        assert answer.status_code == 303
        assert answer.headers["location"] == StaffSite().sign_in_url(f"http://testserver{path}")
    program = client(app).get("/counts.csv")
    assert program.status_code == 401 and program.headers["content-type"] == "application/problem+json"


def test_staff_without_an_analysts_role_are_refused_with_a_page(app: FastAPI) -> None:
    answer = client(app, "tom").get("/", headers=BROWSER)
    assert answer.status_code == 403 and answer.headers["content-type"].startswith("text/html")
    assert "You do not have permission" in answer.text and "tom" in shown(answer.text)


def test_the_home_page_maps_every_force_area_by_risk_with_a_key_and_a_table(app: FastAPI) -> None:
    page = client(app, "ana").get("/", headers=BROWSER)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    links = re.findall(r'<a class="analysis-map__area" href="([^"]+)" aria-label="([^"]+)"', page.text)
    assert len(links) == 45
    labels = dict((href, label) for href, label in links)
    assert labels[f"/areas/{GMP}"] == "Greater Manchester: Critical risk"
    assert labels[f"/areas/{MET}"] == "Metropolitan Police: Substantial risk"
    assert labels[f"/areas/{WYK}"] == "West Yorkshire: Severe risk"
    assert labels["/areas/E23000002"] == "Cumbria: Low risk"
    text = shown(page.text)
    assert "1 Low\n(42 areas)" in text and "5 Critical\n(1 area)" in text
    assert "Risk now, as of 19:00 BST, Wed 10 Jun 2026." in text
    assert text.count("Greater Manchester") >= 2, "in the list above low and in the table"
    assert not SNAKE.search(text), SNAKE.findall(text)
    assert not AREA_CODE.search(text), "areas are named, never shown as codes"


def test_reports_per_week_follow_the_filters_in_the_url(app: FastAPI) -> None:
    page = client(app, "ana").get("/", params={"period": 4, "area": GMP, "strand": "race"}, headers=BROWSER).text
    assert re.search(r'<option value="4" selected>Last 4 weeks</option>', page)
    assert re.search(rf'<option value="{GMP}" selected>Greater Manchester</option>', page)
    assert re.search(r'<option value="race" selected>Race</option>', page)
    assert 'href="/areas/E23000002?period=4&amp;strand=race"' in page, "the map keeps the period and strand"
    assert 'href="/counts.csv?period=4&amp;area=E23000005&amp;strand=race"' in page
    assert 'href="/v1/strategic-assessment?area=E23000005&amp;from=2026-05-18&amp;to=2026-06-10"' in page
    weeks = re.findall(r'<td class="govuk-table__cell">(\d+ \w+ 2026)</td>\s*'
                       r'<td class="govuk-table__cell govuk-table__cell--numeric">(\d+)</td>', page)
    assert weeks == [("18 May 2026", "7"), ("25 May 2026", "7"), ("1 Jun 2026", "7"), ("8 Jun 2026", "3")]
    assert "Reports per week in Greater Manchester: race" in shown(page)


def test_a_filter_not_in_the_lists_is_a_page_saying_so(app: FastAPI) -> None:
    answer = client(app, "ana").get("/", params={"period": 5, "strand": "race_hate"}, headers=BROWSER)
    assert answer.status_code == 422 and answer.headers["content-type"].startswith("text/html")
    assert "Choose the period, area and strand from the lists." in answer.text


def test_an_area_page_names_the_area_and_says_why_in_plain_english(app: FastAPI) -> None:
    page = client(app, "ana").get(f"/areas/{GMP}", headers=BROWSER)
    assert page.status_code == 200
    text = shown(page.text)
    assert re.search(r"<h1[^>]*>Greater Manchester</h1>", page.text)
    assert "5 Critical" in text
    assert "17 reports in the last 24 hours, against about 2.0 usual" in text
    assert "a sudden rise, so at least severe." in text
    assert "Place of worship" in text and "Threat" in text and "Verbal abuse" in text
    assert "Reports per week in Greater Manchester" in text
    assert f'href="/v1/strategic-assessment?area={GMP}&amp;from=' in page.text
    readable = text.replace(f"Area code {GMP}.", "")
    assert not AREA_CODE.search(readable)
    explained = text.split("How this was worked out")[0]
    assert not SNAKE.search(explained), SNAKE.findall(explained)


def test_the_strategic_assessment_is_offered_only_to_those_who_may_read_it(app: FastAPI) -> None:
    page = client(app, "dora").get(f"/areas/{MET}", headers=BROWSER)
    assert page.status_code == 200 and "Metropolitan Police" in page.text
    assert "strategic-assessment" not in page.text
    assert "3 critical incidents are still open, so at least substantial." in shown(page.text)


def test_an_unknown_area_is_a_page_not_found(app: FastAPI) -> None:
    answer = client(app, "ana").get("/areas/X1", headers=BROWSER)
    assert answer.status_code == 404 and "Page not found" in answer.text


def test_the_csv_export_suppresses_small_counts(app: FastAPI) -> None:
    answer = client(app, "ana").get("/counts.csv", params={"period": 4, "strand": "religion"})
    assert answer.status_code == 200 and answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == \
        'attachment; filename="vigil-reports-per-week-all-areas-religion-2026-05-18-to-2026-06-10.csv"'
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert len(rows) == 45 * 4
    gmp = [r["Reports"] for r in rows if r["Area code"] == GMP]
    assert gmp == ["7", "7", "7", "18"]
    wyk = [r["Reports"] for r in rows if r["Area"] == "West Yorkshire"]
    assert wyk == ["7", "7", "7", "<5"]
    assert {r["Reports"] for r in rows if r["Area"] == "Cumbria"} == {"0"}
    assert {r["Strand"] for r in rows} == {"Religion"}


def test_a_service_credential_is_refused_the_csv_and_the_pages(app: FastAPI) -> None:
    answer = client(app).get("/counts.csv", headers=service_headers(vigil(), "triage"))
    assert answer.status_code == 403 and answer.headers["content-type"] == "application/problem+json"
    assert "signed-in member of staff" in answer.json()["detail"]
    page = client(app).get("/", headers=service_headers(vigil(), "triage") | BROWSER)
    assert page.status_code == 403 and "signed-in member of staff" in page.text


def test_the_pages_stylesheet_is_served_and_the_map_needs_no_inline_style(app: FastAPI) -> None:
    page = client(app, "ana").get("/", headers=BROWSER).text
    [href] = re.findall(r'href="(/analysis-static/[0-9a-f]{12}/analysis.css)"', page)
    sheet = client(app).get(href)
    assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("text/css")
    assert " style=" not in page and "<style" not in page



def test_the_strategic_assessment_is_a_staff_page_in_plain_english(app: FastAPI) -> None:
    page = client(app, "ana").get("/v1/strategic-assessment", params={"area": GMP}, headers=BROWSER)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "moj-identity-bar" in page.text and " style=" not in page.text and "<style" not in page.text
    text = shown(page.text)
    assert "Greater Manchester" in text and "Strategic assessment" in text
    assert "Risk as of 19:00 BST, Wed 10 Jun 2026" in " ".join(text.split())
    assert "Place of worship" in text and "Threat" in text and "Web, witness" in " ".join(text.split())
    why = text.split("Areas by risk")[1].split("Reports per day")[0]
    assert not SNAKE.search(why) and not AREA_CODE.search(why)
    assert re.search(r'<svg class="analysis-chart"[^>]*role="img"', page.text)
    ticks = re.findall(r'text-anchor="end" font-size="12" fill="#0b0c0c">([^<]+)</text>', page.text)
    assert ticks and all(t.isdigit() for t in ticks), ticks
    assert 'href="/v1/strategic-assessment.pdf?from=' in page.text


def test_the_strategic_assessment_as_a_file_stands_on_its_own(app: FastAPI) -> None:
    from services.assessment.queries import period
    from services.assessment.report import build_assessment, render_html

    db, registry, scoring = app.state.db, app.state.registry, app.state.scoring
    with db.snapshot() as s:
        doc = build_assessment(s, registry, scoring, None, *period(None, None, NOW.date()), NOW)
    html = render_html(doc, pdf_href="all.pdf")
    assert "<style>" in html and ".analysis-level--critical" in html and "/assets/" not in html
    assert 'href="all.pdf"' in html and 'href="/areas/' not in html
    assert "Metropolitan Police" in html and "3 critical incidents are still open" in html
