"""Intake: a report the police were given in spite of its consent, to protect someone's life (#15).

reports.safeguarding_override names the rule that shared it (`threat_to_life`), as triage's decision said, so
the reporter's follow-up page and status can tell them, and where they can reach the police.

Revision ID: intake_0006
Revises: intake_0005
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "intake_0006"
down_revision = "intake_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.add_column(sa.Column("safeguarding_override", sa.String(40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.drop_column("safeguarding_override")
