"""Triage: caseworkers scoped to their reporting centre (#15).

- incidents.centre_id: the reporting centre that sent the report (NULL: the public form, which belongs to the
  deployment's default centre, `TRIAGE_DEFAULT_CENTRE`);
- staff_users.centre: the reporting centre a caseworker works for (NULL: the default centre).

Revision ID: triage_0006
Revises: triage_0005
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "triage_0006"
down_revision = "triage_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as b:
        b.add_column(sa.Column("centre_id", sa.String(64), nullable=True))
    with op.batch_alter_table("staff_users") as b:
        b.add_column(sa.Column("centre", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("staff_users") as b:
        b.drop_column("centre")
    with op.batch_alter_table("incidents") as b:
        b.drop_column("centre_id")
