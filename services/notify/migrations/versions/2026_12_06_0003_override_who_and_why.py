"""Notify: who set a rota override and why, so the staff pages can show it beside the override.

Revision ID: notify_0003
Revises: notify_0002
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "notify_0003"
down_revision = "notify_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rota_overrides") as batch:
        batch.add_column(sa.Column("set_by", sa.String(120), nullable=True))
        batch.add_column(sa.Column("reason", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rota_overrides") as batch:
        batch.drop_column("reason")
        batch.drop_column("set_by")
