"""tap-adnuntius against its emulator over real sockets: completeness, paging, faults, resume."""

from __future__ import annotations

import datetime as dt
import json
import signal
import typing as t
from decimal import Decimal

import pytest
import requests
import tap_runner
from adnuntius_helpers import (
    LIST_STREAMS,
    PRIMARY_KEYS,
    assert_complete,
    config,
    days_ago,
    one_line_failure,
)
from tap_runner import TapRun, run_tap

from emulators.process import EmulatorProcess


@pytest.fixture(scope="module")
def clean() -> t.Iterator[tuple[EmulatorProcess, TapRun]]:
    """One fault-free emulator and a full sync of its default config."""
    with EmulatorProcess("adnuntius", "--seed", "11", "--scale", "40") as emulator:
        yield emulator, run_tap("tap-adnuntius", config(emulator))


def test_full_sync_is_complete(clean: tuple[EmulatorProcess, TapRun]) -> None:
    emulator, run = clean
    counts = emulator.counts()
    assert set(counts) == set(PRIMARY_KEYS)
    assert_complete(run, counts)
    bookmarks = run.states[-1]["bookmarks"]
    for stream in PRIMARY_KEYS:
        assert bookmarks[stream]["replication_key_value"], stream
        assert "progress_markers" not in bookmarks[stream]
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    assert bookmarks["line_item_daily_stats"]["replication_key_value"] == today
    hidden = [r for r in run.records["line_items"] if r["objectState"] == "HIDDEN"]
    assert hidden, "HIDDEN (deleted) objects must arrive"


def test_records_validate_and_carry_join_ids(clean: tuple[EmulatorProcess, TapRun]) -> None:
    import jsonschema  # noqa: PLC0415

    _, run = clean
    for stream, records in run.records.items():
        validator = jsonschema.Draft7Validator(run.schemas[stream]["schema"],
                                               format_checker=jsonschema.FormatChecker())
        for record in records[:100]:
            validator.validate(record)
    for record in run.records["line_items"]:
        assert record["order_id"] == record["order"]["id"]
        assert record["updateTime"].endswith("Z")
        assert len(record["updateTime"]) == len("2026-01-01T00:00:00.000Z")
    assert all(r["team_id"] for r in run.records["advertisers"])  # team or ownerTeam
    assert all(r["site_id"] == r["site"]["id"] for r in run.records["ad_units"])
    assert all(r["line_item_id"] == r["lineItem"]["id"] for r in run.records["creatives"])


def test_money_keeps_every_digit(clean: tuple[EmulatorProcess, TapRun]) -> None:
    emulator, run = clean
    api = requests.get(f"{emulator.base_url}/v1/adunits", timeout=10,
                       params={"context": emulator.tap_config["network"], "pageSize": 1000,
                               "includeHidden": "true"},
                       headers={"Authorization": f"Bearer {emulator.tap_config['api_key']}"})
    served = {r["id"]: r["floorPrice"]["amount"]
              for r in json.loads(api.text, parse_float=Decimal)["results"]}
    lines = [json.loads(line, parse_float=Decimal) for line in run.stdout.splitlines()
             if '"stream":"ad_units"' in line and '"RECORD"' in line]
    emitted = {m["record"]["id"]: m["record"]["floorPrice"]["amount"] for m in lines}
    assert emitted == served


def test_stats_totals_agree_with_the_emulator(clean: tuple[EmulatorProcess, TapRun]) -> None:
    emulator, run = clean
    records = [json.loads(line, parse_float=Decimal)["record"] for line in
               run.stdout.splitlines() if line.startswith('{"type":"RECORD","stream":"line_item_daily_stats"')]
    first = min(r["window_start"] for r in records)
    totals = json.loads(requests.get(
        f"{emulator.base_url}/v1/stats", timeout=30,
        params={"context": emulator.tap_config["network"], "all": "lineItem",
                "groupBy": "ORDER", "aggregateTo": "LINE_ITEM", "startDate": first,
                "endDate": max(r["window_end"] for r in records)},
        headers={"Authorization": f"Bearer {emulator.tap_config['api_key']}"},
    ).text, parse_float=Decimal)["totals"]
    for metric in ("impressions", "rendered", "visibles", "viewables", "clicks"):
        assert sum(r[metric] for r in records) == totals[metric], metric
    assert sum(r["cost"]["amount"] for r in records) == totals["cost"]["amount"]
    assert {r["cost"]["currency"] for r in records} == {totals["cost"]["currency"]}


