"""Intake: a group commit of accepted reports as one call of a PostgreSQL function (ADR 0044).

The writer sends its rows as four jsonb arrays; the function takes the append lock (with the relay's
NOTIFY) and then inserts them, all in the one statement's transaction. Columns are those of revision
intake_0001: a migration that changes these tables replaces the function too (the writer's test compares
what it stores with what SQLAlchemy stores, column by column). SQLite has no functions and needs none:
there the writer inserts through SQLAlchemy.

Revision ID: intake_0002
Revises: intake_0001
Create Date: 2026-11-21
"""
from alembic import op

revision = "intake_0002"
down_revision = "intake_0001"
branch_labels = None
depends_on = None

FUNCTION = """
CREATE FUNCTION intake_group_commit(p_lock_key bigint, p_channel text, p_report_keys jsonb, p_reports jsonb,
                                    p_idempotency jsonb, p_events jsonb) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    -- Appends one at a time, so the event log's sequence is commit order; the relay is woken at commit.
    PERFORM pg_advisory_xact_lock(p_lock_key), pg_notify(p_channel, '');
    INSERT INTO report_keys (report_id, wrapped_key, created_at, destroyed_at)
        SELECT report_id, wrapped_key, created_at, destroyed_at
        FROM jsonb_populate_recordset(NULL::report_keys, p_report_keys);
    INSERT INTO reports (report_id, reference, token_hash, status, area, centre_id, external_reference,
                         created_at, updated_at)
        SELECT report_id, reference, token_hash, status, area, centre_id, external_reference, created_at, updated_at
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


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION intake_group_commit(bigint, text, jsonb, jsonb, jsonb, jsonb)")
