"""docker-compose.yml describes the whole stack; checked by `docker compose config` where it exists."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

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
