"""The per-area projection as a pure fold: events in, per-report and per-incident facts out.

The fold keeps the *facts* each event established (the latest version of every report, every
incident, every heightened-tension period, the ids of erased reports) and nothing derived from
the order they arrived in. Everything an analyst sees (counts, scores, spikes, risk levels) is
computed from those facts as of a moment (``services.assessment.scoring``), so the same events
in any interleaving across partitions give the same state, and the same bytes from ``dump``.

Per-key order is Kafka's promise (one report's events share a partition); across keys anything
may come first, so the fold is written to commute across keys:

- an erasure is sticky and wins in either order against the report's incidents;
- a report's facts come from its highest-sequence event;
- a regrade is kept on the incident (the latest `regraded_at` wins) and laid over the report's own grading
  whichever of the two arrives first, so `ReportFacts.grading` is always the grading now;
- the watermark (latest event time seen) is a maximum.

The same fold runs over two stores: ``MemoryState`` (the rebuild and the tests) and the live
worker's database tables (``services.assessment.worker``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

import orjson

from services.assessment.facts import Fact, maybe_when, when
from services.assessment.sites.facts import LinkFacts, OutcomeFacts, SiteFacts, SiteStore
from services.assessment.sites.fold import site_handlers
from shared.areas import AreaRegistry
from shared.events.base import Event, canonical_json, decode, upcast_type
from shared.events.incidents import (
    CriteriaOverridden,
    HeightenedTensionDeclared,
    HeightenedTensionLifted,
    IncidentAcknowledged,
    IncidentClosed,
    IncidentEscalated,
    IncidentRegraded,
    IncidentTriaged,
)
from shared.events.reports import PlaceType, ReportAmended, ReportErased, ReportSubmitted, ReportWithdrawn


@dataclass(frozen=True, slots=True)
class ReportFacts:
    report_id: str
    reference: str
    area: str
    district: str | None
    occurred_at: datetime
    submitted_at: datetime
    updated_at: datetime
    sequence: int
    types: tuple[str, ...]
    strands: tuple[str, ...]
    religion: str | None
    place_type: str
    place_fp: str | None       # keyed hash; kept only for places of worship, to count distinct ones
    injuries: str
    weapon: bool
    ongoing: bool
    vulnerable: bool
    repeat: bool
    grading: str               # 3x5x2 code, e.g. "2AP"
    channel: str
    role: str
    withdrawn: bool = False


@dataclass(frozen=True, slots=True)
class IncidentFacts:
    incident_id: str
    report_id: str
    area: str
    priority: str
    critical: bool
    status: str                # open | acknowledged | closed
    triaged_at: datetime
    updated_at: datetime
    matched: tuple[str, ...]
    escalation_level: int = 0
    regraded: str | None = None          # the 3x5x2 code triage staff last regraded the report to (#15)
    regraded_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TensionFacts:
    tension_id: str
    area: str                  # an area code or "national"
    starts_at: datetime
    ends_at: datetime | None
    declared_at: datetime
    lifted_at: datetime | None = None

    def active(self, when: datetime) -> bool:
        if self.lifted_at is not None and self.lifted_at <= when:
            return False
        return self.starts_at <= when and (self.ends_at is None or when < self.ends_at)


class Store(SiteStore, Protocol):
    def report(self, report_id: str) -> ReportFacts | None: ...
    def put_report(self, facts: ReportFacts) -> None: ...
    def drop_report(self, report_id: str) -> None: ...
    def erased(self, report_id: str) -> bool: ...
    def mark_erased(self, report_id: str, at: datetime) -> None: ...
    def incident(self, incident_id: str) -> IncidentFacts | None: ...
    def incidents_of(self, report_id: str) -> list[IncidentFacts]: ...
    def put_incident(self, facts: IncidentFacts) -> None: ...
    def drop_incident(self, incident_id: str) -> None: ...
    def tension(self, tension_id: str) -> TensionFacts | None: ...
    def put_tension(self, facts: TensionFacts) -> None: ...
    def see(self, when: datetime) -> None: ...


PLACE_OF_WORSHIP = PlaceType.place_of_worship.value
# (store, the event's data in its current shape, the fact) -> the areas whose picture the event changed
FoldHandler = Callable[[Store, Mapping[str, Any], Fact], set[str]]


class Fold:
    """Applies one event to a store; answers the areas whose picture it changed.

    Handlers are keyed by event class; a stored type is resolved through the upcasters once. They read
    the event's data as stored rather than as its model: validating every event into its pydantic model
    would cost a rebuild about as much again as the rest of the fold. An older version of a type is
    decoded through its upcasters and read in the current shape.
    """

    def __init__(self, registry: AreaRegistry) -> None:
        self.registry = registry
        handlers: dict[type[Event], FoldHandler] = {
            ReportSubmitted: self._submitted, ReportAmended: self._amended, ReportWithdrawn: self._withdrawn,
            ReportErased: self._erased, IncidentTriaged: self._triaged, IncidentAcknowledged: self._acknowledged,
            IncidentEscalated: self._escalated, CriteriaOverridden: self._overridden, IncidentClosed: self._closed,
            IncidentRegraded: _regraded, HeightenedTensionDeclared: self._declared,
            HeightenedTensionLifted: self._lifted}
        handlers.update(site_handlers())
        self._by_class = {cls.TYPE: handler for cls, handler in handlers.items()}
        self._by_stored_type: dict[str, tuple[FoldHandler, bool] | None] = {}

    def apply(self, store: Store, fact: Fact) -> set[str]:
        """Every step is idempotent (a sequence check, a sticky flag, a maximum), so re-applying is harmless.

        The watermark moves only after the event was applied: an event that fails here (and goes to
        the dead-letter topic in the live worker) leaves no mark in either the live state or a rebuild.
        """
        route = self._route(fact.type)
        areas: set[str] = set()
        if route is not None:
            handler, older = route
            areas = handler(store, decode(fact.type, fact.data).model_dump(mode="json") if older else fact.data,
                            fact)
        store.see(fact.time)
        return areas

    def _route(self, type_name: str) -> tuple[FoldHandler, bool] | None:
        """The handler for a stored type, and whether the type is an older version; remembered, as a rebuild
        asks a million times."""
        try:
            return self._by_stored_type[type_name]
        except KeyError:
            current = upcast_type(type_name)
            handler = self._by_class.get(current)
            route = self._by_stored_type[type_name] = (handler, current != type_name) if handler else None
            return route

    @staticmethod
    def report_id(fact: Fact) -> str:
        """The report an event is about: its own field where it has one, else its key (events are keyed by report)."""
        return str(fact.data.get("report_id") or fact.key)

    # reports -------------------------------------------------------------------------------

    def _submitted(self, store: Store, d: Mapping[str, Any], fact: Fact) -> set[str]:
        report_id = str(d.get("report_id") or fact.key)
        if store.erased(report_id):
            return set()
        current = store.report(report_id)
        if current is not None and current.sequence >= fact.sequence:
            return set()  # a redelivery of something older than what we hold
        return self._put_report(store, current, regraded(self.report_facts(d, fact), store.incidents_of(report_id)))

    def _amended(self, store: Store, d: Mapping[str, Any], fact: Fact) -> set[str]:
        current = self._followed_up(store, str(d.get("report_id") or fact.key), fact)
        if current is None:
            return set()
        return self._put_report(store, current, self._amend(current, d, fact))

    def _withdrawn(self, store: Store, d: Mapping[str, Any], fact: Fact) -> set[str]:
        current = self._followed_up(store, str(d.get("report_id") or fact.key), fact)
        if current is None:
            return set()
        withdrawn = replace(current, withdrawn=True, sequence=fact.sequence,
                            updated_at=when(d.get("withdrawn_at") or fact.time))
        return self._put_report(store, current, withdrawn)

    @staticmethod
    def _followed_up(store: Store, report_id: str, fact: Fact) -> ReportFacts | None:
        """The report a follow-up changes; None if erased, never held (or from before retention), or newer."""
        if store.erased(report_id):
            return None
        current = store.report(report_id)
        if current is None or current.sequence >= fact.sequence:
            return None
        return current

    @staticmethod
    def _put_report(store: Store, current: ReportFacts | None, facts: ReportFacts) -> set[str]:
        store.put_report(facts)
        return {a for a in (current.area if current else None, facts.area) if a}

    def _erased(self, store: Store, d: Mapping[str, Any], fact: Fact) -> set[str]:
        report_id, at = str(d.get("report_id") or fact.key), when(d.get("erased_at") or fact.time)
        areas: set[str] = set()
        current = store.report(report_id)
        if current is not None:
            areas.add(current.area)
            store.drop_report(report_id)
        for incident in store.incidents_of(report_id):
            areas.add(incident.area)
            store.drop_incident(incident.incident_id)
        if not store.erased(report_id):
            store.mark_erased(report_id, at)
        return areas

    def _area(self, code: str) -> tuple[str, str | None]:
        """A district collapses to its force; an unknown code is kept as given and reported, never guessed."""
        force = self.registry.area_of(code)
        if force is None:
            return code, None
        return force, (code if code != force else None)

    def report_facts(self, d: Mapping[str, Any], fact: Fact) -> ReportFacts:
        incident = d["incident"]
        location = incident["location"]
        area, district = self._area(str(location["area"]))
        grading = d.get("grading") or {}
        submitted = when(d.get("submitted_at") or fact.time)
        types, strands, religion, place_type, place_fp, injuries, weapon, ongoing, vulnerable, repeat = (
            self._incident_fields(incident, (d.get("fingerprints") or {}).get("place")))
        return ReportFacts(
            str(d.get("report_id") or fact.key), str(d.get("reference", "")), area,
            location.get("district") or district, min(when(incident["occurred_at"]), submitted), submitted,
            submitted, fact.sequence, types, strands, religion, place_type, place_fp, injuries, weapon, ongoing,
            vulnerable, repeat,
            f"{grading.get('source', '2')}{grading.get('intelligence', 'C')}{grading.get('handling', 'C')}",
            str(d.get("channel", "")), str((d.get("reporter") or {}).get("role", "")))

    @staticmethod
    def _incident_fields(incident: Mapping[str, Any], place_fp: str | None) -> tuple[Any, ...]:
        """types .. repeat, in ReportFacts' field order."""
        place_type = str(incident["location"].get("place_type", "other"))
        return (tuple(sorted(set(incident.get("types") or ["other"]))),
                tuple(sorted(set(incident.get("targeted_characteristics") or ["other"]))),
                incident.get("religion_targeted"), place_type,
                place_fp if place_type == PLACE_OF_WORSHIP else None,
                str(incident.get("injuries") or "none"), bool(incident.get("weapon")), bool(incident.get("ongoing")),
                bool(incident.get("vulnerabilities")), bool(incident.get("repeat")))

    def _amend(self, current: ReportFacts, d: Mapping[str, Any], fact: Fact) -> ReportFacts:
        updated = when(d.get("amended_at") or fact.time)
        incident = d.get("incident")
        if not incident:
            return replace(current, sequence=fact.sequence, updated_at=updated)
        area, district = self._area(str(incident["location"]["area"]))
        place_fp = (d.get("fingerprints") or {}).get("place") or current.place_fp
        names = ("types", "strands", "religion", "place_type", "place_fp", "injuries", "weapon", "ongoing",
                 "vulnerable", "repeat")
        changes = dict(zip(names, self._incident_fields(incident, place_fp), strict=True))
        return replace(current, area=area, district=incident["location"].get("district") or district,
                       occurred_at=min(when(incident["occurred_at"]), current.submitted_at),
                       sequence=fact.sequence, updated_at=updated, **changes)

    # incidents -----------------------------------------------------------------------------

    def _triaged(self, store: Store, d: Mapping[str, Any], fact: Fact) -> set[str]:
        report_id = str(d.get("report_id") or fact.key)
        if store.erased(report_id):
            return set()
        incident_id = str(d["incident_id"])
        current = store.incident(incident_id)
        at = when(d.get("triaged_at") or fact.time)
        area, _ = self._area(str(d.get("area", "")))
        facts = IncidentFacts(
            incident_id=incident_id, report_id=report_id, area=area, priority=str(d.get("priority", "P4")),
            critical=bool(d.get("critical")), status=current.status if current else "open",
            triaged_at=current.triaged_at if current else at, updated_at=max(at, current.updated_at) if current else at,
            matched=tuple(sorted(str(m.get("code")) for m in d.get("matched") or [] if isinstance(m, Mapping))),
            escalation_level=current.escalation_level if current else 0,
            regraded=current.regraded if current else None, regraded_at=current.regraded_at if current else None,
        )
        store.put_incident(facts)
        return {area} | ({current.area} if current else set())

    @staticmethod
    def _decided(store: Store, d: Mapping[str, Any]) -> IncidentFacts | None:
        """The incident a later decision is about; None if it was never held (or was erased)."""
        return store.incident(str(d.get("incident_id", "")))

    @staticmethod
    def _put_incident(store: Store, facts: IncidentFacts) -> set[str]:
        store.put_incident(facts)
        return {facts.area}

    def _acknowledged(self, store: Store, d: Mapping[str, Any], fact: Fact) -> set[str]:
        current = self._decided(store, d)
        if current is None:
            return set()
        at = when(d.get("acknowledged_at") or fact.time)
        if current.status != "open":
            return set()
        return self._put_incident(store, replace(current, status="acknowledged", updated_at=at))

    def _escalated(self, store: Store, d: Mapping[str, Any], fact: Fact) -> set[str]:
        current = self._decided(store, d)
        if current is None:
            return set()
        at = max(when(d.get("escalated_at") or fact.time), current.updated_at)
        level = max(current.escalation_level, int(d.get("level") or 1))  # a max: re-applying is harmless
        return self._put_incident(store, replace(current, escalation_level=level, updated_at=at,
                                                 priority=str(d.get("priority") or current.priority)))

    def _overridden(self, store: Store, d: Mapping[str, Any], fact: Fact) -> set[str]:
        current = self._decided(store, d)
        if current is None:
            return set()
        at = when(d.get("overridden_at") or fact.time)
        return self._put_incident(store, replace(current, priority=str(d.get("priority") or current.priority),
                                                 updated_at=at,
                                                 critical=bool(d.get("needs_duty_inspector", current.critical))))

    def _closed(self, store: Store, d: Mapping[str, Any], fact: Fact) -> set[str]:
        current = self._decided(store, d)
        if current is None:
            return set()
        at = when(d.get("closed_at") or fact.time)
        return self._put_incident(store, replace(current, status="closed", updated_at=at))

    # heightened tension ----------------------------------------------------------------------

    def _declared(self, store: Store, d: Mapping[str, Any], fact: Fact) -> set[str]:
        tension_id, area = str(d.get("tension_id") or fact.key), str(d.get("area") or fact.key)
        current = store.tension(tension_id)
        declared = when(d.get("declared_at") or fact.time)
        store.put_tension(TensionFacts(tension_id, area, when(d.get("starts_at") or declared),
                                       maybe_when(d.get("ends_at")), declared, current.lifted_at if current else None))
        return {area}

    def _lifted(self, store: Store, d: Mapping[str, Any], fact: Fact) -> set[str]:
        tension_id, area = str(d.get("tension_id") or fact.key), str(d.get("area") or fact.key)
        lifted = when(d.get("lifted_at") or fact.time)
        base = store.tension(tension_id) or TensionFacts(tension_id, area, lifted, None, lifted)
        store.put_tension(replace(base, lifted_at=lifted))
        return {area}


