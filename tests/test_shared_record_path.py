"""Every tap both ways over the same emulator data: the fast paths and the SDK's own.

The page-level path (``fast_record_path``: a page at a time, typed conformance) with pages
prefetched and windows read ahead (``max_concurrent_requests`` 4) must write the messages
that the SDK's per-record path writes one request at a time: the same RECORD and STATE messages in the same order, modulo
``time_extracted``; on a first run and on a rerun from the final state.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import typing as t
from collections import Counter

import pytest
import tap_runner
from tap_runner import run_tap

from emulators.process import EmulatorProcess

#: (tap, emulator arguments, tap settings): small pages, so that every stream has many.
CASES: dict[str, tuple[tuple[str, ...], dict[str, t.Any]]] = {
    "amperity": (("--seed", "21", "--scale", "400"),
                 {"page_size": 13, "profile_page_size": 170}),
    "adnuntius": (("--seed", "21", "--scale", "120"), {"page_size": 11}),
    "iqm": (("--seed", "21", "--scale", "40", "--rate-limit", "6000/60"),
            {"page_size": 9, "max_requests_per_minute": 6000, "rate_limit_window_seconds": 0.5,
             "reports": [{"name": "campaign_gender_daily", "dimensions": ["campaign", "gender"],
                          "columns": ["impressions", "clicks", "spent"]}]}),
    "kissmetrics": (("--seed", "21", "--scale", "150", "--query-polls", "1"),
                    {"max_requests_per_minute": 12000, "query_poll_interval_seconds": 0.05,
                     "max_query_poll_interval_seconds": 0.2}),
}


SIGNPOST = re.compile(r'("replication_key_signpost": )"[^"]*"')


def _today_window(message: dict) -> bool:
    """A Kissmetrics report row of the day under way: its values follow the server's clock."""
    record = message["record"]
    return message["stream"] == "report_results" and record["window_end"] > NOW


NOW = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def messages(stdout: str) -> list[dict]:
    """RECORD and STATE messages in order, without the times of the run itself.

    ``time_extracted`` and a bookmark's ``replication_key_signpost`` (the time the sync
    started) differ between any two runs.
    """
    out = []
    for line in stdout.splitlines():
        message = json.loads(line)
        if message["type"] in {"RECORD", "STATE"}:
            message.pop("time_extracted", None)
            if message["type"] == "RECORD" and _today_window(message):
                # "Last seen" and similar values of today's rows are the emulator's clock at
                # the query (seconds apart between the two runs): the row, not its values.
                message["record"] = {k: v for k, v in message["record"].items()
                                     if not k.startswith("column_")}
            if message["type"] == "STATE":
                message = json.loads(SIGNPOST.sub(r'\1"<run start>"', json.dumps(message)))
            out.append(message)
    return out


def extraction_times(stdout: str) -> int:
    """How many distinct ``time_extracted`` values the RECORD messages carry."""
    return len({json.loads(line).get("time_extracted") for line in stdout.splitlines()
                if line.startswith('{"type":"RECORD"')})


def first_difference(fast: list[dict], sdk: list[dict]) -> str:
    """Where two message lists part, for the assertion message."""
    for index, (a, b) in enumerate(zip(fast, sdk)):
        if a != b:
            return f"message {index}: page path {a!r}\n SDK path {b!r}"
    return f"lengths {len(fast)} (page path) and {len(sdk)} (SDK path)"


@pytest.mark.parametrize("vendor", sorted(CASES))
def test_page_path_writes_what_the_sdk_writes(vendor: str) -> None:
    arguments, settings = CASES[vendor]
    tap = f"tap-{vendor}"
    with EmulatorProcess(vendor, *arguments) as emulator:
        config = {**emulator.tap_config, **settings}
        fast = run_tap(tap, {**config, "fast_record_path": True})
        # The SDK's path, one request at a time: no prefetch, no windows read ahead.
        sdk = run_tap(tap, {**config, "fast_record_path": False,
                            "max_concurrent_requests": 1})
        assert fast.returncode == sdk.returncode == 0, fast.stderr[-2000:] + sdk.stderr[-2000:]
        fast_messages, sdk_messages = messages(fast.stdout), messages(sdk.stdout)
        assert sum(len(r) for r in fast.records.values()) > 500
        assert fast_messages == sdk_messages, first_difference(fast_messages, sdk_messages)
        # The page path was taken: one time_extracted per page, not one per record.
        assert extraction_times(fast.stdout) * 2 < extraction_times(sdk.stdout)

        emulator.mutate(5)
        state = fast.states[-1]
        fast_rerun = run_tap(tap, {**config, "fast_record_path": True}, state=state)
        sdk_rerun = run_tap(tap, {**config, "fast_record_path": False,
                                  "max_concurrent_requests": 1}, state=state)
        assert fast_rerun.returncode == sdk_rerun.returncode == 0, fast_rerun.stderr[-2000:]
        fast_messages, sdk_messages = messages(fast_rerun.stdout), messages(sdk_rerun.stdout)
        assert fast_messages == sdk_messages, first_difference(fast_messages, sdk_messages)


@pytest.mark.parametrize("line_items", [120, 8000])
def test_stats_days_read_ahead_from_a_slow_server_write_what_the_sdk_writes(
        line_items: int) -> None:
    # 25 ms an answer: days are read ahead (4 in flight). 120 line items make small days,
    # held whole ahead; 8,000 make days of over 2,000 records, each handed over after its
    # first record and decoded in its turn. Both must write what the SDK's path writes one
    # day at a time.
    start = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=40)).strftime(
        "%Y-%m-%dT00:00:00Z")
    with EmulatorProcess("adnuntius", "--seed", "21", "--scale", str(line_items),
                         "--latency-ms", "25", "--rate-limit", "100000/1") as emulator:
        config = {**emulator.tap_config, "start_date": start, "max_requests_per_minute": 100_000}
        catalog = tap_runner.catalog_selecting("tap-adnuntius", config,
                                               ["line_item_daily_stats"])
        emulator.mark()
        fast = run_tap("tap-adnuntius", {**config, "fast_record_path": True}, catalog=catalog)
        in_flight = emulator.stats()["max_requests_in_flight"]
        sdk = run_tap("tap-adnuntius", {**config, "fast_record_path": False,
                                        "max_concurrent_requests": 1}, catalog=catalog)
    assert fast.returncode == sdk.returncode == 0, fast.stderr[-2000:] + sdk.stderr[-2000:]
    records = fast.records["line_item_daily_stats"]
    per_day = max(Counter(r["date"] for r in records).values())
    assert (per_day > 2_000) == (line_items > 2_000), per_day
    fast_messages, sdk_messages = messages(fast.stdout), messages(sdk.stdout)
    assert fast_messages == sdk_messages, first_difference(fast_messages, sdk_messages)
    # Read ahead, never more than max_concurrent_requests at once (large days keep the
    # emulator's one thread busy building them, so fewer may meet there).
    assert 1 < in_flight <= 4
