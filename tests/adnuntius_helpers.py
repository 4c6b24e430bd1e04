"""Shared helpers of the tap-adnuntius end-to-end tests."""

from __future__ import annotations

import datetime as dt
import typing as t

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
    assert run.returncode == 0, run.stderr[-3000:]
    for stream in streams:
        keys = run.keys(stream, PRIMARY_KEYS[stream])
        assert all(all(part is not None for part in k) for k in keys), stream
        assert len(keys) == len(set(keys)), f"duplicate primary keys in {stream}"
        assert len(keys) == counts[stream], f"{stream}: {len(keys)} != {counts[stream]}"


def one_line_failure(run: TapRun) -> str:
    """The single error line a failed run ends with."""
    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    errors = [line for line in lines if "tap-adnuntius: error: " in line]
    assert errors == [lines[-1]], "one error line, and it is the last"
    return errors[0]