def _regraded(store: Store, d: Mapping[str, Any], fact: Fact) -> set[str]:
    """The grading now: kept on the incident (a maximum of `regraded_at`, so re-applying or a late older regrade
    changes nothing) and laid over the report's facts, which the partner feed and the analysts read."""
    incident_id, report_id = str(d.get("incident_id") or fact.key), str(d.get("report_id") or fact.key)
    if store.erased(report_id):
        return set()
    g = d.get("grading") or {}
    code = f"{g.get('source', '2')}{g.get('intelligence', 'C')}{g.get('handling', 'C')}"
    at = when(d.get("regraded_at") or fact.time)
    areas: set[str] = set()
    current = store.incident(incident_id)
    if current is not None:
        if current.regraded_at is not None and current.regraded_at > at:
            return set()
        store.put_incident(replace(current, regraded=code, regraded_at=at))
        areas.add(current.area)
        report_id = current.report_id
    report = store.report(report_id)
    if report is not None and report.grading != code:
        store.put_report(replace(report, grading=code))
        areas.add(report.area)
    return areas


def regraded(report: ReportFacts, incidents: Iterable[IncidentFacts]) -> ReportFacts:
    """The report with the grading its latest regrade gave it, if staff regraded it."""
    latest = max((i for i in incidents if i.regraded and i.regraded_at), default=None,
                 key=lambda i: (i.regraded_at, i.incident_id))
    return replace(report, grading=latest.regraded) if latest is not None and latest.regraded else report


