"""The per-process request budget and how it learns the server's limit."""

from __future__ import annotations

import logging
import threading
import time

import pytest
import requests
from pyrate_limiter import Rate

from taps.shared import ratelimit
from taps.shared.ratelimit import (
    MAX_PAUSE_SECONDS,
    PROBE_AFTER_ANSWERS,
    SAFETY_STRETCH,
    RateBudget,
    most_within,
    rates_for,
)


class FakeClock:
    """A monotonic clock moved by hand; ``sleep`` moves it too and records the waits."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def answer(status: int, retry_after: str | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    if retry_after is not None:
        response.headers["Retry-After"] = retry_after
    return response


def learning_budget(per_minute: float = 600) -> tuple[RateBudget, FakeClock]:
    clock = FakeClock()
    return RateBudget("api", per_minute, learn=True, clock=clock, sleep=clock.sleep), clock


def accept(budget: RateBudget, clock: FakeClock, count: int, spacing: float = 0.01) -> None:
    for _ in range(count):
        budget.observe(answer(200))
        clock.now += spacing


def overrun(budget: RateBudget, clock: FakeClock, accepted: int) -> None:
    """A server that accepts ``accepted`` in a burst, then refuses the next without a header."""
    accept(budget, clock, accepted)
    budget.observe(answer(429))


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


def test_most_within_counts_the_busiest_span() -> None:
    assert most_within([], 1.0) == 0
    assert most_within([0.0, 0.1, 0.2, 1.15, 1.2], 1.0) == 3
    assert most_within([0.0, 1.0, 2.0], 1.0) == 1  # a span is half-open: 1.0 s apart is two


def test_a_429_without_retry_after_steps_down_to_the_rate_the_server_accepted() -> None:
    budget, clock = learning_budget(600)
    overrun(budget, clock, accepted=5)
    assert budget.requests_per_minute == 300
    assert budget.configured_per_minute == 600
    assert budget.rate_limited == 1


def test_a_cut_is_at_most_half() -> None:
    budget, clock = learning_budget(600)
    overrun(budget, clock, accepted=1)
    assert budget.requests_per_minute == 300
    clock.now += 2
    overrun(budget, clock, accepted=0)
    assert budget.requests_per_minute == 150


def test_the_lowered_budget_is_what_acquire_keeps_to() -> None:
    clock = FakeClock()
    budget = RateBudget("api", 600, learn=True, clock=clock, sleep=clock.sleep)
    overrun(budget, clock, accepted=5)
    assert budget.requests_per_minute == 300
    started = time.monotonic()
    for _ in range(6):
        budget.acquire()
    # 5 at once, the 6th only once the first has left the (stretched) second: 10 at once
    # would have gone through at the configured 600/min.
    assert time.monotonic() - started >= SAFETY_STRETCH - 0.05


def test_answers_to_requests_sent_before_a_cut_do_not_cut_again() -> None:
    budget, clock = learning_budget(600)
    overrun(budget, clock, accepted=1)
    budget.observe(answer(429))
    budget.observe(answer(429))
    assert budget.requests_per_minute == 300
    assert budget.rate_limited == 3


def test_a_429_at_a_rate_the_server_accepted_moments_ago_leaves_the_budget_alone() -> None:
    budget, clock = learning_budget(600)
    overrun(budget, clock, accepted=10)  # 10 in one second accepted: a fault, not the limit
    assert budget.requests_per_minute == 600
    assert budget.rate_limited == 1


def test_probes_back_up_after_a_run_of_accepted_answers_never_above_the_configured() -> None:
    budget, clock = learning_budget(600)
    overrun(budget, clock, accepted=5)
    accept(budget, clock, PROBE_AFTER_ANSWERS - 1, spacing=0.2)
    assert budget.requests_per_minute == 300
    accept(budget, clock, 1, spacing=0.2)
    assert budget.requests_per_minute == 330  # one step: 5 % of the configured budget
    accept(budget, clock, PROBE_AFTER_ANSWERS * 20, spacing=0.2)
    assert budget.requests_per_minute == 600


def test_a_refused_probe_doubles_the_run_before_the_next() -> None:
    budget, clock = learning_budget(600)
    overrun(budget, clock, accepted=5)
    accept(budget, clock, PROBE_AFTER_ANSWERS, spacing=0.2)
    assert budget.requests_per_minute == 330
    clock.now += 2
    overrun(budget, clock, accepted=5)  # the probe was refused at once
    assert budget.requests_per_minute == 300
    accept(budget, clock, 2 * PROBE_AFTER_ANSWERS - 1, spacing=0.2)
    assert budget.requests_per_minute == 300
    accept(budget, clock, 1, spacing=0.2)
    assert budget.requests_per_minute == 330


def test_a_429_with_retry_after_steps_down_and_pauses_the_whole_budget() -> None:
    budget, clock = learning_budget(360)
    accept(budget, clock, 4)
    budget.observe(answer(429, retry_after="2"))
    assert budget.requests_per_minute == 240
    budget.acquire()  # any thread's next request waits for the server's time
    assert clock.slept == [pytest.approx(2.0)]
    budget.acquire()
    assert len(clock.slept) == 1
    assert budget.acquired == 2


def test_the_pause_is_capped() -> None:
    budget, clock = learning_budget(600)
    budget.observe(answer(429, retry_after="3600"))
    budget.acquire()
    assert clock.slept == [pytest.approx(MAX_PAUSE_SECONDS)]


def test_no_answer_teaches_nothing() -> None:
    budget, clock = learning_budget(600)
    for _ in range(PROBE_AFTER_ANSWERS * 3):
        budget.observe(None)
    overrun(budget, clock, accepted=5)
    assert budget.requests_per_minute == 300
    assert budget.rate_limited == 1


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_without_learning_429s_are_only_counted(how: str, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    if how == "flag":
        budget = RateBudget("api", 600, learn=False, clock=clock, sleep=clock.sleep)
    else:
        monkeypatch.setenv(ratelimit.LEARNING_ENV, "off")
        budget = RateBudget("api", 600, clock=clock, sleep=clock.sleep)
    assert not budget.learning
    overrun(budget, clock, accepted=5)
    budget.observe(answer(429, retry_after="5"))
    budget.acquire()
    assert budget.requests_per_minute == 600
    assert budget.rate_limited == 2
    assert clock.slept == []


def test_learning_is_on_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ratelimit.LEARNING_ENV, raising=False)
    assert RateBudget("api", 600).learning


def test_changes_are_logged_once_not_per_request(caplog: pytest.LogCaptureFixture) -> None:
    budget, clock = learning_budget(600)
    with caplog.at_level(logging.INFO, logger=ratelimit.__name__):
        overrun(budget, clock, accepted=5)
        budget.observe(answer(429))  # held: no second line
        accept(budget, clock, PROBE_AFTER_ANSWERS - 1, spacing=0.2)
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert lines == ["budget api lowered to 300/min after a 429 without Retry-After "
                     "(at most 5 answers accepted in one second)"]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=ratelimit.__name__):
        accept(budget, clock, PROBE_AFTER_ANSWERS * 20, spacing=0.2)
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    # Ten steps of 30/min back to 600: logged every 60/min, not at each step.
    assert len(lines) == 5
    assert lines[-1].startswith("budget api raised to 600/min after")
    assert lines[-1].endswith("(its configured rate)")


def test_shared_between_threads_counts_exactly_and_stays_in_bounds() -> None:
    budget = RateBudget("api", 600_000, learn=True)  # fast enough not to wait
    threads, per_thread = 8, 300
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def work(index: int) -> None:
        try:
            start.wait()
            for n in range(per_thread):
                budget.acquire()
                budget.observe(answer(429) if (n + index) % 10 == 0 else answer(200))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    assert budget.acquired == threads * per_thread
    assert budget.rate_limited == threads * per_thread // 10
    assert 1 <= budget.requests_per_minute <= 600_000
