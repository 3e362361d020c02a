"""Assessment: the register of places of worship in the fold; sites' data keys; who leads which site; reminders.

Revision ID: assessment_0003
Revises: assessment_0002
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "assessment_0003"
down_revision = "assessment_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "proj_sites",
        sa.Column("site_id", sa.String(40), nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("area", sa.String(20), nullable=False),
        sa.Column("faith", sa.String(20), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("place_fp", sa.String(100), nullable=True),
        sa.Column("registered_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("entry", sa.Text, nullable=False),
        sa.Column("contacts", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("site_id", name="pk_proj_sites"),
    )
    op.create_index("ix_proj_sites_area", "proj_sites", ["area"])
    op.create_index("ix_proj_sites_place_fp", "proj_sites", ["place_fp"])
    op.create_table(
        "proj_site_outcomes",
        sa.Column("outcome_id", sa.String(40), nullable=False),
        sa.Column("site_id", sa.String(40), nullable=False),
        sa.Column("routine", sa.String(40), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("category", sa.String(40), nullable=True),
        sa.Column("performed_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(120), nullable=False),
        sa.Column("via", sa.String(10), nullable=False),
        sa.Column("notes", sa.Text, nullable=True),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(120), nullable=True),
        sa.Column("resolution", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("outcome_id", name="pk_proj_site_outcomes"),
    )
    op.create_index("ix_proj_site_outcomes_site_id", "proj_site_outcomes", ["site_id"])
    op.create_table(
        "proj_site_links",
        sa.Column("site_id", sa.String(40), nullable=False),
        sa.Column("report_id", sa.String(40), nullable=False),
        sa.Column("linked", sa.Boolean, nullable=False),
        sa.Column("decided_by", sa.String(120), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("site_id", "report_id", name="pk_proj_site_links"),
    )
    op.create_index("ix_proj_site_links_report_id", "proj_site_links", ["report_id"])
    op.create_table(
        "site_keys",
        sa.Column("site_id", sa.String(40), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("destroyed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("site_id", name="pk_site_keys"),
    )
    op.create_table(
        "site_leads",
        sa.Column("username", sa.String(120), nullable=False),
        sa.Column("site_id", sa.String(40), nullable=False),
        sa.Column("assigned_by", sa.String(120), nullable=False),
        sa.Column("assigned_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("username", "site_id", name="pk_site_leads"),
    )
    op.create_index("ix_site_leads_site_id", "site_leads", ["site_id"])
    op.create_table(
        "site_reminders",
        sa.Column("site_id", sa.String(40), nullable=False),
        sa.Column("routine", sa.String(40), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("announced_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("site_id", "routine", "due_at", "kind", name="pk_site_reminders"),
    )


def downgrade() -> None:
    for table in ("site_reminders", "site_leads", "site_keys", "proj_site_links", "proj_site_outcomes", "proj_sites"):
        op.drop_table(table)
