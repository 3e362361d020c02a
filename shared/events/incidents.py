"""Events on `vigil.incidents.v1`, written by triage. Keyed by report id (tension: by area; rulesets: "ruleset").

Free text that staff write about a report (override and regrade reasons, the communities, notes and actions of a
community impact assessment) travels only sealed with that report's data key, in `sealed` (intake seals it for
triage, ADR 0055), so erasing the report shreds it on the topic too; `reason` is then empty. Events appended
before this carry the reason in clear.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from shared.events.base import Event, event_type
from shared.events.reports import Grading, Sealed

TOPIC = "vigil.incidents.v1"
NATIONAL = "national"


class Priority(StrEnum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"


class MatchedRule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    explanation: str


@event_type("vigil.incident.triaged.v1", TOPIC)
class IncidentTriaged(Event):
    """A decision on a report. A re-triage after an amendment is a later version with `retriage` true.

    `group_id` names the suspected flood this report belongs to, `group_size` how many reports the group
    had with it. `paged_with_group`: it still needs the Duty Inspector, but the group's page covers it, so
    it starts no chase of its own (and has no acknowledgement deadline). A later decision without the group
    (split by a supervisor, or risen to P1) pages as any other.

    `held_for_centre`: the reporter did not consent to sharing with the police, so the report is held for the
    reporting centre: not critical, no Duty Inspector, no page. `safeguarding_override` names the rule (of
    `ruleset_version`) that shared such a report with the police all the same (`threat_to_life`). `centre_id`:
    the reporting centre that sent the report, whose caseworkers a held report belongs to; None for the public
    form (the deployment's default centre).
    """

    incident_id: str
    report_id: str
    reference: str
    area: str
    triaged_at: datetime
    matched: list[MatchedRule]
    critical: bool
    needs_duty_inspector: bool
    priority: Priority
    ack_deadline: datetime | None
    ruleset_version: str
    retriage: bool = False
    computed_priority: Priority | None = None
    hate_crime: bool | None = None
    grading: Grading | None = None
    group_id: str | None = None
    paged_with_group: bool = False
    group_size: int | None = None
    held_for_centre: bool = False
    safeguarding_override: str | None = None
    centre_id: str | None = None


@event_type("vigil.incident.duty_inspector_assigned.v1", TOPIC)
class DutyInspectorAssigned(Event):
    incident_id: str
    area: str
    duty_inspector: str
    assigned_by: str
    assigned_at: datetime


@event_type("vigil.incident.acknowledged.v1", TOPIC)
class IncidentAcknowledged(Event):
    incident_id: str
    area: str | None = None
    acknowledged_by: str
    acknowledged_at: datetime
    via: str | None = None  # "email link" or "sms reply" when answered from the alert itself; None: triage's pages


@event_type("vigil.incident.escalated.v1", TOPIC)
class IncidentEscalated(Event):
    """The acknowledgement deadline passed, or a person asked for the next level at once (`escalated_by`);
    notify chases along the area's escalation policy."""

    incident_id: str
    area: str
    priority: Priority
    level: int
    reason: str
    deadline: datetime | None = None
    escalated_at: datetime
    escalated_by: str | None = None  # the staff account that asked; None: the deadline passed
    via: str | None = None  # "email link" or "sms reply" when asked from the alert itself


@event_type("vigil.incident.criteria_overridden.v1", TOPIC)
class CriteriaOverridden(Event):
    """A person changed the decision; the only way a priority goes down."""

    incident_id: str
    area: str
    previous_priority: Priority
    priority: Priority
    previous_needs_duty_inspector: bool
    needs_duty_inspector: bool
    ack_deadline: datetime | None = None
    reason: str
    overridden_by: str
    overridden_at: datetime
    sealed: Sealed | None = None  # {"reason": ...} with the report's data key; `reason` is then ""


@event_type("vigil.incident.regraded.v1", TOPIC)
class IncidentRegraded(Event):
    """Triage staff changed the 3x5x2 grading the report arrived with, with a reason."""

    incident_id: str
    area: str
    previous: Grading | None
    grading: Grading
    reason: str
    regraded_by: str
    regraded_at: datetime
    sealed: Sealed | None = None  # {"reason": ...} with the report's data key; `reason` is then ""


@event_type("vigil.incident.heightened_tension_declared.v1", TOPIC)
class HeightenedTensionDeclared(Event):
    """Every hate crime report in scope needs the Duty Inspector while it lasts. Keyed by area or "national"."""

    tension_id: str
    area: str
    reason: str
    starts_at: datetime
    ends_at: datetime | None = None
    declared_by: str
    declared_at: datetime
    proposal_id: str | None = None


@event_type("vigil.incident.heightened_tension_lifted.v1", TOPIC)
class HeightenedTensionLifted(Event):
    tension_id: str
    area: str
    reason: str
    lifted_by: str
    lifted_at: datetime


@event_type("vigil.incident.community_impact_assessment_requested.v1", TOPIC)
class CommunityImpactAssessmentRequested(Event):
    incident_id: str | None = None
    area: str
    requested_by: str
    requested_at: datetime
    due_at: datetime


@event_type("vigil.incident.community_impact_assessment_completed.v1", TOPIC)
class CommunityImpactAssessmentCompleted(Event):
    """The assessment's structured outcome; `sealed`: its communities, notes and actions, with the report's key."""

    incident_id: str
    area: str
    community_tension: str
    risk_of_disorder: str
    next_review_at: datetime | None = None
    completed_by: str
    completed_at: datetime
    sealed: Sealed | None = None


@event_type("vigil.incident.closed.v1", TOPIC)
class IncidentClosed(Event):
    incident_id: str
    area: str | None = None
    outcome: str
    closed_by: str | None = None
    closed_at: datetime


@event_type("vigil.incident.ruleset_published.v1", TOPIC)
class RulesetPublished(Event):
    """A new critical-incident ruleset is in force from `published_at`; earlier decisions keep theirs."""

    version: str
    sha256: str
    rule_codes: list[str]
    published_by: str
    published_at: datetime


@event_type("vigil.incident.group_formed.v1", TOPIC)
class IncidentGroupFormed(Event):
    """Reports that look like one flood from one source, grouped under one page: a suspected campaign or abuse
    for a supervisor to confirm or split. Keyed by group id. `basis`: what they share ("source", "contact")."""

    group_id: str
    area: str
    basis: str
    evidence: str
    members: list[str]
    paged_by: str | None = None
    ruleset_version: str
    formed_at: datetime


@event_type("vigil.incident.group_member_attached.v1", TOPIC)
class IncidentGroupMemberAttached(Event):
    """One more report of the flood; `pages` when it is the group's page (its first critical member)."""

    group_id: str
    incident_id: str
    pages: bool = False
    size: int
    attached_at: datetime


@event_type("vigil.incident.group_pager_changed.v1", TOPIC)
class IncidentGroupPagerChanged(Event):
    """Another member carries the group's page (the one that did left the group), or none does yet."""

    group_id: str
    incident_id: str | None = None
    changed_at: datetime


@event_type("vigil.incident.group_confirmed.v1", TOPIC)
class IncidentGroupConfirmed(Event):
    """A supervisor confirmed the group as one campaign or abuse from one source."""

    group_id: str
    area: str
    reason: str
    confirmed_by: str
    confirmed_at: datetime


@event_type("vigil.incident.group_split.v1", TOPIC)
class IncidentGroupSplit(Event):
    """Members taken out of the group, each its own incident again (and paged if it needs the Duty Inspector).
    `split_by` is a person, or "triage" for a member that rose to P1 and pages on its own."""

    group_id: str
    area: str
    incident_ids: list[str]
    reason: str
    split_by: str
    split_at: datetime
