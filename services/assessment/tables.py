"""Assessment's own tables: its event log, the fold's facts (reports, incidents, tension, the register of sites),
the published risk per area, snapshots, and what never travels: sites' data keys and who leads which site."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, Float, Index, Integer, LargeBinary, String, Table, Text

from shared.db import BigId, UTCDateTime, new_metadata
from shared.eventstore import event_tables

metadata = new_metadata()
event_tables(metadata)

reports = Table(
    "proj_reports", metadata,
    Column("report_id", String(40), primary_key=True),
    Column("reference", String(40), nullable=False),
    Column("area", String(20), nullable=False),
    Column("district", String(40), nullable=True),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("submitted_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("types", String(400), nullable=False),
    Column("strands", String(200), nullable=False),
    Column("religion", String(20), nullable=True),
    Column("place_type", String(30), nullable=False),
    Column("place_fp", String(100), nullable=True),
    Column("injuries", String(10), nullable=False),
    Column("weapon", Boolean, nullable=False),
    Column("ongoing", Boolean, nullable=False),
    Column("vulnerable", Boolean, nullable=False),
    Column("repeat", Boolean, nullable=False),
    Column("grading", String(3), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("role", String(20), nullable=False),
    Column("withdrawn", Boolean, nullable=False),
    Index("ix_proj_reports_area_occurred", "area", "occurred_at"),
)

erasures = Table(
    "proj_erasures", metadata,
    Column("report_id", String(40), primary_key=True),
    Column("erased_at", UTCDateTime(), nullable=False),
)

incidents = Table(
    "proj_incidents", metadata,
    Column("incident_id", String(40), primary_key=True),
    Column("report_id", String(40), nullable=False, index=True),
    Column("area", String(20), nullable=False, index=True),
    Column("priority", String(4), nullable=False),
    Column("critical", Boolean, nullable=False),
    Column("status", String(20), nullable=False),
    Column("triaged_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("matched", String(400), nullable=False),
    Column("escalation_level", Integer, nullable=False),
    Column("regraded", String(3), nullable=True),
    Column("regraded_at", UTCDateTime(), nullable=True),
)

tensions = Table(
    "proj_tensions", metadata,
    Column("tension_id", String(40), primary_key=True),
    Column("area", String(20), nullable=False),
    Column("starts_at", UTCDateTime(), nullable=False),
    Column("ends_at", UTCDateTime(), nullable=True),
    Column("declared_at", UTCDateTime(), nullable=False),
    Column("lifted_at", UTCDateTime(), nullable=True),
)

meta = Table(
    "proj_meta", metadata,
    Column("name", String(40), primary_key=True),
    Column("value", Text, nullable=False),
)

area_risk = Table(
    "area_risk", metadata,
    Column("area", String(20), primary_key=True),
    Column("level", String(20), nullable=False),
    Column("score", Float, nullable=False),
    Column("reasons", Text, nullable=False),
    Column("changed_at", UTCDateTime(), nullable=False),
    Column("tension_raised", Boolean, nullable=False),
)

sites = Table(
    "proj_sites", metadata,
    Column("site_id", String(40), primary_key=True),
    Column("sequence", Integer, nullable=False),
    Column("area", String(20), nullable=False, index=True),
    Column("faith", String(20), nullable=False),
    Column("name", String(120), nullable=False),
    Column("place_fp", String(100), nullable=True, index=True),
    Column("registered_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("entry", Text, nullable=False),
    Column("contacts", Text, nullable=True),
)

site_outcomes = Table(
    "proj_site_outcomes", metadata,
    Column("outcome_id", String(40), primary_key=True),
    Column("site_id", String(40), nullable=False, index=True),
    Column("routine", String(40), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("category", String(40), nullable=True),
    Column("performed_at", UTCDateTime(), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
    Column("recorded_by", String(120), nullable=False),
    Column("via", String(10), nullable=False),
    Column("notes", Text, nullable=True),
    Column("resolved_at", UTCDateTime(), nullable=True),
    Column("resolved_by", String(120), nullable=True),
    Column("resolution", Text, nullable=True),
)

site_links = Table(
    "proj_site_links", metadata,
    Column("site_id", String(40), primary_key=True),
    Column("report_id", String(40), primary_key=True, index=True),
    Column("linked", Boolean, nullable=False),
    Column("decided_by", String(120), nullable=False),
    Column("decided_at", UTCDateTime(), nullable=False),
)

# Not part of the projection (a rebuild leaves them be): they never travel on a topic.
site_keys = Table(
    "site_keys", metadata,
    Column("site_id", String(40), primary_key=True),
    Column("wrapped_key", LargeBinary, nullable=True),   # None once destroyed
    Column("created_at", UTCDateTime(), nullable=False),
    Column("destroyed_at", UTCDateTime(), nullable=True),
)

site_leads = Table(
    "site_leads", metadata,
    Column("username", String(120), primary_key=True),
    Column("site_id", String(40), primary_key=True, index=True),
    Column("assigned_by", String(120), nullable=False),
    Column("assigned_at", UTCDateTime(), nullable=False),
)

site_reminders = Table(
    "site_reminders", metadata,
    Column("site_id", String(40), primary_key=True),
    Column("routine", String(40), primary_key=True),
    Column("due_at", UTCDateTime(), primary_key=True),
    Column("kind", String(10), primary_key=True),        # due | overdue
    Column("announced_at", UTCDateTime(), nullable=False),
)

# Patrol and visit tasking (services/assessment/sites/taskboard.py): written with the event each row is, in one
# transaction; not part of the projection either, as a site's keys and leads.
site_task_changes = Table(
    "site_task_changes", metadata,
    Column("change_id", String(40), primary_key=True),
    Column("area", String(20), nullable=False),
    Column("day", Date, nullable=False),
    Column("site_id", String(40), nullable=False),
    Column("added", Boolean, nullable=False),            # added to the day's list, or dropped from it
    Column("reason", Text, nullable=False),
    Column("changed_by", String(120), nullable=False),
    Column("changed_at", UTCDateTime(), nullable=False),
    Index("ix_site_task_changes_area_day", "area", "day"),
)

site_visits = Table(
    "site_visits", metadata,
    Column("visit_id", String(40), primary_key=True),     # from a signed link: the link's, so it records once
    Column("site_id", String(40), nullable=False, index=True),
    Column("area", String(20), nullable=False),
    Column("task_id", String(40), nullable=True),
    Column("visited_at", UTCDateTime(), nullable=False),
    Column("visited_by", String(200), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
    Column("recorded_by", String(120), nullable=False),
    Column("via", String(10), nullable=False),
    Column("notes", Text, nullable=True),                  # sealed with the site's key
)

tasking_announcements = Table(
    "tasking_announcements", metadata,
    Column("area", String(20), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("announced_at", UTCDateTime(), nullable=False),
    Column("tasks", Integer, nullable=False),
)

snapshots = Table(
    "snapshots", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("offsets", Text, nullable=False),
    Column("events", BigId, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("state", LargeBinary, nullable=False),
)

# daily counts imported from a force's own records (services/assessment/history.py): input, not the fold's
area_history = Table(
    "area_history", metadata,
    Column("area", String(20), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("strand", String(30), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("imported_at", UTCDateTime(), nullable=False),
)

PROJECTION = (reports, erasures, incidents, tensions, meta, sites, site_outcomes, site_links)
