"""A per-process request budget shared by every stream of a tap, learning the server's limit.

Every request holds its place from when it is sent until one window after it ended (its
answer came, or it failed): the server counted it somewhere in between, so none of the
server's windows ever sees more than the budget allows, with no margin for latency.

The configured budget is a ceiling. When the server answers 429 the budget steps down to
the rate the server was seen to accept (the most answers accepted in any second of the last
``PEAK_HORIZON_SECONDS``), at most halving at once; after a run of accepted answers it
probes back up by a small fixed step, never above the configured budget. A probe that is
refused doubles the run needed before the next one, so a run meets a handful of 429s
instead of one every second. A 429 whose accepted peak is not below the current budget
(the server refused a rate it accepted moments ago: a transient or injected fault) leaves
the budget alone, so random 429s do not drain it.

A 429 with ``Retry-After`` is handled the same way (it proves the budget is above the
server's limit just as much), and the budget also pauses every request until the server's
time, so other threads do not spend the wait hitting the same limit. Answers that never
came (connection errors, timeouts) say nothing about the rate and are ignored.

``TAPS_RATE_BUDGET_LEARNING=off`` in the environment (or ``learn=False``) keeps the fixed
budget of earlier versions: 429s are only counted.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
import typing as t
from collections import deque

from taps.shared.retry import retry_after_seconds

if t.TYPE_CHECKING:
    from collections.abc import Callable

logger = logging.getLogger(__name__)

#: Accepted answers are counted in windows this much shorter than a second (see
#: ``COUNT_WINDOW_SECONDS``) and a cut holds this long.
SAFETY_STRETCH = 1.05
#: A request still unanswered after this long is no longer counted (a thread that ended
#: without reporting its answer must not hold a place for ever); beyond any request timeout.
IN_FLIGHT_CAP_SECONDS = 900.0

#: Environment variable that turns learning off ("off", "0", "false", "no").
LEARNING_ENV = "TAPS_RATE_BUDGET_LEARNING"
#: How far back accepted answers are kept to find the rate the server accepts.
PEAK_HORIZON_SECONDS = 10.0
#: Accepted answers are counted in windows a little shorter than a second, so that a
#: server's one-second window is never over-estimated by answers straddling two of its windows.
COUNT_WINDOW_SECONDS = 1 / SAFETY_STRETCH
#: After a cut, 429s for requests already sent at the old rate do not cut again.
CUT_HOLD_SECONDS = SAFETY_STRETCH
#: The most one 429 may cut the budget by (a fraction of the current rate).
MAX_CUT = 0.5
#: Accepted answers in a row before the first probe upwards.
PROBE_AFTER_ANSWERS = 50
#: The longest run of accepted answers ever required between probes.
MAX_PROBE_AFTER_ANSWERS = 6400
#: Each probe adds this fraction of the configured budget.
PROBE_STEP_FRACTION = 0.05
#: A change of at least this fraction of the configured budget is logged at INFO.
LOG_CHANGE_FRACTION = 0.1
#: Longest pause of the whole budget after a ``Retry-After`` (the retry waits on its own).
MAX_PAUSE_SECONDS = 60.0


class Rate(t.NamedTuple):
    """At most ``limit`` requests in any ``seconds``."""

    limit: int
    seconds: float


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
    rates = [Rate(per_second, 1.0)]
    if per_second * 60 > requests_per_minute:
        rates.append(Rate(max(math.floor(requests_per_minute), 1), 60.0))
    return rates


class _Slot:
    """One request's place in the budget while it is under way: when it was sent."""

    __slots__ = ("sent",)

    def __init__(self, sent: float) -> None:
        self.sent = sent


def learning_enabled_by_default() -> bool:
    """False when ``TAPS_RATE_BUDGET_LEARNING`` says off."""
    value = os.environ.get(LEARNING_ENV, "on").strip().lower()
    return value not in {"0", "off", "false", "no"}


