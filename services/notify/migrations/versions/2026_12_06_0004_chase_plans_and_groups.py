"""Notify: a chase knows its plan (re-planned when the priority rises) and the flood group it pages for.

Revision ID: notify_0004
Revises: notify_0003
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "notify_0004"
down_revision = "notify_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chases") as batch:
        batch.add_column(sa.Column("plan", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("group_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("group_size", sa.Integer, nullable=False, server_default="0"))
    op.create_index("ix_chases_group", "chases", ["group_id"])


def downgrade() -> None:
    op.drop_index("ix_chases_group", table_name="chases")
    with op.batch_alter_table("chases") as batch:
        for column in ("group_size", "group_id", "plan"):
            batch.drop_column(column)
