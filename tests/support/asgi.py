"""An ASGI app on a real socket in this process, for tests that need real HTTP between services."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn

from infra.procs import free_port
from tests.support.waiting import eventually


@contextmanager
def serving(app: Any, lifespan: str = "off", name: str = "asgi") -> Iterator[str]:
    """Its base URL while the block runs; the server stops (by its flag, joined) even when the test fails."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False,
                                           lifespan=lifespan))
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        eventually(lambda: server.started and httpx.get(f"{base}/healthz", timeout=2).status_code == 200, 20,
                   f"{name} to answer")
        yield base
    finally:
        server.should_exit = True
        thread.join(10)
