"""Shared helpers of the tap-adnuntius end-to-end tests."""

from __future__ import annotations

import datetime as dt
import functools
import typing as t

import tap_runner
from tap_runner import TapRun

if t.TYPE_CHECKING:
    from emulators.process import EmulatorProcess

LIST_STREAMS = ("advertisers", "orders", "line_items", "creatives", "sites", "ad_units",
                "earnings_accounts", "site_groups", "teams", "tiers", "users", "segments")
PRIMARY_KEYS: dict[str, tuple[str, ...]] = {
    **{stream: ("id",) for stream in LIST_STREAMS},
    "line_item_daily_stats": ("date", "line_item_id"),
}
#: Fast retries and a budget at the emulator's per-token limit (20/s).
FAST = {"backoff_base_milliseconds": 50, "max_retries": 10, "max_requests_per_minute": 1200}


def days_ago(days: int) -> str:
    """Midnight UTC ``days`` before today, as a start_date."""
    today = dt.datetime.now(dt.timezone.utc).date()
    return f"{today - dt.timedelta(days=days)}T00:00:00Z"


def config(emulator: EmulatorProcess, **extra: t.Any) -> dict[str, t.Any]:
    """The emulator's tap config with fast retries, plus ``extra``."""
    return {**emulator.tap_config, **FAST, **extra}


def assert_complete(run: TapRun, counts: dict[str, int],
                    streams: t.Iterable[str] = tuple(PRIMARY_KEYS)) -> None:
    """Each stream has exactly the emulator's count, with unique non-null primary keys."""
    tap_runner.assert_complete(run, counts, PRIMARY_KEYS, streams)


one_line_failure = functools.partial(tap_runner.one_line_failure, tap="tap-adnuntius")
