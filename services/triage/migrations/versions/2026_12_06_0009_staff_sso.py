"""Triage: single sign-on (#18, ADR 0060).

- staff_users.sso_issuer, staff_users.sso_subject: the OpenID Connect identity linked to an account (the
  provider's issuer and the `sub` it gives the person), unique as a pair; NULL: none linked yet;
- sso_sign_ins: a sign-in begun at the provider and not yet come back (its state's digest, the nonce, the PKCE
  verifier, where to go after), each used once and kept for minutes;
- staff_sign_ins.method: how the person signed in, "password" or "sso".

Revision ID: triage_0009
Revises: triage_0008
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "triage_0009"
down_revision = "triage_0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("staff_users") as b:
        b.add_column(sa.Column("sso_issuer", sa.String(400), nullable=True))
        b.add_column(sa.Column("sso_subject", sa.String(255), nullable=True))
    with op.batch_alter_table("staff_sign_ins") as b:
        b.add_column(sa.Column("method", sa.String(16), nullable=True))
    op.create_index("ux_staff_users_sso", "staff_users", ["sso_issuer", "sso_subject"], unique=True)
    op.create_table(
        "sso_sign_ins",
        sa.Column("state_hash", sa.String(64), primary_key=True),
        sa.Column("nonce", sa.String(128), nullable=False),
        sa.Column("code_verifier", sa.String(128), nullable=False),
        sa.Column("next_url", sa.String(2000), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("sso_sign_ins")
    op.drop_index("ux_staff_users_sso", table_name="staff_users")
    with op.batch_alter_table("staff_sign_ins") as b:
        b.drop_column("method")
    with op.batch_alter_table("staff_users") as b:
        b.drop_column("sso_subject")
        b.drop_column("sso_issuer")
