"""The benchmarks measure intake against a PostgreSQL that waits for the disk, and say so (ADR 0048)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench._servers import DURABILITY, describe_postgres, postgres_settings
from infra.postgres.local import LocalPostgres
from tests.support.infra import postgres_home


@pytest.fixture
def home() -> Iterator[Path]:
    with postgres_home() as path:
        yield path


def test_a_durable_local_server_keeps_postgresqls_defaults_and_the_results_say_so(home: Path) -> None:
    with LocalPostgres(home / "durable", durable=True) as server:
        durable = postgres_settings(server.url)
    assert {durable[name] for name in DURABILITY} == {"on"}
    assert "a commit is on disk before it returns" in describe_postgres(durable)
    with LocalPostgres(home / "scratch") as server:
        scratch = postgres_settings(server.url)
    assert {scratch[name] for name in DURABILITY} == {"off"}
    assert "does not wait for the disk" in describe_postgres(scratch)
    assert durable["server_version"] == scratch["server_version"]
