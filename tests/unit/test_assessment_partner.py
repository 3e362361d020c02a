"""The partner view: allowlisted fields, a week instead of a time, handling code C flagged, erasure told."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from services.assessment.partner import Pseudonymiser, iso_week, partner_events
from services.assessment.projection import IncidentFacts, ReportFacts
from shared.events.partner import PartnerIncidentErased, PartnerIncidentReported, PartnerIncidentWithdrawn

AT = datetime(2026, 3, 20, 21, 47, tzinfo=UTC)
REPORT = ReportFacts(report_id="r-secret-id", reference="VREF42", area="E23000005", district="E23000005-D1",
                     occurred_at=AT, submitted_at=AT, updated_at=AT, sequence=1, types=("threat",),
                     strands=("religion",), religion="muslim", place_type="place_of_worship", place_fp="fp-mosque",
                     injuries="none", weapon=False, ongoing=False, vulnerable=False, repeat=False, grading="2AC",
                     channel="web", role="victim")
INCIDENT = IncidentFacts("i-1", "r-secret-id", "E23000005", "P2", True, "open", AT, AT, ("place_of_worship",))


def test_partner_item_carries_only_allowlisted_fields_and_a_week() -> None:
    pseudonym = Pseudonymiser("k")("r-secret-id")
    [event] = partner_events(pseudonym, None, REPORT, INCIDENT, None)
    assert isinstance(event, PartnerIncidentReported)
    assert event.model_dump() == {
        "pseudonymous_id": pseudonym, "area": "E23000005", "week": "2026-W12", "types": ["threat"],
        "strands": ["religion"], "place_type": "place_of_worship", "priority": "P2", "grading": "2AC",
        "conditions_apply": True}
    text = event.to_json_bytes()
    for secret in (b"r-secret-id", b"VREF42", b"fp-mosque", b"21:47", b"D1"):
        assert secret not in text


def test_pseudonym_is_stable_and_differs_by_key() -> None:
    assert Pseudonymiser("k")("r1") == Pseudonymiser("k")("r1") != Pseudonymiser("other")("r1")


def test_permitted_item_is_not_flagged() -> None:
    [event] = partner_events("p", None, replace(REPORT, grading="2AP"), None, None)
    assert isinstance(event, PartnerIncidentReported) and not event.conditions_apply and event.priority is None


def test_withdrawal_and_erasure_are_told_once() -> None:
    withdrawn = replace(REPORT, withdrawn=True)
    assert [type(e) for e in partner_events("p", REPORT, withdrawn, None, None)] == [PartnerIncidentWithdrawn]
    assert partner_events("p", withdrawn, withdrawn, None, None) == []
    [erased] = partner_events("p", REPORT, None, None, AT)
    assert isinstance(erased, PartnerIncidentErased) and erased.week == iso_week(AT)
    assert (erased.area, erased.grading) == ("E23000005", "2AC")  # so a feed filters it as it filtered the item
    assert partner_events("p", None, None, None, AT) == []