def test_stays_within_the_rate_limit(clean: tuple[EmulatorProcess, TapRun]) -> None:
    emulator, _ = clean
    stats = emulator.stats()
    assert stats["by_status"].get("429", 0) == 0


def test_an_empty_day_still_advances_the_bookmark() -> None:
    # One line item: most days of the month deliver nothing.
    with EmulatorProcess("adnuntius", "--seed", "5", "--scale", "1") as emulator:
        run = run_tap("tap-adnuntius", config(emulator, start_date=days_ago(12)))
        assert run.returncode == 0, run.stderr[-2000:]
    days = {r["date"] for r in run.records["line_item_daily_stats"]}
    bookmarks = [s["bookmarks"]["line_item_daily_stats"]["replication_key_value"]
                 for s in run.states if "line_item_daily_stats" in s.get("bookmarks", {})]
    today = dt.datetime.now(dt.timezone.utc).date()
    expected = [str(today - dt.timedelta(days=d)) for d in range(11, -1, -1)]
    assert sorted(set(bookmarks)) == expected  # the day after each window, today last
    assert len(days) < 12, "the seed should give at least one empty day"


# Pagination -----------------------------------------------------------------------------

@pytest.mark.parametrize("base", [0, 1])
def test_pagination_ends_for_both_page_bases(base: int) -> None:
    with EmulatorProcess("adnuntius", "--seed", "6", "--scale", "45",
                         "--page-base", str(base)) as emulator:
        run = run_tap("tap-adnuntius", config(emulator, page_base=base, page_size=7,
                                              start_date=days_ago(0)))
        assert_complete(run, emulator.counts(), LIST_STREAMS)
        by_path = emulator.stats()["by_path"]
    # 90 creatives at 7 per page: 13 pages, the last one short, none after it.
    assert by_path["/api/v1/creatives"] == 13
    assert by_path["/api/v1/tiers"] == 1


@pytest.mark.parametrize(("tap_base", "server_base"), [(0, 1), (1, 0)])
def test_wrong_page_base_fails_naming_it(tap_base: int, server_base: int) -> None:
    with EmulatorProcess("adnuntius", "--seed", "6", "--scale", "20",
                         "--page-base", str(server_base)) as emulator:
        run = run_tap("tap-adnuntius", config(emulator, page_base=tap_base, page_size=5,
                                              start_date=days_ago(0)))
    line = one_line_failure(run)
    assert "page_base" in line
    assert f"now {tap_base}; try {server_base}" in line


def test_everything_in_one_page() -> None:
    """A server that ignores page/pageSize and answers all objects at once (docs: it may)."""
    from misbehaving import MisbehavingServer, json_answer  # noqa: PLC0415

    objects = [{"id": f"obj{i}", "name": f"n{i}", "updateTime": "2026-01-01T00:00Z"}
               for i in range(23)]

    def route(path: str, query: dict[str, str], n: int) -> tuple[int, dict[str, str], bytes]:
        if path.endswith("/stats"):
            return json_answer({"chunks": []})
        with_total = path.endswith("/orders")
        return json_answer({"results": objects, **({"totalCount": 23} if with_total else {})})

    with MisbehavingServer(route) as server:
        run = run_tap("tap-adnuntius", {"api_url": f"{server.url}/api", "network": "n",
                                        "api_key": "static-key-1", "page_size": 5,
                                        "max_requests_per_minute": 6000,
                                        "start_date": days_ago(0)})
        paths = server.paths()
    assert run.returncode == 0, run.stderr[-2000:]
    for stream in LIST_STREAMS:
        assert len(run.records[stream]) == 23, stream
    assert paths.count("/api/v1/orders") == 1  # totalCount reached on the first page
    assert paths.count("/api/v1/lineitems") == 2  # no total: the repeat page ends it


# Faults, resume, incremental ---------------------------------------------------------------

