"""The fold: facts per report and incident, erasure, and the same bytes in any interleaving."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.assessment.projection import (
    Fact,
    MemoryState,
    Snapshot,
    canonical,
    fold_all,
    merge,
    snapshot_document,
    snapshot_from_bytes,
)
from services.assessment.rebuild import projection_bytes
from shared.areas import default_registry
from shared.events.base import upcaster
from shared.events.incidents import DutyInspectorAssigned, IncidentRegraded, IncidentTriaged
from shared.events.reports import ReportAmended, ReportErased, ReportSubmitted, ReportWithdrawn

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MET, GMP = "E23000001", "E23000005"


def submitted(n: int, area: str = MET, place: str = "place_of_worship", types: tuple[str, ...] = ("graffiti",),
              at: datetime | None = None) -> Fact:
    at = at or T0 + timedelta(hours=n)
    event = ReportSubmitted.model_validate({
        "report_id": f"r{n:04d}", "reference": f"REF{n:04d}", "submitted_at": at.isoformat(), "channel": "web",
        "reporter": {"role": "witness", "anonymous": True}, "consent": {},
        "incident": {"occurred_at": (at - timedelta(hours=1)).isoformat(), "types": list(types),
                     "targeted_characteristics": ["religion"], "religion_targeted": "muslim",
                     "location": {"area": area, "place_type": place}},
        "grading": {"source": "2", "intelligence": "A", "handling": "P"},
        "fingerprints": {"place": f"fp{n % 3}"}})
    return Fact(event.TYPE, f"r{n:04d}", 1, at, event.model_dump(mode="json"))


def amended(n: int, seq: int, area: str, at: datetime) -> Fact:
    original = submitted(n).data["incident"]
    incident: dict[str, Any] = {**original, "location": {"area": area, "place_type": "street"},
                                "types": ["physical_assault"], "injuries": "minor"}
    event = ReportAmended.model_validate({"report_id": f"r{n:04d}", "amended_at": at.isoformat(),
                                          "incident": incident})
    return Fact(event.TYPE, f"r{n:04d}", seq, at, event.model_dump(mode="json"))


def erased(n: int, seq: int, at: datetime) -> Fact:
    event = ReportErased(report_id=f"r{n:04d}", erased_at=at, requested_by="data-protection")
    return Fact(event.TYPE, f"r{n:04d}", seq, at, event.model_dump(mode="json"))


def withdrawn(n: int, seq: int, at: datetime) -> Fact:
    event = ReportWithdrawn(report_id=f"r{n:04d}", withdrawn_at=at)
    return Fact(event.TYPE, f"r{n:04d}", seq, at, event.model_dump(mode="json"))


def triaged(n: int, at: datetime, critical: bool = True) -> Fact:
    event = IncidentTriaged.model_validate({
        "incident_id": f"i{n:04d}", "report_id": f"r{n:04d}", "reference": f"REF{n:04d}", "area": MET,
        "triaged_at": at.isoformat(), "matched": [{"code": "place_of_worship", "explanation": "x"}],
        "critical": critical, "needs_duty_inspector": critical, "priority": "P2", "ack_deadline": None,
        "ruleset_version": "1"})
    return Fact(event.TYPE, f"r{n:04d}", 1, at, event.model_dump(mode="json"))


def regraded(n: int, seq: int, at: datetime, code: str) -> Fact:
    event = IncidentRegraded.model_validate({
        "incident_id": f"i{n:04d}", "area": MET, "previous": None, "reason": "the source is known to the force",
        "grading": {"source": code[0], "intelligence": code[1], "handling": code[2]}, "regraded_by": "sup",
        "regraded_at": at.isoformat()})
    return Fact(event.TYPE, f"r{n:04d}", seq, at, event.model_dump(mode="json"))


def history() -> list[list[Fact]]:
    """Per-key streams: each inner list is one key's events in order (what a partition guarantees)."""
    streams = [[submitted(n)] for n in range(12)]
    streams[1].append(amended(1, 2, GMP, T0 + timedelta(hours=30)))
    streams[2] += [erased(2, 2, T0 + timedelta(hours=31))]
    streams[3].append(withdrawn(3, 2, T0 + timedelta(hours=32)))
    streams += [[triaged(n, T0 + timedelta(hours=n, minutes=5))] for n in (2, 4, 5)]
    streams[-2] += [regraded(4, 2, T0 + timedelta(hours=6), "3DC"), regraded(4, 3, T0 + timedelta(hours=7), "1BP")]
    streams[-1].append(regraded(5, 2, T0 + timedelta(hours=8), "2AC"))
    return streams