class MemoryState:
    """The fold's state in dictionaries: the rebuild, snapshots and unit tests use it."""

    def __init__(self) -> None:
        self.reports: dict[str, ReportFacts] = {}
        self.erasures: dict[str, datetime] = {}
        self.incidents: dict[str, IncidentFacts] = {}
        self.by_report: dict[str, set[str]] = {}
        self.tensions: dict[str, TensionFacts] = {}
        self.sites: dict[str, SiteFacts] = {}
        self.outcomes: dict[str, OutcomeFacts] = {}
        self.links: dict[tuple[str, str], LinkFacts] = {}
        self.watermark: datetime | None = None

    def report(self, report_id: str) -> ReportFacts | None:
        return self.reports.get(report_id)

    def put_report(self, facts: ReportFacts) -> None:
        self.reports[facts.report_id] = facts

    def drop_report(self, report_id: str) -> None:
        self.reports.pop(report_id, None)

    def erased(self, report_id: str) -> bool:
        return report_id in self.erasures

    def mark_erased(self, report_id: str, at: datetime) -> None:
        self.erasures[report_id] = at

    def incident(self, incident_id: str) -> IncidentFacts | None:
        return self.incidents.get(incident_id)

    def incidents_of(self, report_id: str) -> list[IncidentFacts]:
        return [self.incidents[i] for i in sorted(self.by_report.get(report_id, ())) if i in self.incidents]

    def put_incident(self, facts: IncidentFacts) -> None:
        self.incidents[facts.incident_id] = facts
        self.by_report.setdefault(facts.report_id, set()).add(facts.incident_id)

    def drop_incident(self, incident_id: str) -> None:
        facts = self.incidents.pop(incident_id, None)
        if facts is not None:
            self.by_report.get(facts.report_id, set()).discard(incident_id)

    def tension(self, tension_id: str) -> TensionFacts | None:
        return self.tensions.get(tension_id)

    def put_tension(self, facts: TensionFacts) -> None:
        self.tensions[facts.tension_id] = facts

    def site(self, site_id: str) -> SiteFacts | None:
        return self.sites.get(site_id)

    def put_site(self, facts: SiteFacts) -> None:
        self.sites[facts.site_id] = facts

    def outcome(self, outcome_id: str) -> OutcomeFacts | None:
        return self.outcomes.get(outcome_id)

    def put_outcome(self, facts: OutcomeFacts) -> None:
        self.outcomes[facts.outcome_id] = facts

    def put_link(self, facts: LinkFacts) -> None:
        self.links[(facts.site_id, facts.report_id)] = facts

    def see(self, when: datetime) -> None:
        if self.watermark is None or when > self.watermark:
            self.watermark = when


