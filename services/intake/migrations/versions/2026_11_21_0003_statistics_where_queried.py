"""Intake: planner statistics only on the columns intake's queries filter or order by (ADR 0045).

Autovacuum analyses the report tables while a surge fills them. By default it samples 30,000 rows and
sorts every column of the sample, the event's JSON text included: 0.6-0.7 s of CPU for event_log,
reports and report_keys at 35,000 reports, taken from the HTTP workers on a small machine. The queried
columns (keys looked up by equality, the relay's sequence range) keep a target of 10, which samples 3,000
rows; the others get none. The plans are the same index scans. SQLite has no such setting.

Revision ID: intake_0003
Revises: intake_0002
Create Date: 2026-11-21
"""
import sqlalchemy as sa
from alembic import op

revision = "intake_0003"
down_revision = "intake_0002"
branch_labels = None
depends_on = None

QUERIED = {
    "event_log": ["seq", "stream_id", "version"],  # the relay's range; a stream's events
    "reports": ["report_id", "reference"],  # the reporter's follow-up, the status follower
    "report_keys": ["report_id"],
}
TARGET = 10


def _set(targets: dict[str, dict[str, int]]) -> None:
    for table, columns in targets.items():
        op.execute(f"ALTER TABLE {table} " + ", ".join(
            f'ALTER COLUMN "{column}" SET STATISTICS {target}' for column, target in columns.items()))


def _columns(table: str) -> list[str]:
    return [c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _set({table: {c: TARGET if c in queried else 0 for c in _columns(table)} for table, queried in QUERIED.items()})


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _set({table: {c: -1 for c in _columns(table)} for table in QUERIED})  # -1: the server's default
