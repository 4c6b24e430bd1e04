"""Date windows and the window paginator."""

from __future__ import annotations

import datetime as dt

import pytest

from taps.shared.windows import DateWindowPaginator, Window, date_windows, lookback_start

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 1, 1, tzinfo=UTC)


def test_windows_cover_the_range_without_gaps_or_overlap() -> None:
    end = T0 + dt.timedelta(days=20, hours=5)
    windows = list(date_windows(T0, end, max_days=7))
    assert [w.end - w.start for w in windows][:2] == [dt.timedelta(days=7)] * 2
    assert windows[0].start == T0
    assert windows[-1].end == end
    assert all(a.end == b.start for a, b in zip(windows, windows[1:]))


def test_lookback_starts_earlier_but_not_before_earliest() -> None:
    windows = list(date_windows(T0, T0 + dt.timedelta(days=1), max_days=7, lookback_days=3))
    assert windows[0].start == T0 - dt.timedelta(days=3)
    clamped = list(date_windows(T0, T0 + dt.timedelta(days=1), max_days=7, lookback_days=3,
                                earliest=T0 - dt.timedelta(days=1)))
    assert clamped[0].start == T0 - dt.timedelta(days=1)


def test_empty_range_and_bad_width() -> None:
    assert list(date_windows(T0, T0, max_days=7)) == []
    with pytest.raises(ValueError, match="max_days"):
        list(date_windows(T0, T0 + dt.timedelta(days=1), max_days=0))


def test_paginator_walks_every_window_even_when_empty() -> None:
    windows = [Window(T0, T0 + dt.timedelta(days=1)), Window(T0 + dt.timedelta(days=1), T0 + dt.timedelta(days=2))]
    paginator = DateWindowPaginator(windows)
    assert paginator.current_value == windows[0]
    assert paginator.continue_if_empty(None)  # type: ignore[arg-type]
    paginator.advance(None)  # type: ignore[arg-type]
    assert paginator.current_value == windows[1]
    paginator.advance(None)  # type: ignore[arg-type]
    assert paginator.finished
    with pytest.raises(ValueError, match="at least one"):
        DateWindowPaginator([])


def test_lookback_start_is_clamped_by_earliest() -> None:
    day = dt.timedelta(days=1)
    assert lookback_start(T0, lookback_days=3) == T0 - 3 * day
    assert lookback_start(T0, lookback_days=3, earliest=T0 - day) == T0 - day
    assert lookback_start(T0 - 5 * day, lookback_days=0, earliest=T0) == T0 - 5 * day
