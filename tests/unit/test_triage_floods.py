"""Floods from one source become one group with one page (#14); a surge from many people, a trusted centre's
batch and a P1 in the middle do not fold. Triage on an SQLite file, with a clock that stands still."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from services.triage.access import NotPermitted, Staff
from services.triage.floods import FloodPolicy, Sketch, burst_test, similarity
from services.triage.grouping import GroupReview
from services.triage.incident import AlreadyDone, Incident
from services.triage.main import Triage, build
from services.triage.rules import RULESETS, default_ruleset
from services.triage.settings import TriageSettings
from shared.clock import MovableClock
from shared.events.incidents import (
    IncidentGroupFormed,
    IncidentGroupMemberAttached,
    IncidentGroupSplit,
    IncidentTriaged,
    Priority,
)
from shared.events.reports import IncidentFacts, ReportAmended, ReportSubmitted
from shared.migrate import upgrade
from shared.settings import VigilSettings

NOW = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)
JUNK = {"types": ["verbal_abuse"], "targeted_characteristics": ["religion"], "religion_targeted": "muslim",
        "location": {"area": "E23000001", "place_type": "street"}}
P1 = {"types": ["physical_assault", "threat"], "targeted_characteristics": ["race"], "ongoing": True,
      "location": {"area": "E23000001", "place_type": "home"}}
SUPERVISOR = Staff("u-sue", "sue", "Sue", frozenset({"supervisor"}))

def _floods() -> FloodPolicy:
    policy = default_ruleset().floods
    assert policy is not None
    return policy


FLOODS = _floods()


@pytest.fixture
def triage(tmp_path: Path) -> Iterator[Triage]:
    url = f"sqlite:///{tmp_path / 'triage.db'}"
    upgrade("triage", url)
    t = build(VigilSettings(), TriageSettings(database_url=url), MovableClock(NOW))
    yield t
    t.db.dispose()


def report(n: int, at: datetime, source: str | None = "s-junk", incident: dict[str, Any] | None = None,
           twin_of: int | None = None, **top: Any) -> ReportSubmitted:
    """As intake publishes it: the source's burst token, and the earlier report with the same words, if any."""
    return ReportSubmitted.model_validate({
        "report_id": f"r-{n:03}", "reference": f"VGL-{n}", "submitted_at": at, "channel": "api",
        "reporter": {"role": "victim", "anonymous": True}, "consent": {},
        "incident": {"occurred_at": at - timedelta(hours=1), **(incident or JUNK)},
        "grading": {"source": "2", "intelligence": "A", "handling": "C"}, "fingerprints": {},
        "postcode_district": "E1", "source_burst": source,
        "near_duplicate_of": [f"r-{twin_of:03}"] if twin_of and twin_of != n else []} | top)


def flood(count: int = 60, seconds: float = 2.0, first: int = 1, **kw: Any) -> list[ReportSubmitted]:
    return [report(first + i, NOW + timedelta(seconds=seconds * i / count), twin_of=1, **kw) for i in range(count)]


def triage_all(triage: Triage, reports: list[ReportSubmitted]) -> None:
    for r in reports:  # one transaction each, as the consumer does
        with triage.db.transaction() as s:
            triage.decisions.triage(s, r)


def decisions(triage: Triage, incident_id: str) -> list[IncidentTriaged]:
    with triage.db.sessions() as s:
        return [e for env in triage.store.load(s, incident_id) if isinstance(e := env.event(), IncidentTriaged)]


def paged(triage: Triage, reports: list[ReportSubmitted]) -> list[str]:
    """Incidents notify would chase: some decision needed the Duty Inspector and was not covered by a group."""
    return [r.report_id for r in reports
            if any(d.needs_duty_inspector and not d.paged_with_group for d in decisions(triage, r.report_id))]


def incident(triage: Triage, r: ReportSubmitted) -> Incident:
    return triage.workflow.get(r.report_id)


def review(triage: Triage) -> GroupReview:
    w = triage.workflow
    return GroupReview(w.db, w.incidents, w.clock, w.policy)


# --- the pure parts --------------------------------------------------------------------------------------------

def test_the_same_words_are_the_same_content_and_otherwise_the_facts_are_compared() -> None:
    junk = IncidentFacts.model_validate({"occurred_at": NOW, **JUNK})
    other = IncidentFacts.model_validate({"occurred_at": NOW, **P1})
    assert similarity(Sketch.of(junk, words="w1"), Sketch.of(other, words="w1")) == 1.0
    assert similarity(Sketch.of(junk, words="w1"), Sketch.of(junk, words="w2")) == 1.0, "same facts, new words"
    assert similarity(Sketch.of(junk), Sketch.of(other)) < FLOODS.similarity


