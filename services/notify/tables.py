"""Notify's own tables: its event log, the delivery ledger (one row per idempotency key), durable
timers, Duty Inspector chases, community impact assessment prompts, reporter preferences
(no contact details: those are fetched from intake at send time) and rota overrides."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, Index, Integer, String, Table, Text

from shared.db import UTCDateTime, new_metadata
from shared.eventstore import event_tables
from shared.signedlinks import used_links_table

metadata = new_metadata()
event_tables(metadata)

deliveries = Table(
    "deliveries", metadata,
    Column("idempotency_key", String(36), primary_key=True),
    Column("notification_id", String(36), nullable=False),
    Column("incident_id", String(36), nullable=True),
    Column("purpose", String(40), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("recipient_role", String(40), nullable=False),
    Column("recipient", String(320), nullable=False),  # a reference (person:<id>, reporter:<report id>, partner:<id>)
    Column("payload", Text, nullable=False),
    Column("status", String(20), nullable=False),  # ledger.DeliveryStatus
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("report_id", String(36), nullable=True),
    Column("sent_at", UTCDateTime(), nullable=True),
    Column("resolved_at", UTCDateTime(), nullable=True),
    Index("ix_deliveries_due", "status", "next_attempt_at"),
)

timers = Table(
    "timers", metadata,
    Column("timer_id", String(36), primary_key=True),
    Column("kind", String(40), nullable=False),
    Column("due_at", UTCDateTime(), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("fired_at", UTCDateTime(), nullable=True),
    Index("ix_timers_due", "fired_at", "due_at"),
)

chases = Table(
    "chases", metadata,
    Column("incident_id", String(36), primary_key=True),
    Column("report_id", String(36), nullable=True),
    Column("reference", String(40), nullable=False),
    Column("area", String(20), nullable=False),
    Column("priority", String(4), nullable=False),
    Column("ack_deadline", UTCDateTime(), nullable=True),
    Column("matched", Text, nullable=False),
    Column("state", String(20), nullable=False),  # chase.model.ChaseState
    Column("page", String(20), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("acknowledged_at", UTCDateTime(), nullable=True),
    Column("acknowledged_by", String(120), nullable=True),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("plan", Integer, nullable=False, server_default="0"),  # chase.model: re-plans after a risen priority
    Column("group_id", String(36), nullable=True),  # a suspected flood group (triage), for the page's digest
    Column("group_size", Integer, nullable=False, server_default="0"),
    Index("ix_chases_group", "group_id"),
)

assessments = Table(
    "assessments", metadata,
    Column("assessment_id", String(36), primary_key=True),
    Column("trigger", String(30), nullable=False),  # assessments.model.Trigger
    Column("incident_id", String(36), nullable=True),
    Column("area", String(20), nullable=False),
    Column("reference", String(40), nullable=True),
    Column("priority", String(4), nullable=True),
    Column("level", String(20), nullable=True),
    Column("due_at", UTCDateTime(), nullable=False),
    Column("state", String(20), nullable=False),  # assessments.model.AssessmentState
    Column("completed_at", UTCDateTime(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_assessments_incident", "incident_id"),
    Index("ix_assessments_area", "area", "state"),
)

reporters = Table(
    "reporters", metadata,
    Column("report_id", String(36), primary_key=True),
    Column("reference", String(40), nullable=False),
    Column("language", String(35), nullable=False),
    Column("contact_consent", Boolean, nullable=False),
    Column("has_contact", Boolean, nullable=False),
    Column("erased", Boolean, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

rota_overrides = Table(
    "rota_overrides", metadata,
    Column("override_id", String(36), primary_key=True),
    Column("area", String(20), nullable=False),
    Column("person_id", String(80), nullable=False),
    Column("starts_at", UTCDateTime(), nullable=False),
    Column("ends_at", UTCDateTime(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("set_by", String(120), nullable=True),
    Column("reason", Text, nullable=True),
    Index("ix_rota_overrides_area", "area", "starts_at"),
)

# Answers from the message itself (links.py): links that acted, and the short codes an SMS reply quotes.
used_links = used_links_table(metadata)

reply_codes = Table(
    "reply_codes", metadata,
    Column("person_id", String(80), primary_key=True),
    Column("code", String(8), primary_key=True),
    Column("incident_id", String(36), nullable=False),
    Column("issued_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Index("ux_reply_codes_alert", "person_id", "incident_id", unique=True),
)

# Routines at places of worship a site lead was reminded of (sites/): what the reminder's link opens shows.
site_reminders = Table(
    "site_reminders", metadata,
    Column("reminder_id", String(36), primary_key=True),  # the site, routine and due time, as one id
    Column("site_id", String(40), nullable=False),
    Column("site_name", Text, nullable=False),
    Column("area", String(20), nullable=False),
    Column("routine", String(40), nullable=False),
    Column("routine_name", Text, nullable=False),
    Column("service", Text, nullable=True),
    Column("due_at", UTCDateTime(), nullable=False),
    Column("announced_at", UTCDateTime(), nullable=False),
    Index("ix_site_reminders_site", "site_id", "routine"),
)

# The tasks of each morning's tasking list notify sent (tasking/): what a visit link's page shows.
tasking_tasks = Table(
    "tasking_tasks", metadata,
    Column("task_id", String(36), primary_key=True),   # the area, day and site, as one id (assessment's)
    Column("site_id", String(40), nullable=False),
    Column("site_name", Text, nullable=False),
    Column("area", String(20), nullable=False),
    Column("day", Date, nullable=False),
    Column("windows", Text, nullable=False),            # the time windows, in words, one a line
    Column("announced_at", UTCDateTime(), nullable=False),
)

# The actions of areas' community impact assessments (area_cia/): chased on their owners until done or closed.
area_cia_actions = Table(
    "area_cia_actions", metadata,
    Column("action_id", String(36), primary_key=True),  # triage's
    Column("cia_id", String(36), nullable=False, index=True),
    Column("area", String(20), nullable=False),
    Column("owner", String(80), nullable=False),         # a staff username: sent to staff:<owner>
    Column("due_at", UTCDateTime(), nullable=False),
    Column("state", String(10), nullable=False),         # open, done, closed (the assessment was)
    Column("updated_at", UTCDateTime(), nullable=False),
)
