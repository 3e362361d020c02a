"""Shared fixtures. Kafka and PostgreSQL come from the environment, testcontainers, or are
started here from the local jars and Debian's binaries, once per test session."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from shared.settings import VigilSettings
from tests.support.infra import kafka_broker, postgres_server, scratch_databases


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with kafka_broker(tmp_path_factory.mktemp("kafka")) as bootstrap:
        yield bootstrap


@pytest.fixture(scope="session")
def postgres_admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with postgres_server(tmp_path_factory.mktemp("postgres")) as url:
        yield url


@pytest.fixture
def new_database(postgres_admin_url: str) -> Iterator[Callable[[str], str]]:
    """A fresh, empty PostgreSQL database per call, so tests never see each other's rows; dropped after."""
    with scratch_databases(postgres_admin_url) as create:
        yield create


@pytest.fixture
def topic_prefix() -> str:
    return f"t{uuid.uuid4().hex[:8]}."


@pytest.fixture
def vigil_settings(kafka_bootstrap: str, topic_prefix: str) -> VigilSettings:
    return VigilSettings(environment="test", kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix,
                         topic_partitions=3)


@pytest.fixture
def logdir(tmp_path: Path) -> Path:
    path = tmp_path / "logs"
    path.mkdir()
    return path
