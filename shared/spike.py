"""The spike test: is a window's count more than its own baseline can explain?

Counts of reports in a window are modelled as Poisson. The expected count is the mean of the
same window in earlier periods (assessment: the same 24 hours in each of the previous four
weeks; triage: the same window either side of a report, a week back, two weeks back, ...), so a
normal weekly rhythm (busier Fridays) is part of the baseline and not mistaken for a surge. It
never falls below ``floor`` (a place with no history would otherwise turn its first two reports
into a spike). A spike needs all three of:

- the upper-tail probability P(X >= observed | expected) below ``alpha`` (0.001 by default),
- at least ``min_count`` reports in the window (5),
- at least ``min_ratio`` times the expected count (2.0).

Pure arithmetic, shared by assessment and triage so both read "well above its own normal" alike.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

ALPHA = 0.001
MIN_COUNT = 5
MIN_RATIO = 2.0
FLOOR = 0.5


@dataclass(frozen=True)
class SpikeResult:
    observed: int
    expected: float
    p_value: float
    spike: bool

    @property
    def ratio(self) -> float:
        return self.observed / self.expected if self.expected else math.inf

    def reason(self) -> str:
        verdict = "spike" if self.spike else "no spike"
        return (f"{verdict}: {self.observed} reports in 24 h against {self.expected:.1f} expected "
                f"(Poisson P(X>={self.observed}) = {self.p_value:.2g}, threshold {ALPHA:g})")


def poisson_upper_tail(k: int, mean: float) -> float:
    """P(X >= k) for X ~ Poisson(mean), summed in log space so large k cannot overflow."""
    if k <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    below = 0.0
    log_term = -mean  # log P(X = 0)
    for i in range(k):
        if i:
            log_term += math.log(mean) - math.log(i)
        below += math.exp(log_term)
    return max(0.0, min(1.0, 1.0 - below)) if below < 0.999999 else _tail_direct(k, mean)


def _tail_direct(k: int, mean: float) -> float:
    """When the lower sum is nearly 1 the subtraction loses every digit; sum the upper terms instead."""
    log_term = -mean + k * math.log(mean) - math.lgamma(k + 1)
    total = 0.0
    i = k
    while True:
        term = math.exp(log_term)
        total += term
        if term < total * 1e-16 or i > k + 10_000:
            return min(1.0, total)
        i += 1
        log_term += math.log(mean) - math.log(i)


def spike_test(observed: int, history: Sequence[int], alpha: float = ALPHA, min_count: int = MIN_COUNT,
               min_ratio: float = MIN_RATIO, floor: float = FLOOR) -> SpikeResult:
    """`history`: the counts of the same window in earlier periods (most recent first)."""
    return spike_against(observed, sum(history) / len(history) if history else 0.0, alpha, min_count, min_ratio,
                         floor)


def spike_against(observed: int, mean: float, alpha: float = ALPHA, min_count: int = MIN_COUNT,
                  min_ratio: float = MIN_RATIO, floor: float = FLOOR) -> SpikeResult:
    """The same test against an expected count already worked out (a rate scaled to the window)."""
    expected = max(floor, mean)
    p = poisson_upper_tail(observed, expected)
    spike = p < alpha and observed >= min_count and observed >= min_ratio * expected
    return SpikeResult(observed, round(expected, 6), p, spike)
