"""tap-kissmetrics against its emulator over real sockets: completeness, paging, faults, resume."""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import signal
import typing as t
from collections import Counter

import pytest
import tap_runner
from tap_runner import TapRun, run_tap

from emulators.process import EmulatorProcess

CORE = ("accounts", "products", "reports", "events", "properties", "metrics")
PRIMARY_KEYS: dict[str, tuple[str, ...]] = {
    **{stream: ("id",) for stream in CORE},
    "report_results": ("report_id", "window_start", "person_key"),
    "raw_events": ("revision", "line"),
}
#: Fast polls and retries, and a budget far above what the emulator serves.
FAST = {"backoff_base_milliseconds": 50, "max_retries": 10, "max_requests_per_minute": 12000,
        "query_poll_interval_seconds": 0.05, "max_query_poll_interval_seconds": 0.2}
#: The failure line of a run request that may have reached the server.
RUN_FAILED = re.compile(r"window \S+ \[(\S+), (\S+)\): POST \S*/v2/products/\S+/reports/(\S+)/run "
                        r"failed")


def config(emulator: EmulatorProcess, **extra: t.Any) -> dict[str, t.Any]:
    """The emulator's tap config with fast polls and retries, plus ``extra``."""
    return {**emulator.tap_config, **FAST, **extra}


def stats_key(report_id: str, start: str, end: str) -> str:
    """The emulator's query_runs key of a window ``[start, end)`` (end sent minus 1 s)."""
    last = dt.datetime.fromisoformat(end.replace("Z", "+00:00")) - dt.timedelta(seconds=1)
    return f"{report_id} {start[:19]}Z {last:%Y-%m-%dT%H:%M:%S}Z"


@pytest.fixture(scope="module")
def clean() -> t.Iterator[tuple[EmulatorProcess, TapRun]]:
    """One fault-free emulator and a full sync of its default config."""
    with EmulatorProcess("kissmetrics", "--seed", "11", "--scale", "40",
                         "--query-polls", "2") as emulator:
        yield emulator, run_tap("tap-kissmetrics", config(emulator))


def test_full_sync_is_complete(clean: tuple[EmulatorProcess, TapRun]) -> None:
    emulator, run = clean
    counts = emulator.counts()
    assert set(counts) == set(PRIMARY_KEYS)
    assert_complete(run, counts)
    runs = emulator.stats()["query_runs"]
    assert runs
    assert set(runs.values()) == {1}, "one run request per report and window"
    assert "unparseable line(s) skipped" in run.stderr
    assert re.search(r"still running \(\d+% done\)", run.stderr), "progress is logged"


def test_records_validate_and_bookmarks(clean: tuple[EmulatorProcess, TapRun]) -> None:
    import jsonschema  # noqa: PLC0415

    _, run = clean
    for stream, records in run.records.items():
        validator = jsonschema.Draft7Validator(run.schemas[stream]["schema"])
        for record in records[:200]:
            validator.validate(record)
    v3 = [r for r in run.records["report_results"] if r["report_type"] == "people_search_v3"]
    assert v3
    assert all(r["date_range_ignored"] and r["kmid"] is None for r in v3)
    assert all(r["person_key"] == f"identity:{r['identity']}" for r in v3)
    assert run.stderr.count("is people_search_v3") == len({r["report_id"] for r in v3})
    assert all(r["links"] for r in run.records["reports"])
    assert all("index" in r for r in run.records["events"] + run.records["properties"])
    kinds = Counter(r["kind"] for r in run.records["raw_events"])
    assert set(kinds) == {"event", "set", "alias"}
    assert any("á" in str(r["properties"]) or "ü" in str(r["properties"])
               for r in run.records["raw_events"]), "octal escapes decode to UTF-8"
    assert all(r["timestamp"].endswith("Z") for r in run.records["raw_events"])
    final = run.states[-1]["bookmarks"]
    assert final["raw_events"]["replication_key_value"] == max(
        r["revision"] for r in run.records["raw_events"])
    parts = final["report_results"]["partitions"]
    assert {p["context"]["report_id"] for p in parts} >= {
        r["report_id"] for r in run.records["report_results"] if not r["date_range_ignored"]}


