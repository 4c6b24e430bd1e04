"""Retry waits: exponential backoff with jitter, or exactly what the server asked for."""

from __future__ import annotations

import datetime as dt
import random
import typing as t
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

if t.TYPE_CHECKING:
    from collections.abc import Callable, Generator


def retry_after_seconds(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Parse a ``Retry-After`` header (delay-seconds or HTTP-date) into seconds to wait.

    Returns None when the header is absent or unreadable, so the caller falls back to backoff.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    now = now or dt.datetime.now(dt.timezone.utc)
    return max((when - now).total_seconds(), 0.0)


class ImmediateRetry(Exception):  # noqa: N818 - a signal, not an error
    """Marker mixin: retry at once (e.g. after refreshing a rejected token)."""


class QuickRetry(Exception):  # noqa: N818 - a signal, not an error
    """Marker mixin: retry after the base wait, without growth (few such retries are made)."""


@dataclass
class BackoffPolicy:
    """How long to wait before each retry.

    A server-given wait (``Retry-After``) is honoured exactly, without jitter, capped at
    ``max_wait_seconds``; otherwise the wait grows exponentially from ``base_seconds`` with
    "equal jitter" (between half and all of the exponential value). A 429 without
    ``Retry-After`` waits at least ``min_429_wait_seconds`` (the vendor's rate window), so a
    header-less limit is not hammered with quick retries.
    """

    max_retries: int = 8
    max_wait_seconds: float = 300.0
    base_seconds: float = 0.3
    min_429_wait_seconds: float = 0.0
    factor: float = 2.0
    rng: random.Random = field(default_factory=random.Random)
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc)

    @property
    def max_tries(self) -> int:
        """Attempts in total: the first one plus ``max_retries``."""
        return self.max_retries + 1

    def server_wait(self, exception: BaseException | None) -> float | None:
        """The wait a response's ``Retry-After`` header asks for, if any."""
        response = getattr(exception, "response", None)
        if response is None:
            return None
        return retry_after_seconds(response.headers.get("Retry-After"), now=self.now())

    def wait_for(self, attempt: int, exception: BaseException | None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based) after ``exception``."""
        if isinstance(exception, ImmediateRetry):
            return 0.0
        server = self.server_wait(exception)
        if server is not None:
            return min(server, self.max_wait_seconds)
        if isinstance(exception, QuickRetry):
            return self.rng.uniform(self.base_seconds / 2, self.base_seconds)
        ceiling = min(self.max_wait_seconds, self.base_seconds * self.factor ** (attempt - 1))
        wait = self.rng.uniform(ceiling / 2, ceiling)
        response = getattr(exception, "response", None)
        if response is not None and response.status_code == 429:
            wait = min(max(wait, self.min_429_wait_seconds), self.max_wait_seconds)
        return wait

    def wait_generator(self) -> Generator[float, BaseException | None, None]:
        """A generator for ``backoff.on_exception``: the exception is sent in, a wait comes out."""
        attempt = 0
        exception = yield  # type: ignore[misc]  # primed by backoff with None
        while True:
            attempt += 1
            exception = yield self.wait_for(attempt, exception)
