"""A community impact assessment prompt, when it is due, and what it asks. Plain Python, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from shared.events.incidents import NATIONAL


class AssessmentState(StrEnum):
    open = "open"
    completed = "completed"


class Trigger(StrEnum):
    critical_incident = "critical_incident"
    tension_rise = "tension_rise"
    requested = "requested"


class Stage(StrEnum):
    """Which message of an assessment's life: its delivery purpose is `cia_<stage>`."""

    prompt = "prompt"
    reminder = "reminder"
    review = "review"

    @property
    def purpose(self) -> str:
        return f"cia_{self.value}"


# The content of a community impact assessment (docs/design.md), asked of the neighbourhood team
# and community liaison; the words are translated in the templates, the keys are stable.
CIA_QUESTIONS: tuple[tuple[str, str], ...] = (
    ("what_happened", "What happened, in brief?"),
    ("communities_affected", "Which communities are affected (including across district borders)?"),
    ("effect_and_fear", "What is the effect on them, and on fear of crime?"),
    ("disorder_risk", "What is the risk of disorder?"),
    ("rumour_social_media", "What rumours or social media activity are there?"),
    ("vulnerable_locations", "Which vulnerable locations are nearby (places of worship, schools)?"),
    ("upcoming_events", "Which events are coming up (prayers, festivals, marches)?"),
    ("police_response", "Is the police response of good quality and proportionate?"),
    ("actions", "Which actions (reassurance patrols, visits to places of worship, engagement), with owners?"),
    ("next_review", "When is the next review?"),
)


@dataclass(frozen=True)
class Assessment:
    assessment_id: str
    trigger: Trigger
    area: str
    due_at: datetime
    incident_id: str | None = None
    reference: str | None = None
    priority: str | None = None
    level: str | None = None
    state: AssessmentState = AssessmentState.open
    completed_at: datetime | None = None

    @property
    def triage_path(self) -> str:
        """Where triage records this assessment: the incident's CIA page, else the tension page for the area
        (a prompt about the area alone, not one incident)."""
        if self.incident_id:
            return f"incidents/{self.incident_id}/record-cia"
        return "tension" if self.area == NATIONAL else f"tension?area={self.area}"


@dataclass(frozen=True)
class AssessmentSchedule:
    """When a community impact assessment is due, how often to remind, and when to review once done."""

    due_after: timedelta = timedelta(hours=4)
    remind_every: timedelta = timedelta(hours=1)
    max_reminders: int = 12
    review_after: timedelta = timedelta(days=7)
    max_reviews: int = 4

    @classmethod
    def of(cls, due_hours: float, remind_every_hours: float, review_days: float) -> AssessmentSchedule:
        return cls(due_after=timedelta(hours=due_hours), remind_every=timedelta(hours=remind_every_hours),
                   review_after=timedelta(days=review_days))

    def due(self, start: datetime) -> datetime:
        return start + self.due_after

    def reminder_at(self, due_at: datetime, n: int) -> datetime | None:
        """The n-th reminder (1-based): the first one hour before the due time, then every hour."""
        if n > self.max_reminders:
            return None
        return due_at - self.remind_every + self.remind_every * (n - 1)

    def review_at(self, completed_at: datetime, n: int) -> datetime | None:
        if n > self.max_reviews:
            return None
        return completed_at + self.review_after * n
