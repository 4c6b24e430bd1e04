"""Bounded date windows over a range, with an optional look-back re-read."""

from __future__ import annotations

import datetime as dt
import typing as t
from dataclasses import dataclass

from singer_sdk.pagination import BaseAPIPaginator
from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    import requests


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open time window ``[start, end)``."""

    start: dt.datetime
    end: dt.datetime


def lookback_start(
    start: dt.datetime, *, lookback_days: float, earliest: dt.datetime | None = None
) -> dt.datetime:
    """``start`` moved back by ``lookback_days``, but not before ``earliest``.

    ``earliest`` (e.g. the configured start_date) never moves a ``start`` that is earlier.
    """
    moved = start - dt.timedelta(days=lookback_days)
    return moved if earliest is None else max(moved, min(earliest, start))


def date_windows(
    start: dt.datetime,
    end: dt.datetime,
    *,
    max_days: float,
    lookback_days: float = 0,
    earliest: dt.datetime | None = None,
) -> Iterator[Window]:
    """Consecutive windows of at most ``max_days`` covering ``[start - lookback, end)``.

    ``earliest`` clamps the look-back (e.g. to the configured ``start_date``).
    """
    if max_days <= 0:
        msg = "max_days must be positive"
        raise ValueError(msg)
    cursor = lookback_start(start, lookback_days=lookback_days, earliest=earliest)
    step = dt.timedelta(days=max_days)
    while cursor < end:
        window_end = min(cursor + step, end)
        yield Window(cursor, window_end)
        cursor = window_end


class DateWindowPaginator(BaseAPIPaginator[Window]):
    """Walks consecutive windows, one request each; an empty window never ends the walk."""

    def __init__(self, windows: list[Window]) -> None:
        """Page through ``windows`` (at least one) in order."""
        if not windows:
            msg = "DateWindowPaginator needs at least one window"
            raise ValueError(msg)
        super().__init__(windows[0])
        self._rest = iter(windows[1:])

    @override
    def get_next(self, response: requests.Response) -> Window | None:
        return next(self._rest, None)

    @override
    def continue_if_empty(self, response: requests.Response) -> bool:
        return True
