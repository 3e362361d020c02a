"""Notify: answers from the message itself: signed links that acted (once each) and SMS reply codes.

Revision ID: notify_0005
Revises: notify_0004
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "notify_0005"
down_revision = "notify_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "used_links",
        sa.Column("link_id", sa.String(64), primary_key=True),
        sa.Column("purpose", sa.String(40), nullable=False),
        sa.Column("recipient", sa.String(120), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "reply_codes",
        sa.Column("person_id", sa.String(80), primary_key=True),
        sa.Column("code", sa.String(8), primary_key=True),
        sa.Column("incident_id", sa.String(36), nullable=False),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ux_reply_codes_alert", "reply_codes", ["person_id", "incident_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_reply_codes_alert", table_name="reply_codes")
    op.drop_table("reply_codes")
    op.drop_table("used_links")
