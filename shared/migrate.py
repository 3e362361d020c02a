"""Alembic, one migration history and one version table per service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from shared.db import BigId, UTCDateTime, make_engine


def alembic_config(service: str, url: str) -> Config:
    script_location = Path(__file__).resolve().parent.parent / "services" / service / "migrations"
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["version_table"] = f"alembic_version_{service}"
    return cfg


def upgrade(service: str, url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(service, url), revision)


def downgrade(service: str, url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(service, url), revision)


def run_env(context: Any, target_metadata: sa.MetaData) -> None:
    """The body of every service's migrations/env.py."""
    cfg = context.config
    version_table = cfg.attributes.get("version_table", "alembic_version")
    url = cfg.get_main_option("sqlalchemy.url")
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          version_table=version_table, render_as_batch=engine.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
    engine.dispose()


def create_backbone_v1(op: Any) -> None:
    """The event log, relay position and inbox every service starts with (frozen: change by new revisions)."""
    op.create_table(
        "event_log",
        sa.Column("seq", BigId, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("stream_id", sa.String(120), nullable=False),
        sa.Column("version", BigId, nullable=False),
        sa.Column("type", sa.String(120), nullable=False),
        sa.Column("topic", sa.String(120), nullable=False),
        sa.Column("key", sa.String(120), nullable=False),
        sa.Column("source", sa.String(120), nullable=False),
        sa.Column("time", UTCDateTime(), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("traceparent", sa.String(64)),
        sa.Column("tracestate", sa.String(512)),
        sa.PrimaryKeyConstraint("seq", name="pk_event_log"),
        sa.UniqueConstraint("event_id", name="uq_event_log_event_id"),
        sa.UniqueConstraint("stream_id", "version", name="uq_event_log_stream_version"),
    )
    op.create_table(
        "relay_position",
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("position", BigId, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_relay_position"),
    )
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(120), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("processed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id", name="pk_inbox"),
    )


def drop_backbone_v1(op: Any) -> None:
    for table in ("inbox", "relay_position", "event_log"):
        op.drop_table(table)