def most_within(times: t.Iterable[float], seconds: float) -> int:
    """The most of the sorted ``times`` that fall within any span of ``seconds``."""
    window: deque[float] = deque()
    most = 0
    for moment in times:
        window.append(moment)
        while window[0] <= moment - seconds:
            window.popleft()
        most = max(most, len(window))
    return most


class RateBudget:
    """Blocks until a request may be sent without exceeding the budget; learns from 429s.

    A request holds its place in a window from when it is sent until one window after it
    ended (its answer came, or it failed). A server counts a request at some moment between
    the two, so no window of the server's ever holds more than the limit, whatever the
    latency, with no margin to add: a client sending at the limit keeps to it. Hand-written
    rather than pyrate-limiter (used before), which stamps an item when it is acquired and
    has no way to hold it until the answer; its windows had to be stretched by 5 % instead,
    and that margin alone made a rate-bound sync 1.05 x its floor. Safe to share between
    threads; learning changes the rates in place, so requests already counted stay counted.
    """

    def __init__(
        self,
        name: str,
        requests_per_minute: float,
        *,
        learn: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        """Create a budget called ``name`` allowing at most ``requests_per_minute``.

        ``learn`` None follows ``TAPS_RATE_BUDGET_LEARNING`` (on unless set to off).
        ``clock`` and ``sleep`` are for tests; by default a wait ends early when an answer
        frees a place.
        """
        self.name = name
        self.configured_per_minute = float(requests_per_minute)
        self.learning = learning_enabled_by_default() if learn is None else learn
        self._current = self.configured_per_minute
        self._rates = rates_for(requests_per_minute)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._freed = threading.Condition(self._lock)
        self._in_flight: dict[_Slot, None] = {}
        #: When requests ended, in order, for the longest window.
        self._ended: deque[float] = deque()
        self._mine = threading.local()
        #: Requests that took budget.
        self.acquired = 0
        #: 429 answers seen, with or without Retry-After.
        self.rate_limited = 0
        self._accepted_at: deque[float] = deque()
        self._answers_since_change = 0
        self._probe_after = PROBE_AFTER_ANSWERS
        self._last_change_was_probe = False
        self._last_cut_at = -math.inf
        self._paused_until = -math.inf
        self._last_logged = self.configured_per_minute

    @property
    def requests_per_minute(self) -> float:
        """The budget in force now (the configured one until the server refuses it)."""
        return self._current

    def acquire(self) -> None:
        """Wait for, and take, one request's worth of budget (for this thread's request)."""
        earlier: _Slot | None = getattr(self._mine, "slot", None)
        with self._lock:
            if earlier is not None:  # never reported; this thread has moved on, so it ended
                self._end(earlier, self._clock())
            while (wait := self._wait_seconds(self._clock())) > 0:
                self._wait(wait)
            slot = _Slot(self._clock())
            self._in_flight[slot] = None
            self.acquired += 1
        self._mine.slot = slot

    def _end(self, slot: _Slot, now: float) -> None:
        """``slot``'s request ended ``now``; called with the lock held."""
        if slot in self._in_flight:
            del self._in_flight[slot]
            self._ended.append(now)
            self._freed.notify_all()

    def _wait_seconds(self, now: float) -> float:
        """How long until a request may go (0: now); called with the lock held."""
        pause = self._paused_until - now
        if pause > 0:
            return pause
        ended = self._ended
        longest = max(rate.seconds for rate in self._rates)
        while ended and ended[0] + longest <= now:
            ended.popleft()
        for slot in [s for s in self._in_flight if s.sent + IN_FLIGHT_CAP_SECONDS <= now]:
            del self._in_flight[slot]
        wait = 0.0
        for limit, seconds in self._rates:
            room = limit - len(self._in_flight)
            if room <= 0:  # every place is taken by a request under way: until one ends
                wait = max(wait, min(s.sent for s in self._in_flight)
                           + IN_FLIGHT_CAP_SECONDS - now)
                continue
            # The ``room``-th most recent end still in this window must leave it first.
            if len(ended) >= room and (leaves := ended[-room] + seconds) > now:
                wait = max(wait, leaves - now)
        return wait

    def _wait(self, seconds: float) -> None:
        """Sleep ``seconds`` with the lock released; an answer freeing a place wakes it."""
        if self._sleep is None:
            self._freed.wait(seconds)
            return
        self._lock.release()
        try:
            self._sleep(seconds)
        finally:
            self._lock.acquire()

    def observe(self, response: t.Any) -> None:
        """The end of this thread's request, and what its answer teaches (None: no answer)."""
        slot: _Slot | None = getattr(self._mine, "slot", None)
        self._mine.slot = None
        now = self._clock()
        with self._lock:
            if slot is not None:
                self._end(slot, now)
            if response is None:
                return
            if response.status_code == 429:
                self.rate_limited += 1
                if not self.learning:
                    return
                server_wait = retry_after_seconds(response.headers.get("Retry-After"))
                if server_wait is not None:
                    self._paused_until = max(self._paused_until,
                                             now + min(server_wait, MAX_PAUSE_SECONDS))
                message = self._cut(now, server_wait)
            else:
                if not self.learning:
                    return
                self._remember_accepted(now)
                message = self._probe()
        if message is not None:
            level, text, args = message
            logger.log(level, text, *args)

    # Learning (called with the lock held) ------------------------------------------------

    def _remember_accepted(self, now: float) -> None:
        accepted = self._accepted_at
        accepted.append(now)
        while accepted[0] < now - PEAK_HORIZON_SECONDS:
            accepted.popleft()

    def _cut(self, now: float, server_wait: float | None) -> tuple[int, str, tuple] | None:
        """Step down to the rate the server was seen to accept; None when nothing changed."""
        if now - self._last_cut_at < CUT_HOLD_SECONDS:
            return None
        while self._accepted_at and self._accepted_at[0] < now - PEAK_HORIZON_SECONDS:
            self._accepted_at.popleft()
        peak = most_within(self._accepted_at, COUNT_WINDOW_SECONDS)
        target = max(peak * 60, math.floor(self._current * (1 - MAX_CUT)), 1)
        if target >= self._current:
            return None  # the server refused a rate it accepted moments ago: not the budget
        if self._last_change_was_probe and self._answers_since_change < self._probe_after:
            self._probe_after = min(self._probe_after * 2, MAX_PROBE_AFTER_ANSWERS)
        self._set(target, probe=False)
        self._last_cut_at = now
        self._last_logged = target
        cause = ("without Retry-After" if server_wait is None
                 else f"with Retry-After {server_wait:g} s")
        return (logging.INFO, "budget %s lowered to %d/min after a 429 %s "
                "(at most %d answers accepted in one second)", (self.name, target, cause, peak))

    def _probe(self) -> tuple[int, str, tuple] | None:
        """After a run of accepted answers, add one step (up to the configured budget)."""
        self._answers_since_change += 1
        if (self._current >= self.configured_per_minute
                or self._answers_since_change < self._probe_after):
            return None
        answers = self._answers_since_change
        step = max(round(self.configured_per_minute * PROBE_STEP_FRACTION), 1)
        target = min(self._current + step, self.configured_per_minute)
        self._set(target, probe=True)
        material = (target >= self.configured_per_minute
                    or target - self._last_logged >= self.configured_per_minute
                    * LOG_CHANGE_FRACTION)
        if not material:
            return (logging.DEBUG, "budget %s raised to %d/min after %d answers without a 429",
                    (self.name, target, answers))
        self._last_logged = target
        return (logging.INFO, "budget %s raised to %d/min after %d answers without a 429%s",
                (self.name, target, answers,
                 " (its configured rate)" if target >= self.configured_per_minute else ""))

    def _set(self, requests_per_minute: float, *, probe: bool) -> None:
        self._current = requests_per_minute
        self._answers_since_change = 0
        self._last_change_was_probe = probe
        self._rates = rates_for(requests_per_minute)
