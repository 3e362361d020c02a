"""The benchmarks measure intake against a PostgreSQL that waits for the disk, and say so (ADR 0048)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench._servers import DURABILITY, describe_postgres, postgres_settings
from infra.postgres.local import LocalPostgres


@pytest.fixture
def home() -> Iterator[Path]:
    """Not under pytest's private temp dir: the server may run as the postgres user, who must reach it."""
    path = Path(tempfile.mkdtemp(prefix="vigil-pg-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


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