def test_second_run_reads_only_new_windows_and_revisions() -> None:
    with EmulatorProcess("kissmetrics", "--seed", "12", "--scale", "30",
                         "--query-polls", "0") as emulator:
        first = run_tap("tap-kissmetrics", config(emulator))
        assert_complete(first, emulator.counts())
        emulator.mutate(2)
        second = run_tap("tap-kissmetrics", config(emulator), state=first.states[-1])
    assert second.returncode == 0, second.stderr[-2000:]
    revisions = {r["revision"] for r in second.records["raw_events"]}
    last = first.states[-1]["bookmarks"]["raw_events"]["replication_key_value"]
    assert revisions == {last + 1, last + 2}
    # Reports of the first run query only today's window again (under way then); reports
    # that /mutate added start from start_date.
    old = {r["report_id"] for r in first.records["report_results"]}
    windows = Counter(r[0] for r in {(r["report_id"], r["window_start"]) for r in
                      second.records["report_results"]} if r[0] in old)
    assert windows
    assert max(windows.values()) == 1


# Pagination -----------------------------------------------------------------------------

def test_small_pages_and_capped_limits_lose_nothing() -> None:
    with EmulatorProcess("kissmetrics", "--seed", "6", "--scale", "400", "--query-polls", "0",
                         "--results-limit-cap", "3") as emulator:
        counts = emulator.counts()
        run = run_tap("tap-kissmetrics", config(emulator, page_size=7, results_page_size=1000))
        assert_complete(run, counts)
        by_path = emulator.stats()["by_path"]
        capped = run_tap("tap-kissmetrics", config(emulator, page_size=500),
                         catalog=None)
        assert_complete(capped, counts, CORE)
    assert by_path["/core/events"] == math.ceil(counts["events"] / 7)
    assert counts["events"] > 100, "the Core cap (100) must be exceeded"
    results_pages = sum(v for k, v in by_path.items() if k.endswith("/results"))
    assert results_pages >= counts["report_results"] / 3


def test_bare_lists_are_one_page() -> None:
    with EmulatorProcess("kissmetrics", "--seed", "7", "--scale", "60", "--bare-lists",
                         "--query-polls", "1") as emulator:
        run = run_tap("tap-kissmetrics", config(emulator, page_size=5))
        assert_complete(run, emulator.counts())
        by_path = emulator.stats()["by_path"]
    assert by_path["/core/events"] == 1
    assert by_path["/core/metrics"] == 1


# Faults ------------------------------------------------------------------------------------

FAULT_EMULATOR = ("--seed", "23", "--scale", "40", "--query-polls", "1")


def fault_config(emulator: EmulatorProcess) -> dict[str, t.Any]:
    """Three days of windows, small pages (many requests to fault), short timeouts."""
    start = emulator.tap_config["start_date"]
    day = dt.date.fromisoformat(start[:10]) + dt.timedelta(days=5)
    return config(emulator, page_size=10, results_page_size=4, request_timeout_seconds=1,
                  start_date=f"{day}T00:00:00Z")


@pytest.fixture(scope="module")
def clean_fault_keys() -> dict[str, set[tuple]]:
    """Primary keys of a fault-free sync of the emulator the fault tests use (same seed)."""
    with EmulatorProcess("kissmetrics", *FAULT_EMULATOR) as emulator:
        run = run_tap("tap-kissmetrics", fault_config(emulator))
        # report_results: a later start_date than /counts assumes.
        assert_complete(run, emulator.counts(), (*CORE, "raw_events"))
    assert run.records["report_results"]
    return {stream: set(run.keys(stream, key)) for stream, key in PRIMARY_KEYS.items()}


