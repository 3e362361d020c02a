"""Latency figures, computed one way for every benchmark."""

from __future__ import annotations

import statistics


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0 < q <= 1): the sorted samples' element at 0-based rank int(q * n), the largest for q = 1."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary_ms(latencies: list[float]) -> dict[str, float]:
    """p50, p90, p99, p99.9, max and mean of latencies in seconds, in milliseconds; {} for none."""
    if not latencies:
        return {}
    return {**{name: round(percentile(latencies, q) * 1000, 2)
               for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p999", 0.999))},
            "max": round(max(latencies) * 1000, 2), "mean": round(statistics.fmean(latencies) * 1000, 2)}
