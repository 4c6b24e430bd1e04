"""Sliding-window request limits that also measure how close a client came to them."""

from __future__ import annotations

from collections import deque


def parse_rate(spec: str) -> tuple[int, float]:
    """``"10/1"`` -> ``(10, 1.0)``."""
    count, sep, seconds = spec.partition("/")
    if not sep:
        msg = f"bad rate {spec!r}: use N/SECONDS, e.g. 10/1"
        raise ValueError(msg)
    return int(count), float(seconds)


class SlidingWindow:
    """At most ``limit`` requests in any ``seconds``; every arrival is counted."""

    def __init__(self, limit: int, seconds: float) -> None:
        """Create an empty window."""
        self.limit = limit
        self.seconds = seconds
        self._arrivals: deque[float] = deque()
        self.max_in_window = 0

    def arrive(self, now: float) -> bool:
        """Record an arrival; False when it exceeds the limit (answer 429)."""
        arrivals = self._arrivals
        while arrivals and arrivals[0] <= now - self.seconds:
            arrivals.popleft()
        allowed = len(arrivals) < self.limit
        arrivals.append(now)
        self.max_in_window = max(self.max_in_window, len(arrivals))
        return allowed
