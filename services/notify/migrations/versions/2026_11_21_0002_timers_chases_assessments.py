"""Notify: durable timers, Duty Inspector chases, CIA prompts, reporter preferences, rota overrides.

Revision ID: notify_0002
Revises: notify_0001
Create Date: 2026-11-21
"""
import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "notify_0002"
down_revision = "notify_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("report_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("sent_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("resolved_at", UTCDateTime(), nullable=True))
    op.create_table(
        "timers",
        sa.Column("timer_id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("fired_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_timers_due", "timers", ["fired_at", "due_at"])
    op.create_table(
        "chases",
        sa.Column("incident_id", sa.String(36), primary_key=True),
        sa.Column("report_id", sa.String(36), nullable=True),
        sa.Column("reference", sa.String(40), nullable=False),
        sa.Column("area", sa.String(20), nullable=False),
        sa.Column("priority", sa.String(4), nullable=False),
        sa.Column("ack_deadline", UTCDateTime(), nullable=True),
        sa.Column("matched", sa.Text, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("page", sa.String(20), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("acknowledged_at", UTCDateTime(), nullable=True),
        sa.Column("acknowledged_by", sa.String(120), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "assessments",
        sa.Column("assessment_id", sa.String(36), primary_key=True),
        sa.Column("trigger", sa.String(30), nullable=False),
        sa.Column("incident_id", sa.String(36), nullable=True),
        sa.Column("area", sa.String(20), nullable=False),
        sa.Column("reference", sa.String(40), nullable=True),
        sa.Column("priority", sa.String(4), nullable=True),
        sa.Column("level", sa.String(20), nullable=True),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_assessments_incident", "assessments", ["incident_id"])
    op.create_index("ix_assessments_area", "assessments", ["area", "state"])
    op.create_table(
        "reporters",
        sa.Column("report_id", sa.String(36), primary_key=True),
        sa.Column("reference", sa.String(40), nullable=False),
        sa.Column("language", sa.String(35), nullable=False),
        sa.Column("contact_consent", sa.Boolean, nullable=False),
        sa.Column("has_contact", sa.Boolean, nullable=False),
        sa.Column("erased", sa.Boolean, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "rota_overrides",
        sa.Column("override_id", sa.String(36), primary_key=True),
        sa.Column("area", sa.String(20), nullable=False),
        sa.Column("person_id", sa.String(80), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_rota_overrides_area", "rota_overrides", ["area", "starts_at"])


def downgrade() -> None:
    op.drop_index("ix_rota_overrides_area", "rota_overrides")
    op.drop_table("rota_overrides")
    op.drop_table("reporters")
    op.drop_index("ix_assessments_area", "assessments")
    op.drop_index("ix_assessments_incident", "assessments")
    op.drop_table("assessments")
    op.drop_table("chases")
    op.drop_index("ix_timers_due", "timers")
    op.drop_table("timers")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("resolved_at")
        batch.drop_column("sent_at")
        batch.drop_column("report_id")
