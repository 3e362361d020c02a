"""Identifiers: event ids, aggregate ids, short human references."""

from __future__ import annotations

import secrets
import uuid

# No look-alikes (0/O, 1/I/L, 5/S, 2/Z, 8/B, U/V), so a reference read over the phone survives.
REFERENCE_ALPHABET = "ACDEFGHJKMNPQRTWXY34679"


def new_id() -> str:
    return str(uuid.uuid4())


def new_reference(length: int = 10) -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(length))


def deterministic_id(*parts: str) -> str:
    """A stable UUID from its parts: the same inputs give the same id (idempotency keys)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "vigil:" + "\x1f".join(parts)))
