"""Intake's rules as plain Python: the report contract, grading, status, rate limits, the form's mapping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from services.intake.domain import (
    CONTACT_DISCARDED,
    FieldProblem,
    ReportIn,
    ReportRejected,
    Status,
    check_report,
    default_grading,
    incident_status,
    personal_fields,
    status_after,
)
from services.intake.forms import FormValues, errors_from_rejection, errors_from_validation
from services.intake.i18n import Catalogues
from services.intake.ratelimit import RateLimiter
from shared.areas import default_registry
from shared.events.reports import Consent, ReporterRole
from tests.factories import report_body

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
LOCALE = Path(__file__).resolve().parents[2] / "services" / "intake" / "locale"


def report(**overrides: Any) -> ReportIn:
    return ReportIn.model_validate(report_body(**{"incident__occurred_at": "2026-11-20T21:00:00+00:00", **overrides}))


def problems(r: ReportIn, from_centre: bool = False) -> set[tuple[str, str]]:
    with pytest.raises(ReportRejected) as caught:
        check_report(r, NOW, default_registry(), from_centre)
    return {(p.field, p.code) for p in caught.value.problems}


def test_a_complete_report_passes_and_keeps_its_area() -> None:
    checked = check_report(report(), NOW, default_registry(), False)
    assert (checked.area, checked.district, checked.warnings) == ("E23000001", None, [])


def test_an_incident_a_few_minutes_ahead_of_our_clock_is_tolerated_but_not_tomorrow() -> None:
    check_report(report(incident__occurred_at="2026-11-21T12:04:00Z"), NOW, default_registry(), False)
    assert problems(report(incident__occurred_at="2026-11-22T12:00:00Z")) == {("incident.occurred_at", "in_future")}


def test_online_place_needs_the_platform() -> None:
    assert problems(report(incident__location={"area": "E23000001", "place_type": "online"})) == \
        {("incident.online", "required")}
    ok = report(incident__location={"area": "E23000001", "place_type": "online"},
                incident__online={"platform": "X", "url": "https://x.example/post/1"})
    assert check_report(ok, NOW, default_registry(), False).report.incident.online is not None


def test_a_religion_without_the_religion_strand_is_inconsistent() -> None:
    assert problems(report(incident__targeted_characteristics=["race"])) == \
        {("incident.religion_targeted", "inconsistent")}


def test_an_organisation_must_name_itself() -> None:
    assert problems(report(reporter__role="organisation")) == {("reporter.organisation", "required")}


def test_only_centres_may_give_an_external_reference() -> None:
    assert problems(report(external_reference="X-1")) == {("external_reference", "not_allowed")}
    check_report(report(external_reference="X-1"), NOW, default_registry(), True)


def test_an_unknown_area_or_an_unplaceable_postcode_is_refused_by_name() -> None:
    assert problems(report(incident__location={"area": "E23009999", "place_type": "street"})) == \
        {("incident.location.area", "unknown_area")}
    assert problems(report(incident__location={"postcode": "ZZ99 9ZZ", "place_type": "street"})) == \
        {("incident.location.area", "area_unresolved")}


def test_contact_details_without_consent_are_dropped_and_the_reporter_told() -> None:
    checked = check_report(report(consent__contact=False), NOW, default_registry(), False)
    assert checked.report.reporter.email is None and checked.warnings == [CONTACT_DISCARDED]
    assert "email" not in personal_fields(checked.report)


@pytest.mark.parametrize("path", ["incident__types", "incident__targeted_characteristics"])
def test_at_least_one_type_and_one_strand(path: str) -> None:
    with pytest.raises(ValidationError):
        report(**{path: []})


def test_unknown_fields_are_errors() -> None:
    body = report_body()
    body["incident"]["severity"] = "high"
    with pytest.raises(ValidationError) as caught:
        ReportIn.model_validate(body)
    assert caught.value.errors()[0]["loc"] == ("incident", "severity")


@pytest.mark.parametrize(("role", "trusted", "partners", "code"), [
    (ReporterRole.victim, False, True, "2AP"), (ReporterRole.witness, False, False, "2AC"),
    (ReporterRole.third_party, False, False, "2CC"), (ReporterRole.organisation, True, True, "1CP")])
def test_default_grading_follows_role_channel_and_consent(role: ReporterRole, trusted: bool, partners: bool,
                                                          code: str) -> None:
    assert default_grading(role, Consent(share_with_partners=partners), trusted).code() == code


def test_status_moves_forward_by_type_string_and_ignores_what_it_does_not_know() -> None:
    assert incident_status("vigil.incident.triaged.v1") == Status.triaged
    assert incident_status("vigil.incident.acknowledged.v2") == Status.with_the_police
    assert incident_status("vigil.incident.closed.v1") == Status.closed
    assert incident_status("vigil.incident.tension_heightened.v1") is None
    assert incident_status("vigil.report.submitted.v1") is None
    assert status_after(Status.closed, "vigil.incident.triaged.v1") == Status.closed
    assert status_after(Status.received, "vigil.incident.escalated.v1") == Status.with_the_police


def test_the_rate_limiter_allows_a_burst_then_refills_at_the_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=6, burst=3, now=lambda: now[0])
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a") == pytest.approx(10.0)
    assert limiter.take("b") == 0.0
    now[0] = 10.0
    assert limiter.take("a") == 0.0


def test_the_rate_limiter_forgets_idle_clients_so_memory_stays_bounded() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=60, burst=2, now=lambda: now[0], max_clients=10)
    for i in range(10):
        limiter.take(f"c{i}")
    now[0] = 100.0
    limiter.take("new")
    assert len(limiter._buckets) == 1


class Form(dict[str, Any]):
    def getlist(self, key: str) -> list[Any]:
        value = self.get(key, [])
        return value if isinstance(value, list) else [value]


def test_the_form_reads_uk_local_time_and_marks_a_missing_time_approximate() -> None:
    values = FormValues.from_form(Form(role="victim", occurred_date="2026-07-01", types=["threat"],
                                       strands=["race"], area="E23000001", place_type="street"))
    r = values.to_report("ur")
    assert r.incident.occurred_at.isoformat() == "2026-07-01T12:00:00+01:00"
    assert r.incident.occurred_at_is_approximate and r.reporter.preferred_language == "ur"


def test_a_date_typed_the_uk_way_is_understood_where_the_browser_has_no_date_picker() -> None:
    values = FormValues.from_form(Form(occurred_date="21/11/2025", occurred_time="18:05"))
    assert values.occurred_at() == "2025-11-21T18:05:00+00:00"
    assert FormValues.from_form(Form(occurred_date="31/02/2025")).occurred_at() == "2025-02-31T12:00"


def test_form_errors_land_on_the_fields_the_visitor_sees() -> None:
    with pytest.raises(ValidationError) as caught:
        FormValues.from_form(Form(email="nope")).to_report("en")
    errors = errors_from_validation(caught.value)
    assert errors["role"] == "Choose who you are"
    assert errors["types"] == "Choose at least one type of incident"
    assert errors["occurred_date"] == "Enter the date it happened"
    assert errors["email"].startswith("Enter an email address")
    rejected = ReportRejected([FieldProblem("incident.location.area", "x", "area_unresolved")])
    assert errors_from_rejection(rejected) == {
        "area": "We could not place this postcode: choose the area from the list"}


def test_every_catalogue_translates_every_message_and_rtl_languages_are_marked() -> None:
    from babel.messages.pofile import read_po

    template = read_po((LOCALE / "messages.pot").open("rb"))
    ids = {m.id for m in template if m.id}
    for lang in ("ar", "tr", "ur"):
        catalogue = read_po((LOCALE / lang / "LC_MESSAGES" / "messages.po").open("rb"))
        missing = {m.id for m in catalogue if m.id and not m.string} | (ids - {m.id for m in catalogue if m.id})
        assert not missing, f"{lang} lacks {sorted(missing)[:5]}"
    catalogues = Catalogues(LOCALE, ["en", "ar", "tr", "ur"], "en")
    assert [catalogues.direction(code) for code in ("en", "ar", "tr", "ur")] == ["ltr", "rtl", "ltr", "rtl"]
    assert catalogues.get("tr").gettext("Send report") == "Bildirimi gönder"


@pytest.mark.parametrize(("header", "expected"), [
    ("ar-EG,ar;q=0.9,en;q=0.5", "ar"), ("de-DE,tr;q=0.8,en;q=0.7", "tr"), ("en-GB", "en"), ("", "en"),
    ("fr", "en"), ("en;q=0.1,ur;q=0.9", "ur")])
def test_the_language_defaults_from_accept_language(header: str, expected: str) -> None:
    assert Catalogues(LOCALE, ["en", "ar", "tr", "ur"], "en").negotiate(header) == expected


def test_a_reference_time_far_in_the_past_is_refused() -> None:
    old = (NOW - timedelta(days=366 * 11)).isoformat()
    assert problems(report(incident__occurred_at=old)) == {("incident.occurred_at", "too_old")}


def test_references_use_only_the_unambiguous_alphabet_and_every_letter_of_it() -> None:
    from services.intake.randomness import new_reference, new_report_id, new_token
    from shared.ids import REFERENCE_ALPHABET

    references = [new_reference() for _ in range(2000)]
    assert all(len(r) == 10 for r in references)
    assert set("".join(references)) == set(REFERENCE_ALPHABET)
    assert len(set(references)) == len(references)
    assert len({new_token() for _ in range(100)}) == 100 and len(new_token()) == 32
    assert new_report_id()[14] == "4"  # a version-4 UUID


def test_the_random_pool_refills_after_a_fork_instead_of_repeating(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.intake.randomness import RandomPool

    pool = RandomPool(chunk=64)
    first = pool.take(48)
    monkeypatch.setattr("os.getpid", lambda: -1)
    after_fork = pool.take(16)
    assert after_fork != first[:16] and len(pool._buffer) == 48
