"""Intake: erasure, withdrawal, holds and retention; no follow-up token kept in the idempotency cache (#15).

- reports: the idempotency key the report came with (erasure finds its cache entry by it), triage's latest
  hate-crime decision (the retention category), when it was withdrawn, the erasure date the reporter was
  told, and when it was erased; two partial indexes for the retention job, over reports not yet erased.
- holds, and privacy_log (every erasure, withdrawal and hold, for the data protection officer).
- The group-commit function (ADR 0044) inserts the new report columns too.
- Answers kept for replays lose the follow-up token they held in clear. A replay of such an answer is given a
  token derived from the master key, which replaces the report's token (services/intake/application.py):
  the client that replays never saw the first answer's token, or is shown the new one.

Revision ID: intake_0004
Revises: intake_0003
Create Date: 2026-12-06
"""
import json

import sqlalchemy as sa
from alembic import op

from shared.db import BigId, UTCDateTime

revision = "intake_0004"
down_revision = "intake_0003"
branch_labels = None
depends_on = None

NEW_REPORT_COLUMNS = ["idempotency_key", "hate_crime", "withdrawn_at", "erase_due_at", "erased_at"]
OLD_REPORT_COLUMNS = ["report_id", "reference", "token_hash", "status", "area", "centre_id", "external_reference",
                      "created_at", "updated_at"]
# ADR 0045: planner statistics only on the columns intake's queries filter or order by.
STATISTICS = {"created_at": 10, "hate_crime": 10, "withdrawn_at": 10, "erase_due_at": 10, "erased_at": 10,
              "idempotency_key": 0}

FUNCTION = """
CREATE OR REPLACE FUNCTION intake_group_commit(p_lock_key bigint, p_channel text, p_report_keys jsonb,
                                               p_reports jsonb, p_idempotency jsonb, p_events jsonb) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    -- Appends one at a time, so the event log's sequence is commit order; the relay is woken at commit.
    PERFORM pg_advisory_xact_lock(p_lock_key), pg_notify(p_channel, '');
    INSERT INTO report_keys (report_id, wrapped_key, created_at, destroyed_at)
        SELECT report_id, wrapped_key, created_at, destroyed_at
        FROM jsonb_populate_recordset(NULL::report_keys, p_report_keys);
    INSERT INTO reports (%(columns)s)
        SELECT %(columns)s
        FROM jsonb_populate_recordset(NULL::reports, p_reports);
    IF p_idempotency IS NOT NULL THEN
        INSERT INTO idempotency (scope, key, request_hash, response, created_at)
            SELECT scope, key, request_hash, response, created_at
            FROM jsonb_populate_recordset(NULL::idempotency, p_idempotency);
    END IF;
    INSERT INTO event_log (event_id, stream_id, version, type, topic, key, source, time, data, traceparent,
                           tracestate)
        SELECT event_id, stream_id, version, type, topic, key, source, time, data, traceparent, tracestate
        FROM jsonb_populate_recordset(NULL::event_log, p_events);
END
$$
"""


def _function(columns: list[str]) -> str:
    return FUNCTION % {"columns": ", ".join(columns)}


def upgrade() -> None:
    for name, kind in [("idempotency_key", sa.String(200)), ("hate_crime", sa.Boolean()),
                       ("withdrawn_at", UTCDateTime()), ("erase_due_at", UTCDateTime()),
                       ("erased_at", UTCDateTime())]:
        op.add_column("reports", sa.Column(name, kind, nullable=True))
    op.create_index("ix_reports_retention", "reports", ["created_at"], postgresql_where=sa.text("erased_at IS NULL"),
                    sqlite_where=sa.text("erased_at IS NULL"))
    due = sa.text("erased_at IS NULL AND erase_due_at IS NOT NULL")
    op.create_index("ix_reports_erase_due", "reports", ["erase_due_at"], postgresql_where=due, sqlite_where=due)
    _create_tables()
    _forget_tokens()
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_function(OLD_REPORT_COLUMNS + NEW_REPORT_COLUMNS))
        op.execute("ALTER TABLE reports " + ", ".join(
            f'ALTER COLUMN "{column}" SET STATISTICS {target}' for column, target in STATISTICS.items()))


def _create_tables() -> None:
    op.create_table(
        "holds",
        sa.Column("hold_id", sa.String(36), primary_key=True),
        sa.Column("report_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("placed_by", sa.String(120), nullable=False),
        sa.Column("placed_at", UTCDateTime(), nullable=False),
        sa.Column("released_by", sa.String(120), nullable=True),
        sa.Column("released_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_holds_report_id", "holds", ["report_id"])
    op.create_table(
        "privacy_log",
        sa.Column("seq", BigId, primary_key=True, autoincrement=True),
        sa.Column("report_id", sa.String(36), nullable=False),
        sa.Column("reference", sa.String(16), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(20), nullable=True),
        sa.Column("hold_id", sa.String(36), nullable=True),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
    )
    op.create_index("ix_privacy_log_report_id", "privacy_log", ["report_id"])
    op.create_index("ix_privacy_log_reference", "privacy_log", ["reference"])


def _forget_tokens() -> None:
    """Strip the follow-up token from every kept answer, and note on each report the key it came with."""
    conn = op.get_bind()
    idempotency = sa.table("idempotency", sa.column("scope"), sa.column("key"), sa.column("response"))
    reports = sa.table("reports", sa.column("report_id"), sa.column("idempotency_key"))
    for scope, key, response in conn.execute(sa.select(idempotency.c.scope, idempotency.c.key,
                                                       idempotency.c.response)).all():
        answer = json.loads(response)
        if "follow_up_token" not in answer:
            continue
        answer.pop("follow_up_token")
        conn.execute(idempotency.update().where(idempotency.c.scope == scope, idempotency.c.key == key)
                     .values(response=json.dumps(answer)))
        if answer.get("report_id"):
            conn.execute(reports.update().where(reports.c.report_id == answer["report_id"])
                         .values(idempotency_key=key))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_function(OLD_REPORT_COLUMNS))
        op.execute('ALTER TABLE reports ALTER COLUMN "created_at" SET STATISTICS 0')  # as intake_0003 left it
    op.drop_table("privacy_log")
    op.drop_table("holds")
    op.drop_index("ix_reports_erase_due", table_name="reports")
    op.drop_index("ix_reports_retention", table_name="reports")
    with op.batch_alter_table("reports") as batch:
        for name in reversed(NEW_REPORT_COLUMNS):
            batch.drop_column(name)
