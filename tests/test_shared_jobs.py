"""The async-job runner: submit, poll with growing bounded waits, deadline."""

from __future__ import annotations

import pytest

from taps.shared.jobs import AsyncJobRunner, JobFailedError, JobStatus, JobTimeoutError


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _runner(clock: FakeClock, **kwargs: float) -> AsyncJobRunner:
    return AsyncJobRunner(sleep=clock.sleep, clock=lambda: clock.now, **kwargs)


def test_polls_until_done_with_bounded_growing_interval() -> None:
    clock = FakeClock()
    statuses = iter([JobStatus(done=False, progress=p / 10) for p in range(6)] + [JobStatus(done=True)])
    handle = _runner(clock, poll_interval_seconds=2, max_poll_interval_seconds=5).run(
        "report 1", submit=lambda: "job-1", poll=lambda h: next(statuses))
    assert handle == "job-1"
    assert clock.sleeps[0] == 2
    assert max(clock.sleeps) == 5
    assert clock.sleeps == sorted(clock.sleeps)


def test_failure_and_timeout_are_fatal_with_a_reason() -> None:
    clock = FakeClock()
    with pytest.raises(JobFailedError, match="report 2 failed: quota"):
        _runner(clock).run("report 2", submit=lambda: 1,
                           poll=lambda h: JobStatus(done=False, failed=True, detail="quota"))
    with pytest.raises(JobTimeoutError, match=r"within 30 s \(50% done\).*job_timeout_seconds"):
        _runner(clock, timeout_seconds=30).run(
            "report 3", submit=lambda: 1, poll=lambda h: JobStatus(done=False, progress=0.5))
    assert clock.now <= 30
