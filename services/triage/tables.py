"""Triage's own tables: its event log, the queue projection, the memory triage decides with, and staff access."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Integer, String, Table, Text

from shared.db import BigId, UTCDateTime, new_metadata
from shared.eventstore import event_tables

metadata = new_metadata()
event_tables(metadata)

incidents = Table(
    "incidents", metadata,
    Column("incident_id", String(36), primary_key=True),
    Column("reference", String(16), nullable=False),
    Column("area", String(20), nullable=False),
    Column("priority", String(2), nullable=False),
    Column("critical", Boolean, nullable=False),
    Column("state", String(20), nullable=False),
    Column("ack_deadline", UTCDateTime(), nullable=True),
    Column("triaged_at", UTCDateTime(), nullable=False),
    Column("report_id", String(36), nullable=True),
    Column("needs_duty_inspector", Boolean, nullable=False, server_default="0"),
    Column("matched", Text, nullable=True),
    Column("ruleset_version", String(40), nullable=True),
    Column("version", Integer, nullable=False, server_default="0"),
    Column("duty_inspector", String(36), nullable=True),
    Column("acknowledged_by", String(36), nullable=True),
    Column("acknowledged_at", UTCDateTime(), nullable=True),
    Column("escalation_level", Integer, nullable=False, server_default="0"),
    Column("escalated_deadline", UTCDateTime(), nullable=True),
    Column("cia", String(20), nullable=False, server_default="none"),
    Column("cia_due_at", UTCDateTime(), nullable=True),
    Column("outcome", String(40), nullable=True),
    Column("closed_at", UTCDateTime(), nullable=True),
    Column("updated_at", UTCDateTime(), nullable=True),
    Column("held_for_centre", Boolean, nullable=False, server_default="0"),  # the police never see it (#15)
    Column("erased_at", UTCDateTime(), nullable=True),  # when the reporter's data was erased
    Column("centre_id", String(64), nullable=True),  # the reporting centre that sent it; NULL: the public form
    Index("ix_incidents_queue", "state", "priority", "ack_deadline"),
)

# What triage remembers of each report to find repeats and clusters: keyed hashes, never plain text.
report_memory = Table(
    "report_memory", metadata,
    Column("report_id", String(36), primary_key=True),
    Column("area", String(20), nullable=False),
    Column("submitted_at", UTCDateTime(), nullable=False),
    Column("contact_fp", String(64), nullable=True),
    Column("place_fp", String(64), nullable=True),
    Column("reporter_role", String(20), nullable=True),
    Column("facts", Text, nullable=False),
    Column("district", String(64), nullable=True),
    Column("source_fp", String(64), nullable=True),
    Column("content_fp", String(64), nullable=True),
    Index("ix_report_memory_area_time", "area", "submitted_at"),
    Index("ix_report_memory_contact", "contact_fp"),
    Index("ix_report_memory_place", "place_fp"),
    Index("ix_report_memory_district_time", "district", "submitted_at"),
    Index("ix_report_memory_source_time", "source_fp", "submitted_at"),
)

# Suspected flood groups (services/triage/groups.py): the aggregate is its events; this row finds a source's
# group while its burst lasts. `flood_key` is what the members share: "source:" or "contact:" and a keyed hash.
incident_groups = Table(
    "incident_groups", metadata,
    Column("group_id", String(36), primary_key=True),
    Column("flood_key", String(80), nullable=False),
    Column("area", String(20), nullable=False),
    Column("state", String(20), nullable=False),
    Column("paged_by", String(36), nullable=True),
    Column("members", Integer, nullable=False),
    Column("formed_at", UTCDateTime(), nullable=False),
    Column("last_member_at", UTCDateTime(), nullable=False),
    Index("ix_incident_groups_key_time", "flood_key", "last_member_at"),
)

rulesets = Table(
    "rulesets", metadata,
    Column("version", String(40), primary_key=True),
    Column("name", String(80), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("source", Text, nullable=False),
    Column("published_by", String(80), nullable=False),
    Column("published_at", UTCDateTime(), nullable=False),
)

tensions = Table(
    "tensions", metadata,
    Column("tension_id", String(36), primary_key=True),
    Column("area", String(20), nullable=False),
    Column("reason", Text, nullable=False),
    Column("starts_at", UTCDateTime(), nullable=False),
    Column("ends_at", UTCDateTime(), nullable=True),
    Column("declared_by", String(36), nullable=False),
    Column("declared_at", UTCDateTime(), nullable=False),
    Column("proposal_id", String(36), nullable=True),
    Column("lifted_at", UTCDateTime(), nullable=True),
    Column("lifted_by", String(36), nullable=True),
    Column("lift_reason", Text, nullable=True),
    Index("ix_tensions_area", "area"),
)

tension_proposals = Table(
    "tension_proposals", metadata,
    Column("proposal_id", String(36), primary_key=True),
    Column("area", String(20), nullable=False),
    Column("level", String(20), nullable=False),
    Column("reasons", Text, nullable=False),
    Column("raised_at", UTCDateTime(), nullable=False),
    Column("status", String(20), nullable=False),
    Column("decided_by", String(36), nullable=True),
    Column("decided_at", UTCDateTime(), nullable=True),
)

community_impact_assessments = Table(
    "community_impact_assessments", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("incident_id", String(36), nullable=False, index=True),
    Column("community_tension", String(20), nullable=False),
    Column("risk_of_disorder", String(20), nullable=False),
    Column("communities", Text, nullable=True),
    Column("notes", Text, nullable=True),
    Column("actions", Text, nullable=True),
    Column("next_review_at", UTCDateTime(), nullable=True),
    Column("completed_by", String(36), nullable=False),
    Column("completed_at", UTCDateTime(), nullable=False),
)

staff_users = Table(
    "staff_users", metadata,
    Column("user_id", String(36), primary_key=True),
    Column("username", String(80), nullable=False, unique=True),
    Column("display_name", String(120), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("roles", String(200), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("areas", String(400), nullable=False, server_default=""),  # force area codes; empty: national
    Column("email", String(254), nullable=True),
    Column("phone", String(32), nullable=True),
    Column("updated_at", UTCDateTime(), nullable=True),
    # a caseworker's reporting centre (an intake centre id); NULL: the deployment's default centre
    Column("centre", String(64), nullable=True),
    # the single sign-on identity linked to the account (ADR 0060): the provider's issuer and its `sub` there
    Column("sso_issuer", String(400), nullable=True),
    Column("sso_subject", String(255), nullable=True),
    Index("ux_staff_users_sso", "sso_issuer", "sso_subject", unique=True),
)

# Recent sign-ins per account: the time and a coarse address (IPv4 /24, IPv6 /48), never a full one.
staff_sign_ins = Table(
    "staff_sign_ins", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("user_id", String(36), nullable=False),
    Column("signed_in_at", UTCDateTime(), nullable=False),
    Column("network", String(64), nullable=True),
    Column("method", String(16), nullable=True),  # "password" or "sso" (ADR 0060); NULL: before it was kept
    Index("ix_staff_sign_ins_user_time", "user_id", "signed_in_at"),
)

# Single sign-ons begun at the provider and not yet back (sso.py): each used once, kept for minutes.
sso_sign_ins = Table(
    "sso_sign_ins", metadata,
    Column("state_hash", String(64), primary_key=True),
    Column("nonce", String(128), nullable=False),
    Column("code_verifier", String(128), nullable=False),
    Column("next_url", String(2000), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False, index=True),
)

staff_sessions = Table(
    "staff_sessions", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", String(36), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("last_seen_at", UTCDateTime(), nullable=False),
)

personal_data_views = Table(
    "personal_data_views", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("incident_id", String(36), nullable=False, index=True),
    Column("report_id", String(36), nullable=False),
    Column("user_id", String(36), nullable=False),
    Column("viewed_at", UTCDateTime(), nullable=False),
    Column("outcome", String(20), nullable=False),
)

incident_viewers = Table(
    "incident_viewers", metadata,
    Column("incident_id", String(36), primary_key=True),
    Column("user_id", String(36), primary_key=True),
    Column("seen_at", UTCDateTime(), nullable=False),
)

# Area-level community impact assessments (area_cia.py): one row each for the lists, and what staff wrote
# (notes, the actions' descriptions, the reason for closing), which the events never carry (ADR 0059).
area_cias = Table(
    "area_cias", metadata,
    Column("cia_id", String(36), primary_key=True),
    Column("area", String(20), nullable=False, index=True),
    Column("state", String(20), nullable=False),
    Column("community_tension", String(20), nullable=False),
    Column("risk_of_disorder", String(20), nullable=False),
    Column("next_review_at", UTCDateTime(), nullable=True),
    Column("open_actions", Integer, nullable=False, server_default="0"),
    Column("recorded_by", String(36), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("closed_at", UTCDateTime(), nullable=True),
)

area_cia_texts = Table(
    "area_cia_texts", metadata,
    Column("cia_id", String(36), primary_key=True),
    Column("ref", String(60), primary_key=True),  # "assessment-<n>" (0: the first), "action-<id>", "closed"
    Column("text", Text, nullable=False),
)

# Places of worship (assessment's, on vigil.sites.v1; site_visits.py): which reports a site is linked to, its
# name, and the visits made there, so a visit shows as an action taken on the linked incident's assessment.
# The visits' sealed notes are never kept here.
site_reports = Table(
    "site_reports", metadata,
    Column("site_id", String(36), primary_key=True),
    Column("report_id", String(36), primary_key=True, index=True),
)

site_names = Table(
    "site_names", metadata,
    Column("site_id", String(36), primary_key=True),
    Column("name", String(120), nullable=False),
)

site_visits = Table(
    "site_visits", metadata,
    Column("visit_id", String(36), primary_key=True),
    Column("site_id", String(36), nullable=False, index=True),
    Column("visited_at", UTCDateTime(), nullable=False),
    Column("visited_by", String(200), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
)
