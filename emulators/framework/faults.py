"""Fault injection: a seeded, deterministic mix of failures drawn once per vendor request."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

KINDS = ("429", "500", "502", "503", "reset", "truncate", "slow")


def parse_faults(spec: str) -> dict[str, float]:
    """``"429=0.1,truncate=0.05"`` -> ``{"429": 0.1, "truncate": 0.05}`` (validated)."""
    faults: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in (spec or "").split(","))):
        kind, sep, value = part.partition("=")
        if not sep or kind not in KINDS:
            msg = f"bad fault {part!r}: use kind=probability with kind in {', '.join(KINDS)}"
            raise ValueError(msg)
        probability = float(value)
        if not 0 <= probability <= 1:
            msg = f"fault probability must be within 0..1, got {part!r}"
            raise ValueError(msg)
        faults[kind] = probability
    if sum(faults.values()) > 1:
        msg = "fault probabilities add up to more than 1"
        raise ValueError(msg)
    return faults


@dataclass
class FaultPlan:
    """Which fault, if any, hits the next request; reproducible for a given seed."""

    seed: int
    faults: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Seed the generator; the n-th request always gets the same draw."""
        self._rng = random.Random(self.seed * 7919 + 17)
        self._truncations = 0

    def replace(self, spec: str) -> None:
        """Switch to a new mix at run time."""
        self.faults = parse_faults(spec)

    def draw(self) -> str | None:
        """The fault for this request, or None."""
        roll = self._rng.random()
        for kind, probability in self.faults.items():
            if roll < probability:
                return kind
            roll -= probability
        return None

    def truncate_with_length(self) -> bool:
        """Alternate the two truncation variants: with a full Content-Length, then without."""
        self._truncations += 1
        return self._truncations % 2 == 1
