"""With `<SERVICE>_INTERNAL_PORT` set, a service serves its internal routes there and nowhere else.

Triage as a real process (`vigil triage api`), one HTTP worker and two: the public port refuses
`/internal/...` (404, as a path that is not there), the internal port answers only `/internal/...` (and
`/healthz`), each still behind the caller's credential.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from infra.procs import free_port
from shared.migrate import upgrade
from shared.servicecalls import service_headers
from shared.settings import VigilSettings
from shared.staffaccess import INTROSPECT_PATH
from tests.support.services import ServiceProcess

PROBLEM = "application/problem+json"


@pytest.mark.parametrize("workers", ["1", "2"])
def test_internal_routes_answer_on_the_internal_port_only(workers: str, new_database: Callable[[str], str],
                                                          logdir: Path) -> None:
    url = new_database("triage")
    upgrade("triage", url)
    internal_port = free_port()
    env = {"VIGIL_ENVIRONMENT": "test", "TRIAGE_DATABASE_URL": url, "TRIAGE_INTERNAL_PORT": str(internal_port)}
    triage = ServiceProcess("triage", env, logdir, mode="api", args=("--workers", workers)).start()
    try:
        public, internal = triage.url, f"http://127.0.0.1:{internal_port}"
        notify = service_headers(VigilSettings(environment="test"), "notify")
        asked = {"token": "no-such-session"}

        refused = httpx.post(public + INTROSPECT_PATH, json=asked, headers=notify, timeout=10)
        assert refused.status_code == 404 and refused.headers["content-type"] == PROBLEM
        assert "internal port" in refused.json()["detail"]
        spoofed = httpx.post(public + INTROSPECT_PATH, json=asked, timeout=10,
                             headers={**notify, "Host": f"127.0.0.1:{internal_port}"})
        assert spoofed.status_code == 404, "the port is the socket's, not the Host header's"
        answered = httpx.post(internal + INTROSPECT_PATH, json=asked, headers=notify, timeout=10)
        assert answered.status_code == 200 and answered.json() == {"active": False}
        assert httpx.post(internal + INTROSPECT_PATH, json=asked, timeout=10).status_code == 401, "still guarded"

        assert httpx.get(f"{public}/v1/session", timeout=10).status_code == 401  # the public API, as ever
        assert httpx.get(f"{internal}/v1/session", timeout=10).status_code == 404
        assert httpx.get(f"{internal}/login", timeout=10).status_code == 404
        assert httpx.get(f"{internal}/healthz", timeout=10).status_code == 200
        assert httpx.get(f"{public}/healthz", timeout=10).status_code == 200
    finally:
        triage.stop()
