"""The strategic assessment's PDF is its HTML, typeset: the same headings, the same references."""

from __future__ import annotations

import re
import subprocess
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from services.assessment.main import build
from services.assessment.projection import IncidentFacts
from services.assessment.queries import period
from services.assessment.report import StrategicAssessment, build_assessment, render_html, render_pdf
from services.assessment.settings import AssessmentSettings
from services.assessment.store import DbStore
from shared.clock import MovableClock
from shared.migrate import upgrade
from tests.unit.test_assessment_pages import MET, NOW, report, seed, vigil

OLD_REPORT = "r9000"


class _Headings(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.headings: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("h1", "h2"):
            self._in, self.headings = tag, [*self.headings, ""]

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in:
            self.headings[-1] += data


def words(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def doc(tmp_path: Path) -> StrategicAssessment:
    """The pages' seeded picture, plus an open critical incident about a report from half a year ago."""
    url = f"sqlite:///{tmp_path / 'assessment.db'}"
    upgrade("assessment", url)
    core = build(vigil(), AssessmentSettings(database_url=url), clock=MovableClock(NOW))
    seed(core.db, NOW)
    with core.db.transaction() as s:
        store = DbStore(s)
        store.put_report(report(9000, MET, NOW - timedelta(days=180)))
        store.put_incident(IncidentFacts("i-old", OLD_REPORT, MET, "P1", True, "open", NOW - timedelta(hours=5),
                                         NOW - timedelta(hours=5), ("violence",)))
    with core.db.snapshot() as s:
        built = build_assessment(s, core.registry, core.scoring, None, *period(None, None, NOW.date()), NOW)
    core.db.dispose()
    return built


def test_every_open_critical_incident_shows_its_reference_however_old_its_report(doc: StrategicAssessment) -> None:
    assert doc.open_critical and all(i["reference"] for i in doc.open_critical)
    assert "V09000" in {i["reference"] for i in doc.open_critical}


def test_the_pdf_holds_the_headings_and_references_of_the_html(doc: StrategicAssessment, tmp_path: Path) -> None:
    html = render_html(doc)
    pdf = tmp_path / "assessment.pdf"
    pdf.write_bytes(render_pdf(doc))
    text = words(subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, check=True,
                                timeout=60, text=True).stdout)
    parser = _Headings()
    parser.feed(html)
    headings = [words(h) for h in parser.headings]
    assert "Strategic assessment" in headings and "Open critical incidents" in headings
    for heading in headings:
        assert heading in text, heading
    references = set(re.findall(r"\bV\d{5}\b", html))
    assert len(references) > 50 and "V09000" in references
    assert references == set(re.findall(r"\bV\d{5}\b", text))
    assert "Download PDF" in html and "Download PDF" not in text
