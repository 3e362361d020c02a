"""The four services as real processes on a real broker and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from infra.procs import stop_processes
from shared.migrate import upgrade
from shared.settings import VigilSettings
from tests.support.services import ServiceProcess

SERVICES = ("intake", "triage", "notify", "assessment")


def stack_env(settings: VigilSettings, new_database: Callable[[str], str]) -> dict[str, str]:
    env = {"VIGIL_ENVIRONMENT": "test", "VIGIL_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
           "VIGIL_TOPIC_PREFIX": settings.topic_prefix,
           "VIGIL_TOPIC_PARTITIONS": str(settings.topic_partitions)}
    for name in SERVICES:
        url = new_database(name)
        upgrade(name, url)
        env[f"{name.upper()}_DATABASE_URL"] = url
    return env


@contextmanager
def running(env: dict[str, str], logdir: Path,
            names: tuple[str, ...] = SERVICES) -> Iterator[dict[str, ServiceProcess]]:
    procs: dict[str, ServiceProcess] = {}
    try:
        env = dict(env)
        for name in names:
            procs[name] = ServiceProcess(name, env, logdir).start()
            if name in ("intake", "triage"):  # the others reach their internal APIs here
                env[f"VIGIL_{name.upper()}_INTERNAL_URL"] = procs[name].url
        yield procs
    finally:
        stop_processes([p.proc for p in procs.values() if p.proc is not None], grace=20)
