"""The spike test assessment reads an area's last 24 hours with (ADR 0041).

The maths lives in `shared/spike.py`, shared with triage's `cluster` rule so that both read
"well above its own normal" the same way; the names assessment has always used stay here.
"""

from __future__ import annotations

from shared.spike import ALPHA, FLOOR, MIN_COUNT, MIN_RATIO, SpikeResult, poisson_upper_tail, spike_test

__all__ = ["ALPHA", "FLOOR", "MIN_COUNT", "MIN_RATIO", "SpikeResult", "poisson_upper_tail", "spike_test"]
