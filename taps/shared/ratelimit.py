"""A per-process request budget shared by every stream of a tap."""

from __future__ import annotations

import math
import typing as t

from pyrate_limiter import Limiter, Rate

#: Windows are stretched by this factor so that jitter between sending and the server's
#: arrival clock never shows more than the allowed number of requests in one window.
SAFETY_STRETCH = 1.05


def rates_for(requests_per_minute: float) -> list[Rate]:
    """Rates that keep to ``requests_per_minute``, spread evenly over each second.

    A budget of 600/min becomes "10 in any second" (a per-minute window alone would allow
    600 requests in the first second); a budget of 20/min becomes "1 in any second and 20 in
    any minute".
    """
    if requests_per_minute <= 0:
        msg = "requests_per_minute must be positive"
        raise ValueError(msg)
    per_second = math.ceil(requests_per_minute / 60)
    second_ms = int(1000 * SAFETY_STRETCH)
    rates = [Rate(per_second, second_ms)]
    if per_second * 60 > requests_per_minute:
        rates.append(Rate(math.floor(requests_per_minute), int(60_000 * SAFETY_STRETCH)))
    return rates


class RateBudget:
    """Blocks until a request may be sent without exceeding the budget.

    Built on pyrate-limiter (a maintained sliding-window limiter) rather than hand-written.
    """

    def __init__(self, name: str, requests_per_minute: float) -> None:
        """Create a budget called ``name`` allowing ``requests_per_minute``."""
        self.name = name
        self.requests_per_minute = requests_per_minute
        self._limiter = Limiter(rates_for(requests_per_minute))
        self.acquired = 0

    def acquire(self) -> None:
        """Wait for, and take, one request's worth of budget."""
        self._limiter.try_acquire(self.name, blocking=True)
        self.acquired += 1

    def observe(self, response: t.Any) -> None:
        """Learn from the answer to a request this budget allowed (None: no answer came).

        Every request that drew from the budget reports its response here.
        """
