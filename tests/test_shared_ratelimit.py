"""The per-process request budget and how it learns the server's limit."""

from __future__ import annotations

import logging
import random
import threading
import time

import pytest
import requests

from taps.shared import ratelimit
from taps.shared.ratelimit import (
    MAX_PAUSE_SECONDS,
    PROBE_AFTER_ANSWERS,
    Rate,
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
    assert rates_for(600) == [Rate(10, 1.0)]
    assert rates_for(20) == [Rate(1, 1.0), Rate(20, 60.0)]
    with pytest.raises(ValueError, match="positive"):
        rates_for(0)


def send(budget: RateBudget, clock: FakeClock, latency: float) -> float:
    """One request: budget, ``latency`` until its answer; when it was sent."""
    budget.acquire()
    sent = clock.now
    clock.now += latency
    budget.observe(answer(200))
    return sent


def test_budget_blocks_beyond_the_rate() -> None:
    clock = FakeClock()
    budget = RateBudget("test", 300, learn=False, clock=clock, sleep=clock.sleep)  # 5 a second
    sent = [send(budget, clock, 0.01) for _ in range(11)]
    # 5 at once, the next 5 one second after the first 5 ended, the 11th a second later.
    assert sent[5] == pytest.approx(sent[0] + 0.01 + 1.0)
    assert sent[10] == pytest.approx(sent[5] + 0.01 + 1.0)
    assert max(sum(1 for s in sent if start <= s < start + 1) for start in sent) == 5
    assert budget.acquired == 11


def test_a_quick_answer_frees_its_place_one_window_after_it_not_later() -> None:
    clock = FakeClock()
    budget = RateBudget("api", 600, learn=False, clock=clock, sleep=clock.sleep)
    sent = [send(budget, clock, 0.002) for _ in range(11)]
    # The 11th goes once the first answer is a second old: a sync at the limit keeps to it
    # (a place held 5 % longer than the window made it 1.05 x its floor).
    assert sent[10] == pytest.approx(1000.0 + 0.002 + 1.0)


def test_a_slow_answer_holds_its_place_until_one_window_after_it() -> None:
    clock = FakeClock()
    budget = RateBudget("api", 600, learn=False, clock=clock, sleep=clock.sleep)
    sent, answered = threading.Barrier(11), threading.Barrier(11)

    def request() -> None:  # ten requests under way at once, answered 0.3 s later
        budget.acquire()
        sent.wait()
        answered.wait()
        budget.observe(answer(200))

    workers = [threading.Thread(target=request) for _ in range(10)]
    for worker in workers:
        worker.start()
    sent.wait()
    clock.now += 0.3
    answered.wait()
    for worker in workers:
        worker.join()
    budget.acquire()
    # A server counting them as they arrived, up to 0.3 s after sending, sees the 11th
    # in the same second unless it waits for a second after the answers.
    assert clock.now == pytest.approx(1000.0 + 0.3 + 1.0)


def test_a_request_that_never_reported_its_end_is_ended_by_its_threads_next() -> None:
    clock = FakeClock()
    budget = RateBudget("api", 60, learn=False, clock=clock, sleep=clock.sleep)  # 1 a second
    budget.acquire()  # its error escaped without observe()
    clock.now += 0.5
    budget.acquire()  # the same thread: the first one is over
    assert clock.now == pytest.approx(1000.0 + 0.5 + 1.0)
    assert budget.acquired == 2


def test_no_window_of_the_servers_ever_sees_more_than_the_budget() -> None:
    """Sixteen threads, each request counted by the server at once or 120 ms after it was
    sent, then answered: the busiest second the server sees is within the budget (with
    places held for 1.05 s from sending, it saw 104-109)."""
    budget = RateBudget("api", 6000, learn=False)  # 100 a second
    counted: list[float] = []
    lock = threading.Lock()

    def client(seed: int) -> None:
        chance = random.Random(seed)
        for _ in range(20):
            budget.acquire()
            time.sleep(chance.choice((0.0, 0.12)))
            with lock:
                counted.append(time.monotonic())
            budget.observe(answer(200))

    workers = [threading.Thread(target=client, args=(n,)) for n in range(16)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(counted) == 320
    assert most_within(sorted(counted), 1.0) <= 100


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
    started = clock.now
    sent = [send(budget, clock, 0.01) for _ in range(6)]
    # 5 at once, the 6th a second after the first ended: 10 at once would have gone
    # through at the configured 600/min.
    assert sent[4] == pytest.approx(started + 0.04)
    assert sent[5] == pytest.approx(started + 0.01 + 1.0)


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
