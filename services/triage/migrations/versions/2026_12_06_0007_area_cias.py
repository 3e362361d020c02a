"""Triage: area-level community impact assessments (#17, ADR 0059).

- area_cias: one row per assessment of an area, for the lists (its events are in event_log);
- area_cia_texts: what staff wrote (notes, the actions' descriptions, the reason for closing).

Revision ID: triage_0007
Revises: triage_0006
Create Date: 2026-12-09
"""
import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "triage_0007"
down_revision = "triage_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "area_cias",
        sa.Column("cia_id", sa.String(36), primary_key=True),
        sa.Column("area", sa.String(20), nullable=False, index=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("community_tension", sa.String(20), nullable=False),
        sa.Column("risk_of_disorder", sa.String(20), nullable=False),
        sa.Column("next_review_at", UTCDateTime(), nullable=True),
        sa.Column("open_actions", sa.Integer, nullable=False, server_default="0"),
        sa.Column("recorded_by", sa.String(36), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
    )
    op.create_table(
        "area_cia_texts",
        sa.Column("cia_id", sa.String(36), primary_key=True),
        sa.Column("ref", sa.String(60), primary_key=True),
        sa.Column("text", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("area_cia_texts")
    op.drop_table("area_cias")
