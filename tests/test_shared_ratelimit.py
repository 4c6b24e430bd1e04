"""The per-process request budget."""

from __future__ import annotations

import time

import pytest
from pyrate_limiter import Rate

from taps.shared.ratelimit import SAFETY_STRETCH, RateBudget, rates_for


def test_rates_spread_a_minute_budget_over_seconds() -> None:
    def plain(rates: list[Rate]) -> list[tuple[int, int]]:
        return [(r.limit, r.interval) for r in rates]

    assert plain(rates_for(600)) == [(10, int(1000 * SAFETY_STRETCH))]
    assert plain(rates_for(20)) == [(1, int(1000 * SAFETY_STRETCH)), (20, int(60_000 * SAFETY_STRETCH))]
    with pytest.raises(ValueError, match="positive"):
        rates_for(0)


def test_budget_blocks_beyond_the_rate() -> None:
    budget = RateBudget("test", 300)  # 5 per second
    started = time.monotonic()
    for _ in range(11):
        budget.acquire()
    elapsed = time.monotonic() - started
    # 5 at once, 5 after ~1 s, the 11th after ~2 s: never more than 5 in any second.
    assert elapsed >= 2 * SAFETY_STRETCH - 0.05
    assert budget.acquired == 11