def test_a_burst_is_measured_against_the_sources_own_normal() -> None:
    assert burst_test(2, 0, FLOODS).spike, "two near-identical reports from a source never seen before"
    assert not burst_test(1, 0, FLOODS).spike
    busy = 300 * 28  # a shared address (a mobile network's, say) with three hundred reports a day
    assert not burst_test(16, busy, FLOODS).spike and burst_test(17, busy, FLOODS).spike


# --- triage -----------------------------------------------------------------------------------------------------

def test_sixty_junk_reports_from_one_source_in_two_seconds_are_one_group_with_one_page(triage: Triage) -> None:
    reports = flood()
    triage_all(triage, reports)
    assert len(paged(triage, reports)) == 1
    groups = {incident(triage, r).group_id for r in reports}
    assert len(groups) == 1 and None not in groups
    [group_id] = groups
    assert group_id is not None
    group = review(triage).view(SUPERVISOR, group_id)
    assert group["size"] == 60 and group["state"] == "suspected" and group["basis"] == "source"
    assert group["paged_by"] == paged(triage, reports)[0]
    assert "near-identical reports from one source address" in group["evidence"]
    critical = [r for r in reports if incident(triage, r).needs_duty_inspector]
    assert len(critical) > 50, "the flood still trips the cluster rule: every one still needs the Duty Inspector"
    later = decisions(triage, critical[-1].report_id)[-1]
    assert later.paged_with_group and later.ack_deadline is None and later.group_id == group_id


def test_the_group_page_is_the_first_critical_member_and_carries_a_deadline(triage: Triage) -> None:
    reports = flood(count=10)
    triage_all(triage, reports)
    [pager] = paged(triage, reports)
    first = next(r.report_id for r in reports if incident(triage, r).needs_duty_inspector)
    assert pager == first
    decided = decisions(triage, pager)[-1]
    assert decided.group_id and not decided.paged_with_group and decided.ack_deadline is not None
    assert decided.group_size is not None and decided.group_size >= 1


def test_a_surge_from_many_people_keeps_each_report_its_own_incident(triage: Triage) -> None:
    reports = [report(i, NOW + timedelta(seconds=i / 30), source=f"s-person-{i}") for i in range(1, 61)]
    triage_all(triage, reports)
    assert {incident(triage, r).group_id for r in reports} == {None}
    assert len(paged(triage, reports)) == sum(incident(triage, r).needs_duty_inspector for r in reports) > 50


def test_a_trusted_centres_batch_is_not_a_flood(triage: Triage) -> None:
    grading = {"source": "1", "intelligence": "C", "handling": "C"}
    reports = flood(source="s-centre", channel="centre", centre_id="centre-1", grading=grading)
    triage_all(triage, reports)
    assert {incident(triage, r).group_id for r in reports} == {None}


def test_an_untrusted_centres_burst_is_grouped_like_any_source(triage: Triage) -> None:
    reports = flood(count=10, source="s-centre-2", channel="centre", centre_id="centre-2")
    triage_all(triage, reports)
    assert len({incident(triage, r).group_id for r in reports} - {None}) == 1


def test_a_p1_in_the_middle_of_a_flood_pages_on_its_own(triage: Triage) -> None:
    reports = flood()
    from_the_flood = report(500, NOW + timedelta(seconds=1), incident=P1)
    from_elsewhere = report(501, NOW + timedelta(seconds=1), source="s-someone", incident=P1)
    triage_all(triage, [*reports[:30], from_the_flood, from_elsewhere, *reports[30:]])
    for p1 in (from_the_flood, from_elsewhere):
        i = incident(triage, p1)
        assert (i.priority, i.group_id, i.paged_with_group) == (Priority.P1, None, False)
        assert i.ack_deadline == NOW + timedelta(minutes=15)
    assert len(paged(triage, reports)) == 1


def test_reports_from_one_source_that_differ_are_not_one_flood(triage: Triage) -> None:
    other = {"types": ["criminal_damage"], "targeted_characteristics": ["race"],
             "location": {"area": "E23000001", "place_type": "shop"}}
    reports = [report(1, NOW), report(2, NOW + timedelta(seconds=30), incident=other)]
    triage_all(triage, reports)
    assert {incident(triage, r).group_id for r in reports} == {None}


