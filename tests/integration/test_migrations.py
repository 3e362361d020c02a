"""Each service's migrations reach head on SQLite and PostgreSQL, match its tables.py, and go back down."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from shared.migrate import downgrade, upgrade

SERVICES = ["intake", "triage", "notify", "assessment"]


def _differences(url: str, service: str) -> list[object]:
    metadata = importlib.import_module(f"services.{service}.tables").metadata
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False,
                                                         "version_table": f"alembic_version_{service}"})
        diff = compare_metadata(context, metadata)
    engine.dispose()
    # Constraint and index names are cosmetic; tables and columns must match exactly.
    return [d for d in diff if not (isinstance(d, tuple) and d[0] in {"add_index", "remove_index",
                                                                      "add_constraint", "remove_constraint"})]


@pytest.mark.parametrize("service", SERVICES)
def test_migrations_reach_head_on_sqlite_and_match_the_tables(service: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / service}.db"
    upgrade(service, url)
    assert _differences(url, service) == []
    downgrade(service, url)
    inspector = sa.inspect(sa.create_engine(url))
    assert set(inspector.get_table_names()) <= {f"alembic_version_{service}"}


@pytest.mark.parametrize("service", SERVICES)
def test_migrations_reach_head_on_postgresql_and_match_the_tables(
        service: str, new_database: Callable[[str], str]) -> None:
    url = new_database(service)
    upgrade(service, url)
    assert _differences(url, service) == []
    engine = sa.create_engine(url)
    assert f"alembic_version_{service}" in sa.inspect(engine).get_table_names()
    assert _functions(engine) == FUNCTIONS.get(service, set())
    if service == "intake":  # ADR 0045: statistics only where intake's queries look
        assert _statistics(engine, "event_log") == {"seq": 10, "stream_id": 10, "version": 10} | {
            c: 0 for c in ("event_id", "type", "topic", "key", "source", "time", "data", "traceparent", "tracestate")}
        assert _statistics(engine, "reports")["reference"] == 10 and _statistics(engine, "reports")["area"] == 0
        downgrade(service, url, "intake_0002")
        assert set(_statistics(engine, "event_log").values()) == {-1}
    downgrade(service, url)
    assert set(sa.inspect(engine).get_table_names()) <= {f"alembic_version_{service}"}
    assert _functions(engine) == set()
    engine.dispose()


FUNCTIONS = {"intake": {"intake_group_commit", "intake_match"}}  # ADRs 0044, 0058


def _statistics(engine: sa.Engine, table: str) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT attname, attstattarget FROM pg_attribute WHERE attrelid = CAST(:t AS regclass) AND attnum > 0 "
            "AND NOT attisdropped"), {"t": table})
        return {name: int(target) for name, target in rows}


def _functions(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(sa.text(
            "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'public'")).scalars())