def interleave(streams: list[list[Fact]], rng: random.Random) -> list[Fact]:
    queues = [list(s) for s in streams]
    out = []
    while any(queues):
        q = rng.choice([q for q in queues if q])
        out.append(q.pop(0))
    return out


def test_amendment_moves_a_report_and_replaces_its_facts() -> None:
    state = fold_all([submitted(1), amended(1, 2, GMP, T0 + timedelta(hours=3))], default_registry())
    facts = state.reports["r0001"]
    assert (facts.area, facts.types, facts.place_type, facts.injuries) == (GMP, ("physical_assault",), "street",
                                                                             "minor")
    assert facts.place_fp is None and facts.sequence == 2


def test_erasure_drops_the_report_and_its_incident_whichever_arrives_first() -> None:
    registry = default_registry()
    a = fold_all([submitted(2), triaged(2, T0), erased(2, 2, T0 + timedelta(hours=5))], registry)
    b = fold_all([submitted(2), erased(2, 2, T0 + timedelta(hours=5)), triaged(2, T0)], registry)
    for state in (a, b):
        assert state.reports == {} and state.incidents == {} and list(state.erasures) == ["r0002"]
    assert projection_bytes(Snapshot.of(a), registry) == projection_bytes(Snapshot.of(b), registry)


def test_erased_report_leaves_no_trace_in_any_area_figure() -> None:
    registry = default_registry()
    kept = fold_all([submitted(1)], registry)
    gone = fold_all([submitted(1), submitted(2), triaged(2, T0), erased(2, 2, T0 + timedelta(hours=2))], registry)
    gone.watermark = kept.watermark = T0 + timedelta(hours=3)
    kept_doc = json.loads(projection_bytes(Snapshot.of(kept), registry))
    gone_doc = json.loads(projection_bytes(Snapshot.of(gone), registry))
    assert gone_doc["areas"] == kept_doc["areas"] and gone_doc["reports"] == kept_doc["reports"]
    assert gone_doc["incidents"] == [] and gone_doc["erasures"] == [["r0002", "2026-03-02T11:00:00+00:00"]]


def test_a_regrade_gives_the_report_its_grading_now_whichever_arrives_first() -> None:
    registry = default_registry()
    orders = ([submitted(5), triaged(5, T0), regraded(5, 2, T0 + timedelta(hours=1), "2AC")],
              [triaged(5, T0), regraded(5, 2, T0 + timedelta(hours=1), "2AC"), submitted(5)],
              [triaged(5, T0), submitted(5), regraded(5, 2, T0 + timedelta(hours=1), "2AC")])
    states = [fold_all(order, registry) for order in orders]
    for state in states:
        assert state.reports["r0005"].grading == "2AC"
        assert (state.incidents["i0005"].regraded, state.incidents["i0005"].regraded_at) == (
            "2AC", T0 + timedelta(hours=1))
    assert len({projection_bytes(Snapshot.of(s), registry) for s in states}) == 1


def test_the_latest_regrade_wins_and_a_re_applied_older_one_changes_nothing() -> None:
    registry = default_registry()
    first, second = regraded(5, 2, T0 + timedelta(hours=1), "3DC"), regraded(5, 3, T0 + timedelta(hours=2), "1BP")
    once = fold_all([submitted(5), triaged(5, T0), first, second], registry)
    again = fold_all([submitted(5), triaged(5, T0), first, second, first, second], registry)
    assert once.reports["r0005"].grading == "1BP"
    assert Snapshot.of(once) == Snapshot.of(again)
    retriaged = fold_all([submitted(5), triaged(5, T0), second, triaged(5, T0 + timedelta(hours=3))], registry)
    assert retriaged.reports["r0005"].grading == "1BP" and retriaged.incidents["i0005"].regraded == "1BP"


def test_an_erased_report_is_not_brought_back_by_a_late_regrade() -> None:
    state = fold_all([submitted(5), triaged(5, T0), erased(5, 2, T0 + timedelta(hours=1)),
                      regraded(5, 2, T0 + timedelta(hours=2), "2AC")], default_registry())
    assert state.reports == {} and state.incidents == {}


