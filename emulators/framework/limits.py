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
    """At most ``limit`` accepted requests in any ``seconds``.

    Rejected arrivals do not use up the window unless ``count_rejected`` (a vendor that
    documents counting every attempt). ``max_in_window`` measures accepted requests only, so
    it tells how close a client came to the limit (plus the rejected ones when they count).
    """

    def __init__(self, limit: int, seconds: float, *, count_rejected: bool = False) -> None:
        """Create an empty window."""
        self.limit = limit
        self.seconds = seconds
        self.count_rejected = count_rejected
        self._arrivals: deque[float] = deque()
        self.max_in_window = 0

    def _expire(self, now: float) -> None:
        arrivals = self._arrivals
        while arrivals and arrivals[0] <= now - self.seconds:
            arrivals.popleft()

    def arrive(self, now: float) -> bool:
        """Record an arrival; False when it exceeds the limit (answer 429)."""
        self._expire(now)
        allowed = len(self._arrivals) < self.limit
        if allowed or self.count_rejected:
            self._arrivals.append(now)
            self.max_in_window = max(self.max_in_window, len(self._arrivals))
        return allowed

    def wait_seconds(self, now: float) -> float:
        """Seconds until a request would be allowed (0.0 when one is allowed now)."""
        self._expire(now)
        excess = len(self._arrivals) - self.limit
        if excess < 0:
            return 0.0
        # The window must drop ``excess + 1`` arrivals; the last of those leaves at this time.
        return max(self._arrivals[excess] + self.seconds - now, 0.0)