@dataclass(frozen=True)
class Snapshot:
    """Everything the fold holds, as plain sorted lists: what dumps, snapshots and the database agree on."""

    reports: list[ReportFacts]
    erasures: list[tuple[str, datetime]]
    incidents: list[IncidentFacts]
    tensions: list[TensionFacts]
    watermark: datetime | None
    sites: list[SiteFacts] = field(default_factory=list)
    outcomes: list[OutcomeFacts] = field(default_factory=list)
    links: list[LinkFacts] = field(default_factory=list)

    @classmethod
    def of(cls, state: MemoryState) -> Snapshot:
        return cls(reports=sorted(state.reports.values(), key=lambda r: r.report_id),
                   erasures=sorted(state.erasures.items()),
                   incidents=sorted(state.incidents.values(), key=lambda i: i.incident_id),
                   tensions=sorted(state.tensions.values(), key=lambda t: t.tension_id),
                   watermark=state.watermark, sites=sorted(state.sites.values(), key=lambda x: x.site_id),
                   outcomes=sorted(state.outcomes.values(), key=lambda o: o.outcome_id),
                   links=[state.links[k] for k in sorted(state.links)])

    def restore(self) -> MemoryState:
        state = MemoryState()
        for r in self.reports:
            state.put_report(r)
        for report_id, at in self.erasures:
            state.mark_erased(report_id, at)
        for i in self.incidents:
            state.put_incident(i)
        for t in self.tensions:
            state.put_tension(t)
        for site in self.sites:
            state.put_site(site)
        for o in self.outcomes:
            state.put_outcome(o)
        for link in self.links:
            state.put_link(link)
        state.watermark = self.watermark
        return state


