"""Area-level community impact assessments on `vigil.incidents.v1`, written by triage, keyed by area.

An assessment of an area after a rise in tension, tied to no one incident: recorded, reviewed, closed, and its
actions marked done. The events carry only what is structured (levels, who, when, each action's owner and due
time); what staff wrote (notes, the actions' descriptions, the reason for closing) stays in triage's database
(ADR 0059), as the notes of an incident's assessment do, so it never travels on the topic in clear.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from shared.events.base import Event, event_type
from shared.events.incidents import TOPIC


class AreaCiaAction(BaseModel):
    """A task the assessment sets: its owner is a staff username; notify chases it from `due_at`."""

    model_config = ConfigDict(frozen=True)

    action_id: str
    owner: str
    due_at: datetime


@event_type("vigil.incident.area_cia_recorded.v1", TOPIC)
class AreaCiaRecorded(Event):
    cia_id: str
    area: str
    community_tension: str
    risk_of_disorder: str
    next_review_at: datetime | None = None
    actions: tuple[AreaCiaAction, ...] = ()
    recorded_by: str
    recorded_at: datetime


@event_type("vigil.incident.area_cia_reviewed.v1", TOPIC)
class AreaCiaReviewed(Event):
    """A later assessment of the same area: `review` counts from 1; `actions` are the ones it adds."""

    cia_id: str
    area: str
    review: int
    community_tension: str
    risk_of_disorder: str
    next_review_at: datetime | None = None
    actions: tuple[AreaCiaAction, ...] = ()
    reviewed_by: str
    reviewed_at: datetime


@event_type("vigil.incident.area_cia_action_done.v1", TOPIC)
class AreaCiaActionDone(Event):
    cia_id: str
    area: str
    action_id: str
    owner: str
    done_by: str
    done_at: datetime


@event_type("vigil.incident.area_cia_closed.v1", TOPIC)
class AreaCiaClosed(Event):
    """No more reviews; notify stops chasing its open actions."""

    cia_id: str
    area: str
    closed_by: str
    closed_at: datetime