def test_a_snapshot_written_before_regrades_were_kept_still_loads() -> None:
    snap = Snapshot.of(fold_all([submitted(5), triaged(5, T0)], default_registry()))
    doc = json.loads(canonical(snapshot_document(snap)))
    for incident in doc["incidents"]:
        del incident["regraded"], incident["regraded_at"]
    assert snapshot_from_bytes(canonical(doc)) == snap


def test_redelivered_older_event_changes_nothing() -> None:
    registry = default_registry()
    once = fold_all([submitted(1), amended(1, 2, GMP, T0 + timedelta(hours=3))], registry)
    twice = fold_all([submitted(1), amended(1, 2, GMP, T0 + timedelta(hours=3)), submitted(1)], registry)
    assert Snapshot.of(once) == Snapshot.of(twice)


def test_unknown_area_is_kept_as_given_and_reported_not_guessed() -> None:
    registry = default_registry()
    state = fold_all([submitted(1, area="X99999999")], registry)
    doc = projection_bytes(Snapshot.of(state), registry)
    assert b'"unknown_areas":{"X99999999":1}' in doc


def test_snapshot_round_trips_to_the_same_state() -> None:
    registry = default_registry()
    state = fold_all([f for s in history() for f in s], registry)
    snap = Snapshot.of(state)
    assert snapshot_from_bytes(canonical(snapshot_document(snap))) == snap
    assert isinstance(snap.restore(), MemoryState) and Snapshot.of(snap.restore()) == snap


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=2**32))
def test_any_interleaving_across_keys_gives_the_same_bytes(seed: int) -> None:
    registry = default_registry()
    reference = projection_bytes(Snapshot.of(fold_all([f for s in history() for f in s], registry)), registry)
    shuffled = interleave(history(), random.Random(seed))
    assert projection_bytes(Snapshot.of(fold_all(shuffled, registry)), registry) == reference


def test_states_folded_from_separate_partitions_merge_into_the_state_of_one_fold() -> None:
    registry = default_registry()
    streams = history()
    reports = [s for s in streams if s[0].type.startswith("vigil.report.")]
    incidents = [s for s in streams if s[0].type.startswith("vigil.incident.")]
    # the erasure of r0002 in one share, its incident in the other: the merge must still drop it
    shares = [reports[::2] + incidents[1:], reports[1::2] + incidents[:1]]
    merged = merge(fold_all([f for s in share for f in s], registry) for share in shares)
    whole = fold_all([f for s in streams for f in s], registry)
    assert merged.reports["r0005"].grading == whole.reports["r0005"].grading == "2AC", "a regrade across shares"
    assert projection_bytes(Snapshot.of(merged), registry) == projection_bytes(Snapshot.of(whole), registry)


def test_an_older_version_of_an_event_is_folded_through_its_upcaster() -> None:
    @upcaster("vigil.report.revoked.v0", ReportWithdrawn.TYPE)
    def _v0(data: dict[str, Any]) -> dict[str, Any]:
        return {"report_id": data["id"], "withdrawn_at": data["at"]}

    old = Fact("vigil.report.revoked.v0", "r0001", 2, T0 + timedelta(hours=4),
               {"id": "r0001", "at": (T0 + timedelta(hours=4)).isoformat()})
    state = fold_all([submitted(1), old], default_registry())
    assert state.reports["r0001"].withdrawn and state.reports["r0001"].updated_at == T0 + timedelta(hours=4)


def test_an_event_the_fold_does_not_hold_facts_of_only_moves_the_watermark() -> None:
    registry = default_registry()
    assigned = DutyInspectorAssigned(incident_id="i0001", area=MET, duty_inspector="di", assigned_by="sup",
                                     assigned_at=T0 + timedelta(hours=9))
    state = fold_all([submitted(1), triaged(1, T0 + timedelta(hours=2)),
                      Fact(assigned.TYPE, "r0001", 1, T0 + timedelta(hours=9), assigned.model_dump(mode="json"))],
                     registry)
    before = fold_all([submitted(1), triaged(1, T0 + timedelta(hours=2))], registry)
    assert state.incidents == before.incidents and state.reports == before.reports
    assert state.watermark == T0 + timedelta(hours=9)
