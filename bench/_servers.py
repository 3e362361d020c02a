"""Where the benchmarks find Kafka and PostgreSQL: the same order as the tests (the environment,
testcontainers, else a local broker and server started here and stopped afterwards)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.infra import kafka_broker, postgres_server


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
    with tempfile.TemporaryDirectory(prefix="vigil-bench-pg-") as tmp, postgres_server(Path(tmp)) as url:
        yield url
