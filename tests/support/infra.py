"""Finding Kafka and PostgreSQL for the tests: the environment, then testcontainers, then local servers."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa


def docker_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (subprocess.TimeoutExpired, OSError):
        return False


@contextmanager
def kafka_broker(workdir: Path) -> Iterator[str]:
    given = os.environ.get("VIGIL_TEST_KAFKA_BOOTSTRAP")
    if given:
        yield given
        return
    if docker_answers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer("apache/kafka:4.1.1").with_kraft() as container:
            yield container.get_bootstrap_server()
        return
    from infra.kafka.local import LocalKafka

    with LocalKafka(workdir) as broker:
        yield broker.bootstrap


@contextmanager
def postgres_server(workdir: Path, durable: bool = False) -> Iterator[str]:
    """Yields an admin URL on a server where the tests may create databases.

    A local server started here waits for the disk only when `durable` (the benchmarks); a given
    server or a container is used as it is configured.
    """
    given = os.environ.get("VIGIL_TEST_DATABASE_URL")
    if given:
        yield given
        return
    if docker_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16", driver="psycopg") as container:
            yield container.get_connection_url()
        return
    from infra.postgres.local import LocalPostgres

    with postgres_home() as home, LocalPostgres(home / "server", durable=durable) as server:
        yield server.url


@contextmanager
def postgres_home() -> Iterator[Path]:
    """A directory for a local PostgreSQL server, removed afterwards. Not under pytest's private temp dir:
    the server runs as the postgres user when we are root, and that user must reach it."""
    home = Path(tempfile.mkdtemp(prefix="vigil-pg-"))
    home.chmod(0o755)
    try:
        yield home
    finally:
        shutil.rmtree(home, ignore_errors=True)


def create_database(admin_url: str, prefix: str = "vigil") -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return str(sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False))


def drop_database(admin_url: str, url: str) -> None:
    """Drop a database `create_database` made, closing whatever is still connected (PostgreSQL 13+)."""
    name = sa.engine.make_url(url).database
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


@contextmanager
def scratch_databases(admin_url: str) -> Iterator[Callable[[str], str]]:
    """`create_database` for the block; every database it made is dropped afterwards, even on failure.

    On a long-lived server (a developer's, or one given by VIGIL_TEST_DATABASE_URL) databases left behind
    pile up, and autovacuum keeps visiting them.
    """
    made: list[str] = []

    def create(prefix: str = "vigil") -> str:
        made.append(create_database(admin_url, prefix))
        return made[-1]

    try:
        yield create
    finally:
        for url in made:
            drop_database(admin_url, url)
