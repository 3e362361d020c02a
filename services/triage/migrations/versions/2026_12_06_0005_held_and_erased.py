"""Triage: an incident held for the reporting centre (the reporter kept it from the police), and when the
reporter's data was erased.

Revision ID: triage_0005
Revises: triage_0004
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "triage_0005"
down_revision = "triage_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as b:
        b.add_column(sa.Column("held_for_centre", sa.Boolean, nullable=False, server_default="0"))
        b.add_column(sa.Column("erased_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incidents") as b:
        b.drop_column("erased_at")
        b.drop_column("held_for_centre")