def test_the_old_ruleset_has_no_floods(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade("triage", url)
    settings = TriageSettings(database_url=url, ruleset_file=str(RULESETS / "default-2026.11.1.yaml"))
    old = build(VigilSettings(), settings, MovableClock(NOW))
    reports = flood()
    triage_all(old, reports)
    assert len(paged(old, reports)) == 58, "the third report in the force area onwards: 58 pages"
    old.db.dispose()


def test_a_member_that_rises_to_p1_leaves_the_group_and_pages_on_its_own(triage: Triage) -> None:
    reports = flood(count=10)
    triage_all(triage, reports)
    member = reports[-1]
    group_id = incident(triage, member).group_id
    assert group_id and member.report_id not in paged(triage, reports)
    rose = IncidentFacts.model_validate({"occurred_at": NOW, **P1})
    with triage.db.transaction() as s:
        triage.decisions.retriage(s, ReportAmended(report_id=member.report_id, amended_at=NOW, incident=rose))
    after = decisions(triage, member.report_id)[-1]
    assert (after.priority, after.group_id, after.paged_with_group) == (Priority.P1, None, False)
    assert after.ack_deadline is not None
    with triage.db.sessions() as s:
        split = [e for env in triage.store.load(s, group_id) if isinstance(e := env.event(), IncidentGroupSplit)]
    assert [(e.incident_ids, e.split_by) for e in split] == [([member.report_id], "triage")]


def test_a_supervisor_splits_members_out_and_each_is_paged(triage: Triage) -> None:
    reports = flood(count=10)
    triage_all(triage, reports)
    group_id = incident(triage, reports[0]).group_id
    assert group_id
    covered = [r.report_id for r in reports if decisions(triage, r.report_id)[-1].paged_with_group]
    review(triage).split(SUPERVISOR, group_id, covered[:2], "two different incidents, one household")
    for incident_id in covered[:2]:
        last = decisions(triage, incident_id)[-1]
        assert (last.group_id, last.paged_with_group) == (None, False) and last.ack_deadline is not None
    view = review(triage).view(SUPERVISOR, group_id)
    assert view["size"] == 8 and covered[0] not in [m["incident_id"] for m in view["members"]]


def test_splitting_out_the_member_with_the_page_hands_it_to_the_next(triage: Triage) -> None:
    reports = flood(count=10)
    triage_all(triage, reports)
    [pager] = paged(triage, reports)
    group_id = incident(triage, reports[0]).group_id
    assert group_id
    review(triage).split(SUPERVISOR, group_id, [pager], "a real report inside the flood")
    view = review(triage).view(SUPERVISOR, group_id)
    assert view["paged_by"] not in (None, pager)
    assert not decisions(triage, view["paged_by"])[-1].paged_with_group


def test_a_supervisor_confirms_a_group_once_and_only_a_supervisor_may(triage: Triage) -> None:
    reports = flood(count=5)
    triage_all(triage, reports)
    group_id = incident(triage, reports[0]).group_id
    assert group_id
    officer = Staff("u-ted", "ted", "Ted", frozenset({"triage_officer", "duty_inspector"}))
    with pytest.raises(NotPermitted):
        review(triage).confirm(officer, group_id, "spam")
    review(triage).confirm(SUPERVISOR, group_id, "one person's junk from one address")
    assert review(triage).view(SUPERVISOR, group_id)["state"] == "confirmed"
    with pytest.raises(AlreadyDone):
        review(triage).confirm(SUPERVISOR, group_id, "again")


def test_the_group_is_an_event_stream(triage: Triage) -> None:
    reports = flood(count=5)
    triage_all(triage, reports)
    group_id = incident(triage, reports[0]).group_id
    assert group_id
    with triage.db.sessions() as s:
        kinds = [type(env.event()) for env in triage.store.load(s, group_id)]
    assert kinds == [IncidentGroupFormed] + [IncidentGroupMemberAttached] * 4


def test_a_flood_read_late_after_an_outage_is_still_one_group(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'late.db'}"
    upgrade("triage", url)
    late = build(VigilSettings(), TriageSettings(database_url=url), MovableClock(NOW + timedelta(hours=3)))
    reports = flood(count=20)
    triage_all(late, [*reports[10:], *reports[:10]])  # and out of order, as six partitions may deliver them
    assert len({late.workflow.get(r.report_id).group_id for r in reports}) == 1
    assert len(paged(late, reports)) == 1
    late.db.dispose()


def test_a_group_read_again_folds_only_what_is_new_and_forgets_what_was_rolled_back(triage: Triage) -> None:
    reports = flood(count=5)
    triage_all(triage, reports)
    group_id = incident(triage, reports[0]).group_id
    assert group_id
    groups = triage.decisions.grouping.groups

    class RolledBack(Exception):
        pass

    with pytest.raises(RolledBack), triage.db.transaction() as s:
        group = groups.get(s, group_id)
        assert group is not None
        group.attach("r-never", pages=False, now=NOW)
        groups.save(s, group)
        assert "r-never" in (groups.get(s, group_id) or group).members, "seen inside its own transaction"
        raise RolledBack
    triage_all(triage, flood(count=1, first=6))
    with triage.db.sessions() as s:
        again = groups.get(s, group_id)
    assert again is not None and "r-never" not in again.members and len(again.members) == 6
