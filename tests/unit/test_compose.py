"""docker-compose.yml describes the whole stack; checked by `docker compose config` where it exists, and run
where a Docker engine answers."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.infra import docker_answers

ROOT = Path(__file__).resolve().parents[2]
SERVICES = {"intake": 8001, "triage": 8002, "notify": 8003, "assessment": 8004}


def _compose() -> dict[str, object]:
    loaded = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_every_service_runs_from_the_image_with_its_port_and_a_health_check() -> None:
    services = _compose()["services"]
    assert isinstance(services, dict)
    for name, port in SERVICES.items():
        svc = services[name]
        assert svc["command"][:3] == ["vigil", name, "all"]
        assert svc["ports"] == [f"{port}:{port}"]
        assert f":{port}/healthz" in " ".join(svc["healthcheck"]["test"])
        assert svc["depends_on"]["kafka"]["condition"] == "service_healthy"
        assert svc["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert svc["environment"][f"{name.upper()}_DATABASE_URL"].endswith(f"/{name}")
    assert services["intake"]["command"][3:] == ["--workers", "2"], "intake takes surges with two HTTP workers"
    assert services["kafka"]["image"].startswith("apache/kafka:4.")
    assert "healthcheck" in services["kafka"] and "healthcheck" in services["postgres"]


def _compose_cli() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _compose_cli(), reason="the docker compose CLI plugin is not installed here")
def test_docker_compose_config_accepts_the_file() -> None:
    result = subprocess.run(["docker", "compose", "-f", str(ROOT / "docker-compose.yml"), "config", "--quiet"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """Mount target -> named volume, from the short syntax `name:/target[:mode]`."""
    return {spec.split(":")[1]: spec.split(":")[0] for spec in service.get("volumes", [])}


def test_the_broker_keeps_its_topics_on_the_mounted_volume() -> None:
    """The topics are the source of truth: a re-created container must find them where the volume is."""
    compose = _compose()
    kafka = compose["services"]["kafka"]  # type: ignore[index]
    log_dirs = [Path(d) for d in str(kafka["environment"]["KAFKA_LOG_DIRS"]).split(",")]
    mounts = _mounts(kafka)
    assert log_dirs
    for log_dir in log_dirs:
        volume = next((name for target, name in mounts.items() if log_dir.is_relative_to(target)), None)
        assert volume is not None, f"log.dirs {log_dir} is not inside a mounted volume ({mounts})"
        assert volume in compose["volumes"], "a named volume, kept when the container is re-created"  # type: ignore[operator]


def test_the_watchdog_runs_from_the_image_and_watches_every_service() -> None:
    services = _compose()["services"]
    assert isinstance(services, dict)
    watchdog = services["watchdog"]
    assert watchdog["command"] == ["vigil", "watchdog"]
    assert watchdog["image"] == services["intake"]["image"]
    watched = json.loads(watchdog["environment"]["WATCHDOG_SERVICES"])
    assert watched == {name: f"http://{name}:{port}" for name, port in SERVICES.items()}
    assert not watchdog["depends_on"], "it starts whatever else is down"


def _compose_runs(*args: str, project: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", "compose", "-p", project, "-f", str(ROOT / "docker-compose.yml"), *args],
                          capture_output=True, text=True, timeout=300)


@pytest.mark.skipif(not docker_answers(), reason="no Docker engine answers here")
def test_topics_survive_re_creating_the_broker_container() -> None:
    project = f"vigil-compose-{uuid.uuid4().hex[:8]}"
    topics = ["exec", "-T", "kafka", "/opt/kafka/bin/kafka-topics.sh", "--bootstrap-server", "localhost:9092"]
    try:
        assert _compose_runs("up", "-d", "--wait", "kafka", project=project).returncode == 0
        created = _compose_runs(*topics, "--create", "--topic", "vigil.survives.v1", project=project)
        assert created.returncode == 0, created.stderr
        recreated = _compose_runs("up", "-d", "--wait", "--force-recreate", "kafka", project=project)
        assert recreated.returncode == 0, recreated.stderr
        listed = _compose_runs(*topics, "--list", project=project)
        assert "vigil.survives.v1" in listed.stdout.split()
    finally:
        _compose_runs("down", "-v", project=project)
