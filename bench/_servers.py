"""Where the benchmarks find Kafka and PostgreSQL: the same order as the tests (the environment,
testcontainers, else a local broker and server started here and stopped afterwards).

A PostgreSQL server started here is durable (PostgreSQL's defaults: a commit waits for the disk),
unlike the test suite's (ADR 0048); whichever server is used, the results say how it was set."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from tests.support.infra import kafka_broker, postgres_server

DURABILITY = ("fsync", "synchronous_commit", "full_page_writes")


@contextmanager
def kafka(given: str | None) -> Iterator[str]:
    if given:
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="vigil-bench-kafka-") as tmp, kafka_broker(Path(tmp)) as bootstrap:
        yield bootstrap


@contextmanager
def postgres(given: str | None) -> Iterator[str]:
    if given:
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="vigil-bench-pg-") as tmp, postgres_server(Path(tmp), durable=True) as url:
        yield url


def postgres_settings(admin_url: str) -> dict[str, str]:
    """The server's version and the settings that decide whether a commit is on disk when it returns."""
    engine = sa.create_engine(admin_url)
    try:
        with engine.connect() as conn:
            return {name: str(conn.exec_driver_sql(f"SHOW {name}").scalar_one())
                    for name in ("server_version", *DURABILITY)}
    finally:
        engine.dispose()


def describe_postgres(settings: dict[str, str]) -> str:
    """One sentence for a results file."""
    named = ", ".join(f"{name}={settings[name]}" for name in DURABILITY)
    waits = all(settings[name] == "on" for name in DURABILITY)
    return (f"PostgreSQL {settings['server_version'].split()[0]} with {named}: "
            + ("a commit is on disk before it returns (PostgreSQL's defaults)" if waits else
               "**a commit does not wait for the disk**, so these figures flatter a durable server"))
