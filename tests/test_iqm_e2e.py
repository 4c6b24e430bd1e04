"""tap-iqm against its emulator over real sockets: completeness, paging, totals, faults, resume."""

from __future__ import annotations

import datetime as dt
import functools
import json
import signal
import typing as t
from decimal import Decimal

import pytest
import tap_runner
from tap_runner import TapRun, run_tap

from emulators.iqm.testing import Client, report_body
from emulators.process import EmulatorProcess

LIST_KEYS = {"campaigns": ("campaignId",), "insertion_orders": ("ioId",),
             "creatives": ("creativeId",), "audiences": ("audienceId",),
             "conversions": ("id",), "saved_reports": ("id",)}
PRIMARY_KEYS = {**LIST_KEYS, "campaign_daily_report": ("date", "campaignId")}
#: The emulator's limit scaled 30x (600/min); fast retries; a short rate window for 429s.
RATE = ("--rate-limit", "600/60")
FAST = {"max_requests_per_minute": 600, "backoff_base_milliseconds": 50, "max_retries": 10,
        "rate_limit_window_seconds": 0.5}


def config(emulator: EmulatorProcess, **extra: t.Any) -> dict[str, t.Any]:
    """The emulator's tap config with fast retries, plus ``extra``."""
    return {**emulator.tap_config, **FAST, **extra}


def assert_complete(run: TapRun, counts: dict[str, int],
                    keys: dict[str, tuple[str, ...]] = PRIMARY_KEYS) -> None:
    """Each stream has exactly the emulator's count, with unique non-null primary keys."""
    tap_runner.assert_complete(run, counts, keys)


one_line_failure = functools.partial(tap_runner.one_line_failure, tap="tap-iqm")


def report_records(run: TapRun, stream: str = "campaign_daily_report") -> list[dict]:
    """A report's records with exact decimals."""
    return [json.loads(line, parse_float=Decimal)["record"] for line in run.stdout.splitlines()
            if line.startswith(f'{{"type":"RECORD","stream":"{stream}"')]


@pytest.fixture(scope="module")
def clean() -> t.Iterator[tuple[EmulatorProcess, TapRun]]:
    """One fault-free emulator and a full sync with one extra report."""
    with EmulatorProcess("iqm", "--seed", "11", "--scale", "40", *RATE) as emulator:
        extra = [{"name": "campaign_gender_daily", "dimensions": ["campaign", "gender"],
                  "columns": ["impressions", "clicks", "spent"]}]
        yield emulator, run_tap("tap-iqm", config(emulator, reports=extra))


def test_full_sync_is_complete(clean: tuple[EmulatorProcess, TapRun]) -> None:
    emulator, run = clean
    assert_complete(run, emulator.counts())
    bookmark = run.states[-1]["bookmarks"]["campaign_daily_report"]
    assert bookmark["replication_key_value"] == dt.datetime.now(dt.timezone.utc).date().isoformat()
    by_path = emulator.stats()["by_path"]
    # One login, the time zones and the report metadata once, one page per list.
    assert by_path["/api/v3/ua/oauth/token"] == 1
    assert by_path["/api/v3/master/timezones"] == 1
    assert by_path["/api/v3/ra/report/dimension-metrics/detail"] == 1
    assert by_path["/api/v3/ra/reports/list"] == 1
    assert "/api/v3/ua/user/ow-id" not in by_path  # owId came with the token


def test_ids_are_integers_and_times_iso(clean: tuple[EmulatorProcess, TapRun]) -> None:
    import jsonschema  # noqa: PLC0415

    _, run = clean
    for stream, records in run.records.items():
        validator = jsonschema.Draft7Validator(run.schemas[stream]["schema"])
        for record in records[:50]:
            validator.validate(record)
    for record in run.records["campaigns"]:
        assert isinstance(record["campaignId"], int)
        for field in ("startTime", "createdAt", "modifiedAt"):
            assert record[field].endswith("Z"), field
            assert record[field][:2] == "20", field
    for record in run.records["creatives"]:  # ms createdAt next to an ISO modifiedAt
        assert record["createdAt"][:2] == record["modifiedAt"][:2] == "20"
    assert all(r["ioStartTime"][:2] == "20" for r in run.records["insertion_orders"])
    assert all(r["created"][:2] == "20" for r in run.records["conversions"])