FAULT_EMULATOR = ("--seed", "23", "--scale", "50")


def fault_config(emulator: EmulatorProcess) -> dict[str, t.Any]:
    return config(emulator, page_size=10, start_date=days_ago(3), request_timeout_seconds=1)


@pytest.fixture(scope="module")
def clean_fault_keys() -> dict[str, set[tuple]]:
    """Primary keys of a fault-free sync of the emulator the fault tests use (same seed)."""
    with EmulatorProcess("adnuntius", *FAULT_EMULATOR) as emulator:
        run = run_tap("tap-adnuntius", fault_config(emulator))
        assert_complete(run, emulator.counts(), LIST_STREAMS)
    assert run.records["line_item_daily_stats"]
    return {stream: set(run.keys(stream, key)) for stream, key in PRIMARY_KEYS.items()}


@pytest.mark.parametrize(
    ("kind", "probability"),
    [("429", 0.1), ("500", 0.2), ("502", 0.2), ("503", 0.2), ("reset", 0.2),
     ("truncate", 0.25), ("slow", 0.08)],
)
def test_recovers_from_fault_without_loss_or_duplicates(
    kind: str, probability: float, clean_fault_keys: dict[str, set[tuple]]
) -> None:
    with EmulatorProcess("adnuntius", *FAULT_EMULATOR,
                         "--faults", f"{kind}={probability}") as emulator:
        run = run_tap("tap-adnuntius", fault_config(emulator))
        assert_complete(run, emulator.counts(), LIST_STREAMS)
        stats = emulator.stats()
    assert stats["by_fault"].get(kind, 0) > 0, f"no {kind} fault was injected"
    for stream, key in PRIMARY_KEYS.items():
        keys = run.keys(stream, key)
        assert len(keys) == len(set(keys)), stream
        assert set(keys) == clean_fault_keys[stream], stream


@pytest.mark.parametrize(("sig", "after"), [(signal.SIGTERM, 700), (signal.SIGKILL, 1300)])
def test_resume_after_kill_loses_nothing(sig: signal.Signals, after: int) -> None:
    with EmulatorProcess("adnuntius", "--seed", "8", "--scale", "300",
                         "--latency-ms", "5") as emulator:
        cfg = config(emulator, page_size=25)
        counts = emulator.counts()
        tap_runner.kill_and_resume("tap-adnuntius", cfg, sig, tap_runner.after_records(after),
                                   counts, PRIMARY_KEYS)


@pytest.mark.parametrize("server_side", [False, True])
def test_incremental_run_reads_only_changes(server_side: bool) -> None:
    with EmulatorProcess("adnuntius", "--seed", "4", "--scale", "40") as emulator:
        cfg = config(emulator, server_side_update_filter=server_side, start_date=days_ago(6))
        first = run_tap("tap-adnuntius", cfg)
        assert_complete(first, emulator.counts(), LIST_STREAMS)
        emulator.mutate(3)
        before = emulator.stats()["by_path"]
        second = run_tap("tap-adnuntius", cfg, state=first.states[-1])
        assert_complete(second, {s: second_count(second, s) for s in LIST_STREAMS},
                        LIST_STREAMS)
        after = emulator.stats()["by_path"]
    for stream in LIST_STREAMS:
        old = {r["id"] for r in first.records[stream]}
        new = second.records[stream]
        # 3 touched (every second one set HIDDEN) and 3 added; the boundary may repeat one.
        changed = min(3, len(old)) + 3
        assert changed <= len(new) <= changed + 1, (stream, len(new))
        assert len({r["id"] for r in new} - old) == 3, stream
        assert any(r["objectState"] == "HIDDEN" for r in new), stream
    today = dt.datetime.now(dt.timezone.utc).date()
    dates = {r["date"] for r in second.records["line_item_daily_stats"]}
    assert min(dates) >= str(today - dt.timedelta(days=3))  # stats_lookback_days = 3
    if server_side:  # the filtered list fits in one page
        assert after["/api/v1/creatives"] - before["/api/v1/creatives"] == 1


def second_count(run: TapRun, stream: str) -> int:
    """What a run emitted (its completeness is checked against the changes above)."""
    return len(run.records[stream])
