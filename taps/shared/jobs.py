"""Asynchronous report jobs: submit, poll with a bounded interval and deadline, then read."""

from __future__ import annotations

import logging
import time
import typing as t
from collections import deque
from dataclasses import dataclass

from singer_sdk.exceptions import FatalAPIError

if t.TYPE_CHECKING:
    from collections.abc import Callable

logger = logging.getLogger(__name__)

H = t.TypeVar("H")


@dataclass(frozen=True, slots=True)
class JobStatus:
    """What one poll of a job said."""

    done: bool
    failed: bool = False
    progress: float | None = None
    detail: str | None = None


class JobFailedError(FatalAPIError):
    """The vendor reported the job as failed."""


class JobTimeoutError(FatalAPIError):
    """The job did not finish before the deadline."""


class Job(t.Protocol[H]):
    """One server-side job: how to start it and how to ask about it."""

    name: str

    def submit(self) -> H:
        """Start the job (once: starting is not idempotent) and return its handle."""

    def poll(self, handle: H) -> JobStatus:
        """Ask the server how the job is doing."""


@dataclass
class _Running(t.Generic[H]):
    job: Job[H]
    handle: H
    started: float
    interval: float
    next_poll: float
    polls: int = 0
    done: bool = False


@dataclass
class _Call(t.Generic[H]):
    """A job made of two functions (for ``AsyncJobRunner.run``)."""

    name: str
    submit: Callable[[], H]
    poll: Callable[[H], JobStatus]


@dataclass
class AsyncJobRunner:
    """Runs server-side jobs: submit, poll until done, failed, or past ``timeout_seconds``.

    The interval starts at ``poll_interval_seconds`` and grows by ``backoff_factor`` up to
    ``max_poll_interval_seconds``; progress is logged at each poll. ``run_many`` keeps up to
    ``max_concurrent`` jobs running on the server and hands them back in submission order,
    so a caller that reads each job's results and then saves a bookmark keeps its state
    correct.
    """

    poll_interval_seconds: float = 5.0
    max_poll_interval_seconds: float = 60.0
    timeout_seconds: float = 1800.0
    backoff_factor: float = 1.5
    timeout_setting: str = "job_timeout_seconds"
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def run(self, name: str, submit: Callable[[], H], poll: Callable[[H], JobStatus]) -> H:
        """Submit one job, wait for it, and return its handle (for reading the results)."""
        for _, handle in self.run_many([_Call(name, submit, poll)], max_concurrent=1):
            return handle
        msg = "unreachable: run_many yields every job it is given"
        raise AssertionError(msg)

    def run_many(self, jobs: t.Iterable[Job[H]], *, max_concurrent: int) -> t.Iterator[
            tuple[Job[H], H]]:
        """Yield ``(job, handle)`` for each finished job, in the order the jobs were given."""
        pending = iter(jobs)
        running: deque[_Running[H]] = deque()
        while True:
            while len(running) < max(max_concurrent, 1):
                job = next(pending, None)
                if job is None:
                    break
                now = self.clock()
                running.append(_Running(job, job.submit(), now, self.poll_interval_seconds, now))
            if not running:
                return
            for item in running:
                if not item.done and self.clock() >= item.next_poll:
                    self._poll(item)
            head = running[0]
            if head.done:
                running.popleft()
                yield head.job, head.handle
                continue
            waiting = [item.next_poll for item in running if not item.done]
            self.sleep(max(min(waiting) - self.clock(), 0.0))

    def _poll(self, item: _Running[H]) -> None:
        status = item.job.poll(item.handle)
        item.polls += 1
        name = item.job.name
        if status.failed:
            msg = f"{name} failed: {status.detail or 'the vendor gave no reason'}"
            raise JobFailedError(msg)
        elapsed = self.clock() - item.started
        if status.done:
            logger.info("%s finished after %.1f s and %d polls", name, elapsed, item.polls)
            item.done = True
            return
        percent = "" if status.progress is None else f" ({status.progress:.0%} done)"
        if elapsed + item.interval > self.timeout_seconds:
            msg = (f"{name} did not finish within {self.timeout_seconds:.0f} s{percent}; "
                   f"raise {self.timeout_setting} or narrow the date window")
            raise JobTimeoutError(msg)
        logger.info("%s still running%s; next poll in %.1f s", name, percent, item.interval)
        item.next_poll = self.clock() + item.interval
        item.interval = min(item.interval * self.backoff_factor, self.max_poll_interval_seconds)
