"""Each service's own PostgreSQL role owns its own database; no role reaches another service's tables.

Runs the very file docker-compose's PostgreSQL runs at its first start (infra/docker/postgres-init.sql), with
psql, on the test server, its names prefixed so it cannot meet anyone else's; each service's migrations then
run as that service's role, as compose's `migrate` does.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError, ProgrammingError

from shared.migrate import upgrade
from shared.settings import SERVICES

INIT_SQL = Path(__file__).resolve().parents[2] / "infra" / "docker" / "postgres-init.sql"
pytestmark = pytest.mark.skipif(shutil.which("psql") is None, reason="needs psql, as the postgres image has")


@pytest.fixture(scope="module")
def roles(postgres_admin_url: str) -> Iterator[dict[str, str]]:
    """Each service's database URL, as its own role, made by the init script."""
    admin = sa.engine.make_url(postgres_admin_url)
    prefix = f"t{uuid.uuid4().hex[:8]}_"
    passwords = {service: uuid.uuid4().hex for service in SERVICES}
    variables = [arg for service in SERVICES for arg in ("-v", f"{service}_password={passwords[service]}")]
    libpq = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    ran = subprocess.run(["psql", "--no-psqlrc", "-q", libpq, "-v", f"prefix={prefix}", *variables,
                          "-f", str(INIT_SQL)], capture_output=True, text=True, timeout=60, check=False)
    assert ran.returncode == 0, ran.stderr
    urls = {service: admin.set(username=prefix + service, password=passwords[service], database=prefix + service
                               ).render_as_string(hide_password=False) for service in SERVICES}
    try:
        yield urls
    finally:
        engine = sa.create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            for service in SERVICES:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{prefix}{service}" WITH (FORCE)'))
                conn.execute(sa.text(f'DROP ROLE IF EXISTS "{prefix}{service}"'))
        engine.dispose()


def _as(url: str, database_of: str | None = None) -> sa.Engine:
    """An engine for the role in `url`, on its own database or on `database_of`'s."""
    target = sa.engine.make_url(url)
    if database_of is not None:
        target = target.set(database=sa.engine.make_url(database_of).database)
    return sa.create_engine(target, poolclass=sa.pool.NullPool)


def test_each_role_migrates_and_uses_its_own_database(roles: dict[str, str]) -> None:
    for service in ("intake", "triage"):
        upgrade(service, roles[service])
        with _as(roles[service]).connect() as conn:
            owner = conn.execute(sa.text("SELECT tableowner FROM pg_tables WHERE tablename = 'event_log'")).scalar()
            assert owner == sa.engine.make_url(roles[service]).username


def test_no_role_connects_to_another_services_database(roles: dict[str, str]) -> None:
    for service in SERVICES:
        for other in set(SERVICES) - {service}:
            with pytest.raises(OperationalError, match="permission denied for database"):
                _as(roles[service], database_of=roles[other]).connect().close()


def test_even_let_in_a_role_reads_none_of_another_services_tables(roles: dict[str, str],
                                                                  postgres_admin_url: str) -> None:
    """Were an administrator to let assessment connect to intake's database, the tables are still intake's."""
    upgrade("intake", roles["intake"])
    intake_db = sa.engine.make_url(roles["intake"]).database
    assessment_role = sa.engine.make_url(roles["assessment"]).username
    admin = sa.create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'GRANT CONNECT ON DATABASE "{intake_db}" TO "{assessment_role}"'))
    admin.dispose()
    engine = _as(roles["assessment"], database_of=roles["intake"])
    for table in ("report_keys", "reports", "event_log"):
        with engine.connect() as conn, pytest.raises(ProgrammingError, match=f"permission denied for table {table}"):
            conn.execute(sa.text(f"SELECT count(*) FROM {table}"))  # noqa: S608  (this test's own names)
    with engine.connect() as conn, pytest.raises(ProgrammingError, match="permission denied for schema public"):
        conn.execute(sa.text("CREATE TABLE copied (x int)"))
    engine.dispose()
