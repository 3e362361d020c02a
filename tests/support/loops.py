"""Running a coroutine to completion from a test, whatever else holds the test thread's event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def on_a_loop_of_its_own(coroutine: Coroutine[Any, Any, T], timeout: float = 60) -> T:
    """asyncio.run on a fresh thread: a session-wide browser fixture (Playwright's sync API) may hold this
    thread's event loop, and asyncio.run refuses to start inside a running loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result(timeout=timeout)
