"""Triage: staff accounts carry their areas, contact details and recent sign-ins (coarse addresses only).

Revision ID: triage_0003
Revises: triage_0002
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

from shared.db import BigId, UTCDateTime

revision = "triage_0003"
down_revision = "triage_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("staff_users") as b:
        b.add_column(sa.Column("areas", sa.String(400), nullable=False, server_default=""))
        b.add_column(sa.Column("email", sa.String(254), nullable=True))
        b.add_column(sa.Column("phone", sa.String(32), nullable=True))
        b.add_column(sa.Column("updated_at", UTCDateTime(), nullable=True))
    op.create_table(
        "staff_sign_ins",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("signed_in_at", UTCDateTime(), nullable=False),
        sa.Column("network", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_staff_sign_ins"),
    )
    op.create_index("ix_staff_sign_ins_user_time", "staff_sign_ins", ["user_id", "signed_in_at"])


def downgrade() -> None:
    op.drop_index("ix_staff_sign_ins_user_time", table_name="staff_sign_ins")
    op.drop_table("staff_sign_ins")
    with op.batch_alter_table("staff_users") as b:
        for column in ("updated_at", "phone", "email", "areas"):
            b.drop_column(column)
