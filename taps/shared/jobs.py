"""Asynchronous report jobs: submit, poll with a bounded interval and deadline, then read."""

from __future__ import annotations

import logging
import time
import typing as t
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


@dataclass
class AsyncJobRunner:
    """Polls a submitted job until done, failed, or past ``timeout_seconds``.

    The interval starts at ``poll_interval_seconds`` and grows by ``backoff_factor`` up to
    ``max_poll_interval_seconds``; progress is logged at each poll.
    """

    poll_interval_seconds: float = 5.0
    max_poll_interval_seconds: float = 60.0
    timeout_seconds: float = 1800.0
    backoff_factor: float = 1.5
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def run(self, name: str, submit: Callable[[], H], poll: Callable[[H], JobStatus]) -> H:
        """Submit the job, wait for it, and return its handle (for reading the results)."""
        handle = submit()
        started = self.clock()
        interval = self.poll_interval_seconds
        polls = 0
        while True:
            status = poll(handle)
            polls += 1
            if status.failed:
                msg = f"{name} failed: {status.detail or 'the vendor gave no reason'}"
                raise JobFailedError(msg)
            elapsed = self.clock() - started
            if status.done:
                logger.info("%s finished after %.1f s and %d polls", name, elapsed, polls)
                return handle
            percent = "" if status.progress is None else f" ({status.progress:.0%} done)"
            if elapsed + interval > self.timeout_seconds:
                msg = (
                    f"{name} did not finish within {self.timeout_seconds:.0f} s{percent}; "
                    "raise job_timeout_seconds or narrow the date window"
                )
                raise JobTimeoutError(msg)
            logger.info("%s still running%s; next poll in %.1f s", name, percent, interval)
            self.sleep(interval)
            interval = min(interval * self.backoff_factor, self.max_poll_interval_seconds)