def test_report_totals_agree_with_the_emulator(clean: tuple[EmulatorProcess, TapRun]) -> None:
    emulator, run = clean
    records = report_records(run)
    first = dt.date.fromisoformat(min(r["date"] for r in records))
    start = int(dt.datetime.combine(first, dt.time(), dt.timezone.utc).timestamp()) * 1000
    today = dt.datetime.now(dt.timezone.utc).date()
    end = int(dt.datetime.combine(today, dt.time(23, 59, 59), dt.timezone.utc).timestamp()) * 1000
    total = json.loads(Client(emulator).execute(**report_body(
        start, end, ["campaign"], request_type=2, columns=["impressions", "clicks", "spent"],
    )).text, parse_float=Decimal)["data"]["total"]
    for metric in ("impressions", "clicks", "spent"):
        assert sum(r[metric] for r in records) == total[metric], metric
    by_gender = report_records(run, "campaign_gender_daily")
    for metric in ("impressions", "clicks", "spent"):
        assert sum(r[metric] for r in by_gender) == total[metric], metric
    keys = run.keys("campaign_gender_daily", ("date", "campaignId", "genderId"))
    assert len(keys) == len(set(keys))
    assert all(all(k) for k in keys)


# Pagination -----------------------------------------------------------------------------

def test_pagination_ends_on_each_endpoint_family() -> None:
    with EmulatorProcess("iqm", "--seed", "6", "--scale", "30",
                         "--rate-limit", "1800/60") as emulator:
        run = run_tap("tap-iqm", config(emulator, page_size=10, max_requests_per_minute=1800))
        counts = emulator.counts()
        assert_complete(run, counts)
        by_path = emulator.stats()["by_path"]
    assert by_path["/api/v3/cmp/basic/list"] == 3  # 30 at 10: the total reached, no 4th page
    assert by_path["/api/v3/crt/creatives/list"] == 5  # 45 at 10: the short 5th page ends it
    assert by_path["/api/v3/conversion/list"] == 1  # 8 at 10 (GET, limit): one short page
    assert by_path["/api/v3/ra/reports/list"] == 1  # pageNo=-1: never paged
    rows = counts["campaign_daily_report"]  # pageNo x noOfEntries >= totalRecords ends it
    assert by_path["/api/v3/ra/report/execute"] == -(-rows // 10)


def test_a_server_that_ignores_paging_ends_on_the_repeat_page() -> None:
    from misbehaving import MisbehavingServer, json_answer  # noqa: PLC0415

    rows = [{"campaignId": i, "name": f"c{i}"} for i in range(1, 6)]

    def route(path: str, query: dict[str, str], n: int) -> tuple[int, dict[str, str], bytes]:
        if path.endswith("/oauth/token"):
            return json_answer({"access_token": "at-0001-abcdef", "refresh_token": "rt-0001",
                                "expires_in": 35999, "owId": 7})
        if path.endswith("/timezones"):
            return json_answer({"success": True, "data": {"data": [{"id": 11, "name": "UTC"}]}})
        if path.endswith("/dimension-metrics/detail"):
            return json_answer({"success": True, "data": {}})
        if path.endswith("/report/execute"):
            return json_answer({"success": True, "data": {"data": [], "totalRecords": 0}})
        # Same five rows on every page, and totals that disagree with them.
        return json_answer({"success": True, "data": {
            key: rows for key in ("data", "ioBasicDetailsList", "filteredList", "audienceList")
        } | {"totalRecords": 2, "filteredRecords": 50}})

    with MisbehavingServer(route) as server:
        run = run_tap("tap-iqm", {"api_url": server.url, "client_id": "c", "client_secret": "s",
                                  "username": "u", "password": "p", "page_size": 5,
                                  "max_requests_per_minute": 6000,
                                  "start_date": "2026-01-01T00:00:00Z"})
        paths = server.paths()
    assert run.returncode == 0, run.stderr[-2000:]
    assert len(run.records["campaigns"]) == 5
    assert paths.count("/api/v3/cmp/basic/list") == 2  # the repeat page ends it
    assert "reported 50 records but 5 distinct" in run.stderr
    # Empty report windows still advance the bookmark (one window a year, campaign only).
    assert run.states[-1]["bookmarks"]["campaign_daily_report"]["replication_key_value"]


# Faults, resume, incremental ---------------------------------------------------------------

FAULT_EMULATOR = ("--seed", "23", "--scale", "30", "--rate-limit", "1200/60")


def fault_config(emulator: EmulatorProcess) -> dict[str, t.Any]:
    return config(emulator, page_size=25, request_timeout_seconds=1,
                  max_requests_per_minute=1200)


@pytest.fixture(scope="module")
def clean_fault_keys() -> dict[str, set[tuple]]:
    """Primary keys of a fault-free sync of the emulator the fault tests use (same seed)."""
    with EmulatorProcess("iqm", *FAULT_EMULATOR) as emulator:
        run = run_tap("tap-iqm", fault_config(emulator))
        assert_complete(run, emulator.counts())
    return {stream: set(run.keys(stream, key)) for stream, key in PRIMARY_KEYS.items()}


@pytest.mark.parametrize(
    ("kind", "probability"),
    [("429", 0.1), ("500", 0.2), ("502", 0.2), ("503", 0.2), ("reset", 0.2),
     ("truncate", 0.25), ("slow", 0.05)],
)
def test_recovers_from_fault_without_loss_or_duplicates(
    kind: str, probability: float, clean_fault_keys: dict[str, set[tuple]]
) -> None:
    with EmulatorProcess("iqm", *FAULT_EMULATOR, "--faults", f"{kind}={probability}") as emulator:
        run = run_tap("tap-iqm", fault_config(emulator))
        assert_complete(run, emulator.counts())
        stats = emulator.stats()
    assert stats["by_fault"].get(kind, 0) > 0, f"no {kind} fault was injected"
    for stream, key in PRIMARY_KEYS.items():
        assert set(run.keys(stream, key)) == clean_fault_keys[stream], stream


@pytest.mark.parametrize(("sig", "after"), [(signal.SIGTERM, 300), (signal.SIGKILL, 700)])
def test_resume_after_kill_loses_nothing(sig: signal.Signals, after: int) -> None:
    with EmulatorProcess("iqm", "--seed", "8", "--scale", "50", "--latency-ms", "15",
                         "--rate-limit", "3000/60") as emulator:
        cfg = config(emulator, page_size=20, max_requests_per_minute=3000)
        counts = emulator.counts()
        tap_runner.kill_and_resume("tap-iqm", cfg, sig, tap_runner.after_records(after), counts,
                                   PRIMARY_KEYS)


def test_incremental_run_rereads_only_the_lookback() -> None:
    with EmulatorProcess("iqm", "--seed", "4", "--scale", "20", *RATE) as emulator:
        cfg = config(emulator, report_lookback_days=2)
        first = run_tap("tap-iqm", cfg)
        assert_complete(first, emulator.counts())
        emulator.mutate(2)
        second = run_tap("tap-iqm", cfg, state=first.states[-1])
        assert second.returncode == 0, second.stderr[-2000:]
    today = dt.datetime.now(dt.timezone.utc).date()
    dates = {r["date"] for r in second.records["campaign_daily_report"]}
    assert dates
    assert min(dates) >= str(today - dt.timedelta(days=2))
    assert len(second.records["campaigns"]) == len(first.records["campaigns"]) + 2  # full table
