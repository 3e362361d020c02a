"""What makes reports one flood: near-identical content from one source, in a burst far above that source's normal.

Pure: the ruleset's `floods` parameters, the content each report is compared by, and the burst test. Where
the reports come from (the report memory) and what is done about a flood (the group, one page) live in
`grouping.py`. A report's words never reach triage, not even hashed: intake says which earlier reports had
the same normalised description (the memory keys them alike: the same content), and otherwise the reports'
non-personal facts are compared.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from shared.events.reports import IncidentFacts, Injuries
from shared.spike import SpikeResult, spike_against

BASES = ("source", "contact")


@dataclass(frozen=True)
class FloodPolicy:
    """The ruleset's `floods` section (docs/triage-rules.md)."""

    explanation: str
    by: tuple[str, ...]
    within: timedelta
    at_least: int
    similarity: float
    baseline: timedelta
    alpha: float
    min_ratio: float
    floor: float

    @classmethod
    def of(cls, doc: Mapping[str, Any], within: timedelta) -> FloodPolicy:
        return cls(explanation=doc["explanation"], by=tuple(doc["by"]), within=within, at_least=doc["at_least"],
                   similarity=doc["similarity"], baseline=timedelta(days=doc["baseline_days"]), alpha=doc["alpha"],
                   min_ratio=doc["min_ratio"], floor=doc["floor"])


@dataclass(frozen=True)
class Sketch:
    """What a report's content is compared by: its facts as tokens, and the keyed hash of its words."""

    tokens: frozenset[str]
    words: str | None = None

    @classmethod
    def of(cls, facts: IncidentFacts, place_fp: str | None = None, words: str | None = None) -> Sketch:
        where = facts.location.district or facts.location.area
        tokens = {f"type:{t}" for t in facts.types} | {f"strand:{s}" for s in facts.targeted_characteristics}
        tokens |= {f"vulnerable:{v}" for v in facts.vulnerabilities} | {f"place_type:{facts.location.place_type}",
                                                                        f"where:{where}"}
        optional = {f"religion:{facts.religion_targeted}": facts.religion_targeted is not None,
                    f"injuries:{facts.injuries}": facts.injuries != Injuries.none, "weapon": facts.weapon,
                    "ongoing": facts.ongoing, f"place:{place_fp}": place_fp is not None}
        return cls(frozenset(tokens | {token for token, present in optional.items() if present}), words)


def similarity(a: Sketch, b: Sketch) -> float:
    """1 for the same words; otherwise how much of their facts two reports share (Jaccard, 0 to 1)."""
    if a.words and a.words == b.words:
        return 1.0
    union = a.tokens | b.tokens
    return len(a.tokens & b.tokens) / len(union) if union else 1.0


def burst_test(similar: int, earlier: int, policy: FloodPolicy) -> SpikeResult:
    """`similar` near-identical reports within the window either side (this one counted) against the source's
    own rate over the baseline before it, scaled to the window: a flood is a spike of at least `at_least`."""
    expected = earlier * (2 * policy.within / policy.baseline)
    return spike_against(similar, expected, policy.alpha, policy.at_least, policy.min_ratio, policy.floor)


def evidence(result: SpikeResult, basis: str, policy: FloodPolicy) -> str:
    """Why the group was formed, as staff read it (nothing that identifies the source)."""
    minutes = round(policy.within / timedelta(minutes=1))
    who = "source address" if basis == "source" else "reporter contact"
    return (f"{result.observed} near-identical reports from one {who} within {minutes} minutes either side, "
            f"against {result.expected:.2f} expected from its own last {policy.baseline.days} days "
            f"(Poisson P = {result.p_value:.1g})")