@pytest.mark.parametrize(
    ("kind", "probability"),
    [("429", 0.04), ("500", 0.12), ("502", 0.12), ("503", 0.12), ("reset", 0.15),
     ("truncate", 0.2), ("slow", 0.03)],
)
def test_faults_lose_nothing_and_run_each_window_once(
    kind: str, probability: float, clean_fault_keys: dict[str, set[tuple]]
) -> None:
    """Each window's query is started once; a run request that may have reached the server
    is never resent within a sync: its window fails clearly and the next sync re-runs it."""
    with EmulatorProcess("kissmetrics", *FAULT_EMULATOR,
                         "--faults", f"{kind}={probability}") as emulator:
        runs: list[TapRun] = []
        state = None
        for _ in range(12):
            runs.append(run_tap("tap-kissmetrics", fault_config(emulator), state=state))
            if runs[-1].returncode == 0:
                break
            assert "not sent again" in one_line_failure(runs[-1])
            state = runs[-1].states[-1] if runs[-1].states else state
        assert runs[-1].returncode == 0, runs[-1].stderr[-2000:]
        stats = emulator.stats()
    assert stats["by_fault"].get(kind, 0) > 0, f"no {kind} fault was injected"
    failed = Counter(stats_key(m.group(3), m.group(1), m.group(2))
                     for run in runs[:-1] for m in [RUN_FAILED.search(run.stderr)] if m)
    v3 = {r["report_id"] for run in runs for r in run.records["report_results"]
          if r["date_range_ignored"]}
    # A faulted 5xx/429 never reached the handler (not counted); a reset, truncated or
    # timed-out one did, so its window is counted once more when the next sync re-runs it.
    reached = kind in {"reset", "truncate", "slow"}
    now = f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%dT%H:%M:%S}Z"
    wrong, again = {}, {}
    for key, count in stats["query_runs"].items():
        report, _, end = key.split()
        if report in v3 or end >= now:  # once per sync: v3 reports, today's windows
            again[key] = count
        elif count != 1 + (failed[key] if reached else 0):
            wrong[key] = count
    assert wrong == {}, "a people_search_v2 window was run more than once per sync"
    assert all(count <= len(runs) for count in again.values())
    for stream, key in PRIMARY_KEYS.items():
        keys = [k for run in runs for k in run.keys(stream, key)]
        assert set(keys) == clean_fault_keys[stream], stream
        for run in runs:
            assert len(set(run.keys(stream, key))) == len(run.keys(stream, key)), stream
    # Across syncs, only windows still under way (today's) and v3 reports are read again.
    once = [r for run in runs for r in run.records["report_results"] + run.records["raw_events"]
            if not r.get("date_range_ignored") and r.get("window_end", "") < now]
    keys = [(r.get("report_id"), r.get("window_start"), r.get("person_key"), r.get("revision"),
             r.get("line")) for r in once]
    assert len(keys) == len(set(keys)), "a completed window or revision was emitted twice"


# Resume --------------------------------------------------------------------------------------

def _after_first_window(line: str) -> bool:
    return line.startswith('{"type":"STATE"') and '"report_results"' in line and (
        "window_start" in line)


@pytest.mark.parametrize(("sig", "moment"), [
    (signal.SIGTERM, "query"), (signal.SIGKILL, "query"),
    (signal.SIGTERM, "results"), (signal.SIGKILL, "results")])
def test_resume_after_kill_loses_nothing(sig: signal.Signals, moment: str) -> None:
    with EmulatorProcess("kissmetrics", "--seed", "8", "--scale", "60", "--query-polls", "2",
                         "--latency-ms", "5") as emulator:
        cfg = config(emulator, results_page_size=3, query_poll_interval_seconds=0.1)
        counts = emulator.counts()
        # "query": right after the first window's bookmark, with the next queries running;
        # "results": in the middle of a window's result pages.
        done = (_after_first_window if moment == "query"
                else tap_runner.after_records(10, "report_results"))
        tap_runner.kill_and_resume("tap-kissmetrics", cfg, sig, done, counts, PRIMARY_KEYS)


def assert_complete(run: TapRun, counts: dict[str, int],
                    streams: t.Iterable[str] = tuple(PRIMARY_KEYS)) -> None:
    """Each stream has exactly the emulator's count, with unique non-null primary keys."""
    tap_runner.assert_complete(run, counts, PRIMARY_KEYS, streams)


one_line_failure = functools.partial(tap_runner.one_line_failure, tap="tap-kissmetrics")