def snapshot_document(snap: Snapshot) -> dict[str, Any]:
    """The facts as a document for `canonical`: orjson writes the dataclasses and datetimes in C, which is
    what makes a snapshot of a million reports take seconds rather than minutes."""
    return {"reports": snap.reports, "erasures": snap.erasures, "incidents": snap.incidents,
            "tensions": snap.tensions, "watermark": snap.watermark, "sites": snap.sites,
            "site_outcomes": snap.outcomes, "site_links": snap.links}


def _times(row: dict[str, Any], names: tuple[str, ...], lists: tuple[str, ...]) -> dict[str, Any]:
    for n in names:
        if n in row:  # a snapshot written before a field was added lacks it: the field's default stands
            row[n] = maybe_when(row[n])
    for n in lists:
        row[n] = tuple(row[n])
    return row


def snapshot_from_bytes(body: bytes) -> Snapshot:
    doc = orjson.loads(body)
    reports = [ReportFacts(**_times(r, ("occurred_at", "submitted_at", "updated_at"), ("types", "strands")))
               for r in doc["reports"]]
    incidents = [IncidentFacts(**_times(i, ("triaged_at", "updated_at", "regraded_at"), ("matched",)))
                 for i in doc["incidents"]]
    tensions = [TensionFacts(**_times(t, ("starts_at", "ends_at", "declared_at", "lifted_at"), ()))
                for t in doc["tensions"]]
    sites = [SiteFacts(**_times(x, ("registered_at", "updated_at"), ())) for x in doc.get("sites", [])]
    outcomes = [OutcomeFacts(**_times(o, ("performed_at", "recorded_at", "resolved_at"), ()))
                for o in doc.get("site_outcomes", [])]
    links = [LinkFacts(**_times(link, ("decided_at",), ())) for link in doc.get("site_links", [])]
    return Snapshot(reports, [(e[0], when(e[1])) for e in doc["erasures"]], incidents, tensions,
                    maybe_when(doc.get("watermark")), sites, outcomes, links)


