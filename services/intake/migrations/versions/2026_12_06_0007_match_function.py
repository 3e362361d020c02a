"""Intake: `intake_match`, a group commit's matching in one call, and indexes in the order it reads (ADR 0058).

The match indexes gain report_id, the queries' tie-break: the index then gives their whole order, so a query
stops after its limit instead of reading and sorting every earlier match (a flood from one contact has
thousands: each report cost more than the last).

The same queries as `Matcher.match` in services/intake/matching.py, for a whole batch of reports in order, so
each report sees the ones before it. The windows and bounds come in as arguments (they are written once, in
matching.py). It runs in its own transaction just before the group commit's, without waiting for the disk:
matches are advisory and the report itself is committed durably by the group commit, and a batch whose commit
then fails leaves rows naming reports nobody will see, which no consumer can find.

PostgreSQL only; on SQLite `Matcher.match` runs in the group commit's transaction.

Revision ID: intake_0006
Revises: intake_0006
Create Date: 2026-12-06
"""
from alembic import op

revision = "intake_0007"
down_revision = "intake_0006"
branch_labels = None
depends_on = None

FUNCTION = """
CREATE OR REPLACE FUNCTION intake_match(p_reports jsonb, p_contact_window interval, p_duplicate_window interval,
                                        p_burst_gap interval, p_burst_span interval, p_normal_window interval,
                                        p_max_matches integer, p_normal_cap integer) RETURNS jsonb
LANGUAGE plpgsql SET synchronous_commit = off AS $$
DECLARE
    r record;
    answers jsonb[] := '{}';  -- appended in place (an expanded array), not copied per report
    same_contact jsonb;
    duplicates jsonb;
    burst text;
    opened timestamptz;
    normal integer;
BEGIN
    FOR r IN SELECT * FROM jsonb_to_recordset(p_reports)
             AS x(report_id text, at timestamptz, contact_hash text, content_hash text, source_hash text,
                  new_token text)
    LOOP
        same_contact := '[]'::jsonb;
        duplicates := '[]'::jsonb;
        burst := NULL;
        normal := NULL;
        IF r.contact_hash IS NOT NULL THEN
            SELECT coalesce(jsonb_agg(e.report_id ORDER BY e.submitted_at, e.report_id), '[]'::jsonb)
              INTO same_contact
              FROM (SELECT m.report_id, m.submitted_at FROM report_matches m
                     WHERE m.contact_hash = r.contact_hash
                       AND m.submitted_at >= r.at - p_contact_window AND m.submitted_at <= r.at
                     ORDER BY m.submitted_at, m.report_id LIMIT p_max_matches) e;
        END IF;
        IF r.content_hash IS NOT NULL THEN
            SELECT coalesce(jsonb_agg(e.report_id ORDER BY e.submitted_at, e.report_id), '[]'::jsonb)
              INTO duplicates
              FROM (SELECT m.report_id, m.submitted_at FROM report_matches m
                     WHERE m.content_hash = r.content_hash
                       AND m.submitted_at >= r.at - p_duplicate_window AND m.submitted_at <= r.at
                     ORDER BY m.submitted_at, m.report_id LIMIT p_max_matches) e;
        END IF;
        IF r.source_hash IS NOT NULL THEN
            INSERT INTO source_bursts AS b (source_hash, token, opened_at, last_at)
                 VALUES (r.source_hash, r.new_token, r.at, r.at)
            ON CONFLICT (source_hash) DO UPDATE SET
                token = coalesce(CASE WHEN b.last_at >= r.at - p_burst_gap AND b.opened_at >= r.at - p_burst_span
                                      THEN b.token END, excluded.token),
                opened_at = coalesce(CASE WHEN b.last_at >= r.at - p_burst_gap
                                           AND b.opened_at >= r.at - p_burst_span
                                          THEN b.opened_at END, excluded.opened_at),
                last_at = greatest(b.last_at, excluded.last_at)
            RETURNING b.token, b.opened_at INTO burst, opened;
            SELECT count(*) INTO normal
              FROM (SELECT 1 FROM report_matches m
                     WHERE m.source_hash = r.source_hash
                       AND m.submitted_at >= opened - p_normal_window AND m.submitted_at < opened
                     LIMIT p_normal_cap) w;
        END IF;
        INSERT INTO report_matches (report_id, submitted_at, contact_hash, content_hash, source_hash, source_burst)
             VALUES (r.report_id, r.at, r.contact_hash, r.content_hash, r.source_hash, burst);
        answers := array_append(answers, jsonb_build_object(
            'same_contact', same_contact, 'duplicates', duplicates, 'burst', burst, 'normal', normal));
    END LOOP;
    RETURN to_jsonb(answers);
END
$$
"""


MATCHED = ("contact_hash", "content_hash", "source_hash")


def _indexes(columns: list[str]) -> None:
    for column in MATCHED:
        op.drop_index(f"ix_report_matches_{column}", table_name="report_matches")
        op.create_index(f"ix_report_matches_{column}", "report_matches", [column, *columns])


def upgrade() -> None:
    _indexes(["submitted_at", "report_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FUNCTION)


def downgrade() -> None:
    _indexes(["submitted_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS intake_match(jsonb, interval, interval, interval, interval, interval, "
                   "integer, integer)")