def merge(states: Iterable[MemoryState]) -> MemoryState:
    """Union of states folded from disjoint partitions. One key never spans two partitions of a topic, so
    the cross-share effects are an erasure in one share of an incident triaged in another, and a regrade in one
    share of a report submitted in another: both applied here."""
    merged = MemoryState()
    for state in states:
        for r in state.reports.values():
            held = merged.reports.get(r.report_id)
            if held is None or r.sequence > held.sequence:
                merged.reports[r.report_id] = r
        merged.erasures.update(state.erasures)
        for i in state.incidents.values():
            merged.put_incident(i)
        for t in state.tensions.values():
            held_t = merged.tensions.get(t.tension_id)
            if held_t is None or (t.lifted_at or t.declared_at) > (held_t.lifted_at or held_t.declared_at):
                merged.tensions[t.tension_id] = t
        _merge_sites(merged, state)
        if state.watermark is not None:
            merged.see(state.watermark)
    for report_id in merged.erasures:
        merged.drop_report(report_id)
        for incident in merged.incidents_of(report_id):
            merged.drop_incident(incident.incident_id)
    for report_id, r in list(merged.reports.items()):
        merged.reports[report_id] = regraded(r, merged.incidents_of(report_id))
    return merged


def _merge_sites(merged: MemoryState, state: MemoryState) -> None:
    """A site's events share a partition, so one share holds all of a site; the sequence check is a guard."""
    for site in state.sites.values():
        held = merged.sites.get(site.site_id)
        if held is None or site.sequence > held.sequence:
            merged.sites[site.site_id] = site
    merged.outcomes.update(state.outcomes)
    merged.links.update(state.links)


def fold_all(facts: Iterable[Fact], registry: AreaRegistry, state: MemoryState | None = None) -> MemoryState:
    state = state or MemoryState()
    fold = Fold(registry)
    for fact in facts:
        fold.apply(state, fact)
    return state


canonical = canonical_json
