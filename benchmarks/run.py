"""Benchmark: each tap against its emulator, next to a minimal stock singer-sdk tap.

Prints records/s, requests, 429s and peak memory (max RSS) per tap, stream and scale, and
the ratio of our tap's records/s to the stock tap's, each the run of median wall time of
``--repeat`` (3). Figures are printed, never asserted.

    .venv/bin/python benchmarks/run.py --scale 20000 --scale 100000      # both taps
    .venv/bin/python benchmarks/run.py --tap adnuntius --line-items 20000

Amperity: ``profiles`` (``--scale`` profiles per index, 3 indexes). Adnuntius: ``line_items``
(``--line-items``) and ``line_item_daily_stats`` (every delivering line item on each day from
the emulator's ``start_date``, 30 days back, through today: one request per day), each
stream in a run of its own. tap-adnuntius
reads with the emulator's per-token limit lifted, as the stock tap does; with
``--adnuntius-budget 1200`` the limit (20/s) stays, tap-adnuntius keeps to it and the stock
tap, which has no budget, meets it as 429s.

IQM is the rate case: ``benchmarks/iqm_rate.py``'s full sync (requests, 429s, the most
requests in one rate window, wall time ÷ the floor requests ÷ rate) at a scaled limit
(600/minute), and with ``--iqm-real-rate`` also at IQM's 20/minute (about two minutes).
Kissmetrics: ``report_results`` (the async Query API: run, poll, page) and ``raw_events``
(the S3 export, moto) at ``--kissmetrics-scale``, each in a run of its own, with records/s,
requests and peak memory (no stock tap: the SDK has no async-query or S3 stream to compare).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import bare_client
import iqm_rate

from emulators.iqm.testing import Client as IQMClient
from emulators.process import EmulatorProcess

ROOT = Path(__file__).resolve().parent.parent

BIN = Path(sys.executable).parent


@dataclass
class Result:
    """One measured run."""

    label: str
    stream: str
    scale: int
    records: int
    seconds: float
    requests: int
    throttled: int
    max_rss_mib: float
    cpu_seconds: float = 0.0
    expected: int = 0
    #: ``time.monotonic()`` when the tap had exited.
    ended: float = 0.0
    #: Seconds from the emulator's first arrival to the tap's exit: the sync without the
    #: start-up (imports, settings, catalog) that every singer-sdk tap pays alike.
    synced: float = 0.0

    @property
    def rate(self) -> float:
        """Records per second."""
        return self.records / self.seconds if self.seconds else 0.0

    @property
    def sync_rate(self) -> float:
        """Records per second from the first request on."""
        return self.records / self.synced if self.synced else 0.0


def select_only(catalog: dict, streams: set[str]) -> dict:
    """Mark only ``streams`` as selected in a discovered catalog."""
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = entry["tap_stream_id"] in streams
    return catalog


#: Pause before each measured run: longer than any emulator's per-second rate window.
RATE_WINDOW_REST_SECONDS = 1.1


def measure(label: str, scale: int, args: list[str], stream: str,
            emulator: EmulatorProcess) -> Result:
    """Run a tap to completion, counting RECORD lines of ``stream`` as they stream by."""
    stats = emulator.stats()
    before, before_429 = stats["requests_total"], stats["by_status"].get("429", 0)
    marker = f'"type":"RECORD","stream":"{stream}"'.encode()
    marker_spaced = f'"type": "RECORD", "stream": "{stream}"'.encode()
    emulator.mark()
    started = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env={**os.environ, "LOGLEVEL": "WARNING"})
    assert proc.stdout is not None
    records, tail = 0, b""
    while chunk := proc.stdout.read(1 << 20):
        data = tail + chunk
        cut = data.rfind(b"\n") + 1
        records += data[:cut].count(marker) + data[:cut].count(marker_spaced)
        tail = data[cut:]
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    ended = time.monotonic()
    if status != 0:
        msg = f"{label} exited with status {status}"
        raise RuntimeError(msg)
    stats = emulator.stats()
    first = stats["first_arrival_monotonic"]
    return Result(label, stream, scale, records, seconds, stats["requests_total"] - before,
                  stats["by_status"].get("429", 0) - before_429, usage.ru_maxrss / 1024,
                  usage.ru_utime + usage.ru_stime, ended=ended,
                  synced=ended - first if first is not None else 0.0)


#: Measured runs per tap and stream; the one of median wall time is reported (--repeat).
REPEATS = 3


def paired_runs(*taps: tuple[str, list[str]], scale: int, stream: str,
                emulator: EmulatorProcess) -> list[Result]:
    """Each of ``taps`` (label, command) ``REPEATS`` times, in turn; the median run of each.

    In turn (ours, stock, ours, stock, ...) so that a slow spell of this shared machine
    weighs on both sides alike.
    """
    runs: list[list[Result]] = [[] for _ in taps]
    for _ in range(REPEATS):
        for index, (label, args) in enumerate(taps):
            # The previous run's requests leave the emulator's per-second rate window first
            # (Adnuntius limits per API key: they would otherwise count against this run).
            time.sleep(RATE_WINDOW_REST_SECONDS)
            runs[index].append(measure(label, scale, args, stream, emulator))
    return [sorted(each, key=lambda run: run.seconds)[len(each) // 2] for each in runs]


def write_json(folder: Path, name: str, data: dict) -> Path:
    """``data`` as ``folder/name``."""
    path = folder / name
    path.write_text(json.dumps(data))
    return path


def catalog_for(tap: list[str], config: Path, folder: Path, streams: set[str]) -> Path:
    """A catalog discovered by ``tap`` with only ``streams`` selected."""
    discovered = subprocess.run([*tap, "--config", str(config), "--discover"],
                                capture_output=True, check=True).stdout
    return write_json(folder, f"catalog-{'-'.join(sorted(streams))}-{len(tap)}.json",
                      select_only(json.loads(discovered), streams))


def bench_amperity(scale: int, page_size: int) -> list[Result]:
    """tap-amperity's profiles stream vs the stock tap, same emulator, same page size."""
    with EmulatorProcess("amperity", "--seed", "1", "--scale", str(scale),
                         "--no-short-pages") as emulator, tempfile.TemporaryDirectory() as tmp:
        config = {**emulator.tap_config, "profile_page_size": page_size}
        config_path = Path(tmp) / "config.json"
        config_path.write_text(json.dumps(config))
        discovered = subprocess.run([str(BIN / "tap-amperity"), "--config", str(config_path),
                                     "--discover"], capture_output=True, check=True).stdout
        catalog_path = Path(tmp) / "catalog.json"
        catalog_path.write_text(json.dumps(
            select_only(json.loads(discovered), {"profile_indexes", "profiles"})))
        ours_args = [str(BIN / "tap-amperity"), "--config", str(config_path),
                     "--catalog", str(catalog_path)]
        # The emulator builds each page once and then serves it from its cache: a first
        # read, not measured, so that neither tap pays for building the pages.
        measure("warm-up", scale, ours_args, "profiles", emulator)
        stock_args = [sys.executable, str(ROOT / "benchmarks" / "stock_amperity_profiles.py"),
                      "--config", str(config_path)]
        ours, stock = paired_runs(("tap-amperity", ours_args),
                                  ("stock singer-sdk tap", stock_args), scale=scale,
                                  stream="profiles", emulator=emulator)
        expected = emulator.counts()["profiles"]
    for result in (ours, stock):
        result.expected = expected
    return [ours, stock]


def side_by_side(tap_name: str, ours_config: Path, stock_script: str, stock_config: Path, *,
                 streams: tuple[str, ...], scale: int, emulator: EmulatorProcess,
                 folder: Path) -> list[Result]:
    """Each stream alone, our tap and the stock tap of ``benchmarks/<stock_script>`` in turn.

    The emulator builds each page once and then serves it from its cache: a first read by
    our tap, not measured, means neither tap pays for building the pages.
    """
    ours = [str(BIN / tap_name)]
    stock = [sys.executable, str(ROOT / "benchmarks" / stock_script)]
    results = []
    for stream in streams:
        ours_args, stock_args = (
            [*tap, "--config", str(config), "--catalog",
             str(catalog_for(tap, config, folder, {stream}))]
            for tap, config in ((ours, ours_config), (stock, stock_config)))
        measure("warm-up", scale, ours_args, stream, emulator)
        results += paired_runs((tap_name, ours_args), ("stock singer-sdk tap", stock_args),
                               scale=scale, stream=stream, emulator=emulator)
    return results


def bench_amperity_lists(scale: int, page_size: int) -> list[Result]:
    """tap-amperity's campaigns (full table) and audit_events (conformed, incremental).

    Against the stock tap of ``stock_amperity.py``, each stream in a run of its own, with the
    emulator's rate limit lifted (both taps then read as fast as they can).
    """
    with EmulatorProcess("amperity", "--seed", "1", "--scale", str(scale), "--no-short-pages",
                         "--rate-limit", "100000/1") as emulator, \
            tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        base = emulator.tap_config
        stock_config = write_json(folder, "stock.json", {
            "api_url": base["api_url"], "tenant": base["tenant"],
            "access_token": base["access_token"], "page_size": page_size,
            "start_date": base["start_date"]})
        ours_config = write_json(folder, "ours.json", {
            **base, "page_size": page_size, "max_requests_per_minute": 1_000_000})
        results = side_by_side("tap-amperity", ours_config, "stock_amperity.py", stock_config,
                               streams=("campaigns", "audit_events"), scale=scale,
                               emulator=emulator, folder=folder)
        counts = emulator.counts()
    for result in results:
        result.expected = counts[result.stream]
    return results


def bench_adnuntius(line_items: int, page_size: int, budget: int | None) -> list[Result]:
    """tap-adnuntius's line_items and line_item_daily_stats vs the stock tap, same emulator.

    With ``budget`` None the emulator's per-token limit is lifted (both taps read as fast as
    they can); otherwise it stays (20/s) and tap-adnuntius runs with that budget.
    """
    limit = () if budget is not None else ("--rate-limit", "100000/1")
    with EmulatorProcess("adnuntius", "--seed", "1", "--scale", str(line_items),
                         *limit) as emulator, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        base = emulator.tap_config
        common = {"api_url": base["api_url"], "network": base["network"],
                  "api_key": base["api_key"], "start_date": base["start_date"],
                  "page_size": page_size}
        ours_config = write_json(folder, "ours.json", {
            **common, "max_requests_per_minute": budget or 1_000_000})
        stock_config = write_json(folder, "stock.json", common)
        results = side_by_side("tap-adnuntius", ours_config, "stock_adnuntius.py", stock_config,
                               streams=("line_items", "line_item_daily_stats"),
                               scale=line_items, emulator=emulator, folder=folder)
        counts = emulator.counts()
    for result in results:
        result.expected = counts[result.stream]
    return results


def bench_iqm_report(scale: int) -> list[Result]:
    """tap-iqm's campaign_daily_report (conformed, a POST per page) vs the stock tap.

    The emulator's rate limit is lifted (IQM's own 20/minute is the rate case, measured
    apart): both taps read the same days as fast as they can.
    """
    with EmulatorProcess("iqm", "--seed", "1", "--scale", str(scale),
                         "--rate-limit", "1000000/60") as emulator, \
            tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        client = IQMClient(emulator)
        zones = client.get("/api/v3/master/timezones").json()["data"]["data"]
        stock_config = write_json(folder, "stock.json", {
            "api_url": client.url, "token": client.access, "ow_id": client.ow_id,
            "timezone_id": next(z["id"] for z in zones if "UTC" in (z.get("name"), z.get("label"))),
            "start_date": emulator.tap_config["start_date"]})
        ours_config = write_json(folder, "ours.json", {
            **emulator.tap_config, "max_requests_per_minute": 1_000_000,
            "request_timeout_seconds": 60})
        results = side_by_side("tap-iqm", ours_config, "stock_iqm.py", stock_config,
                               streams=("campaign_daily_report",), scale=scale,
                               emulator=emulator, folder=folder)
        counts = emulator.counts()
    for result in results:
        result.expected = counts[result.stream]
    return results


def bench_kissmetrics(scale: int) -> list[Result]:
    """tap-kissmetrics's report_results and raw_events, each stream in a run of its own."""
    with EmulatorProcess("kissmetrics", "--seed", "1", "--scale", str(scale),
                         "--query-polls", "1") as emulator, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        # The emulator has no rate limit; polls as often as a quick server deserves.
        config = write_json(folder, "config.json", {
            **emulator.tap_config, "max_requests_per_minute": 60_000,
            "query_poll_interval_seconds": 0.05, "max_query_poll_interval_seconds": 0.2})
        tap = [str(BIN / "tap-kissmetrics")]
        results = []
        for stream in ("report_results", "raw_events"):
            catalog = catalog_for(tap, config, folder, {stream})
            results.append(measure("tap-kissmetrics", scale,
                                   [*tap, "--config", str(config), "--catalog", str(catalog)],
                                   stream, emulator))
        counts = emulator.counts()
    for result in results:
        result.expected = counts[result.stream]
    return results


def bench_latency(latency_ms: int, concurrency: int) -> None:
    """Latency-bound syncs against their floor: requests x latency / concurrency allowed.

    Adnuntius ``line_item_daily_stats`` (one request per day, 120 days: partitions that may
    overlap), Amperity ``profiles`` (three indexes, each a cursor of 10-profile pages: the
    indexes may overlap) and ``audit_events`` (10 per page: a cursor, so one page after the
    other, where the next page can only overlap processing). A sync's time runs from the
    emulator's first arrival to the tap's exit (one clock: the system's monotonic one), so
    start-up (imports, settings, catalog), which has no request to overlap, is not in it;
    the run of median sync time of ``REPEATS`` is reported.
    """
    start = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=119)).strftime(
        "%Y-%m-%dT00:00:00Z")
    # (vendor, stream, emulator arguments, settings, the path of the partitioned requests,
    # how many of them may overlap); other requests (an index list) are one at a time.
    cases = [("adnuntius", "line_item_daily_stats", ["--scale", "30"],
              {"start_date": start, "max_concurrent_requests": concurrency}, "/stats",
              concurrency),
             ("amperity", "profiles", ["--scale", "100"],
              {"profile_page_size": 10, "max_concurrent_requests": concurrency}, "/profiles",
              min(3, concurrency)),  # three indexes, each a cursor
             ("amperity", "audit_events", ["--scale", "400", "--no-short-pages"],
              {"page_size": 10, "max_concurrent_requests": concurrency}, "/audit", 1)]
    print(f"\nlatency-bound ({latency_ms} ms per request, max_concurrent_requests "
          f"{concurrency}, median of {REPEATS}):")
    for vendor, stream, emulator_args, settings, partitioned, overlap in cases:
        # The vendor's rate limit is lifted: this case measures latency, not the limit.
        with EmulatorProcess(vendor, "--seed", "1", *emulator_args, "--latency-ms",
                             str(latency_ms), "--rate-limit", "100000/1") as emulator, \
                tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            tap = [str(BIN / f"tap-{vendor}")]
            config = write_json(folder, "config.json", {
                **emulator.tap_config, "max_requests_per_minute": 1_000_000, **settings})
            catalog = catalog_for(tap, config, folder, {stream})
            runs = []
            for _ in range(REPEATS):
                before = emulator.stats()
                emulator.mark()
                result = measure(f"tap-{vendor}", 0, [*tap, "--config", str(config),
                                                      "--catalog", str(catalog)],
                                 stream, emulator)
                stats = emulator.stats()
                parts = sum(count - before["by_path"].get(path, 0)
                            for path, count in stats["by_path"].items() if partitioned in path)
                answer = ((stats["answer_seconds_total"] - before["answer_seconds_total"])
                          / result.requests)
                sync = result.ended - stats["first_arrival_monotonic"]
                runs.append((sync, result, parts, answer, stats["max_requests_in_flight"]))
            sync, result, parts, answer, in_flight = sorted(runs, key=lambda r: r[0])[
                len(runs) // 2]
            bare = (sorted(bare_client.stats_days_seconds(emulator, parts, overlap)
                           for _ in range(REPEATS))[REPEATS // 2]
                    if vendor == "adnuntius" else None)
        turns = (result.requests - parts) + parts / overlap
        floor, served = turns * latency_ms / 1000, turns * answer
        print(f"  tap-{vendor:<12} {stream:<22} {result.records:>7} records "
              f"{result.requests:>4} requests {result.throttled} x 429  sync {sync:6.2f} s "
              f"(first request to exit; wall {result.seconds:.2f})  floor {floor:6.2f} s "
              f"(÷ {overlap})  sync/floor {sync / floor:5.2f}; at the emulator's "
              f"{answer * 1000:.1f} ms an answer {served:5.2f} s, sync/that "
              f"{sync / served:5.2f}  (at most {in_flight} in flight)")
        if bare is not None:
            print(f"  {'':<17}a bare http.client client, {overlap} threads, the same requests "
                  f"and nothing else: {bare:.2f} s ({bare / floor:.2f} x the floor); "
                  f"sync/that {sync / bare:.2f}")


def print_results(results: list[Result]) -> None:
    """One line per run, then the ratio per stream."""
    for r in results:
        note = "" if r.records == r.expected else f"  (expected {r.expected})"
        print(f"{r.label:<22} {r.stream:<22} {r.scale:>8} {r.records:>9} {r.seconds:>8.2f} "
              f"{r.rate:>10.0f} {r.requests:>9} {r.throttled:>6} {r.max_rss_mib:>12.1f} "
              f"{r.cpu_seconds:>8.2f}{note}")
    for stream in dict.fromkeys(r.stream for r in results):
        pair = [r for r in results if r.stream == stream]
        if len(pair) != 2:  # no stock tap to compare with
            continue
        ours, stock = pair
        synced = (f"; from the first request {ours.synced:.2f} s against {stock.synced:.2f}:"
                  f" {ours.sync_rate / stock.sync_rate:.2f}x" if ours.synced and stock.synced
                  else "")
        print(f"{'ratio (ours/stock)':<22} {stream:<22} {ours.scale:>8} {'':>9} {'':>8} "
              f"{ours.rate / stock.rate:>9.2f}x  (CPU per record "
              f"{stock.cpu_seconds / stock.records / (ours.cpu_seconds / ours.records):.2f}x"
              f"{synced})")


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tap", default="all", choices=["all", "amperity", "adnuntius", "iqm",
                                                         "kissmetrics", "latency"])
    parser.add_argument("--scale", type=int, action="append",
                        help="Amperity profiles per index (3 indexes); repeat to compare memory")
    parser.add_argument("--page-size", type=int, default=1000, help="Amperity profiles per page")
    parser.add_argument("--lists-scale", type=int, action="append",
                        help="Amperity campaigns and audit events (default 100000)")
    parser.add_argument("--line-items", type=int, action="append",
                        help="Adnuntius line items (default 5000); repeat to compare")
    parser.add_argument("--adnuntius-page-size", type=int, default=1000,
                        help="Adnuntius objects per page (the emulator's maximum)")
    parser.add_argument("--adnuntius-budget", type=int,
                        help="keep the emulator's per-token limit (20/s) and give tap-adnuntius "
                             "this max_requests_per_minute (1200: the limit); default: lifted")
    parser.add_argument("--iqm-scale", type=int, default=100, help="IQM campaigns")
    parser.add_argument("--iqm-report-scale", type=int, action="append",
                        help="IQM campaigns for the report throughput case (default 2000)")
    parser.add_argument("--iqm-page-size", type=int, default=10,
                        help="IQM rows per page (small, so a sync needs many requests)")
    parser.add_argument("--iqm-real-rate", action="store_true",
                        help="also run tap-iqm at IQM's 20 requests/minute (about 2 minutes)")
    parser.add_argument("--kissmetrics-scale", type=int, action="append",
                        help="Kissmetrics emulator --scale (default 20000); repeat to compare")
    parser.add_argument("--latency-ms", type=int, default=50,
                        help="per-request latency of the latency-bound case (0: skip it)")
    parser.add_argument("--concurrency", type=int, default=4,
                        help="max_concurrent_requests of the latency-bound case")
    parser.add_argument("--repeat", type=int, default=REPEATS,
                        help="measured runs per tap and stream (the median is reported)")
    options = parser.parse_args()
    globals()["REPEATS"] = max(options.repeat, 1)
    print(f"{'tap':<22} {'stream':<22} {'scale':>8} {'records':>9} {'seconds':>8} "
          f"{'records/s':>10} {'requests':>9} {'429s':>6} {'max RSS MiB':>12} {'tap CPU':>8}")
    if options.tap in {"all", "amperity"}:
        for scale in options.scale or [20_000]:
            print_results(bench_amperity(scale, options.page_size))
        for scale in options.lists_scale or [100_000]:
            print_results(bench_amperity_lists(scale, options.page_size))
    if options.tap in {"all", "adnuntius"}:
        for line_items in options.line_items or [5_000]:
            print_results(bench_adnuntius(line_items, options.adnuntius_page_size,
                                          options.adnuntius_budget))
    if options.tap in {"all", "kissmetrics"}:
        for scale in options.kissmetrics_scale or [20_000]:
            print_results(bench_kissmetrics(scale))
    if options.latency_ms and options.tap in {"all", "latency"}:
        bench_latency(options.latency_ms, options.concurrency)
    if options.tap in {"all", "iqm"}:
        for scale in options.iqm_report_scale or [2_000]:
            print_results(bench_iqm_report(scale))
        print("\ntap-iqm at the rate limit (benchmarks/iqm_rate.py; full sync, "
              f"page size {options.iqm_page_size}):")
        if options.iqm_real_rate:
            iqm_rate.measure("20/min (IQM's)", None, 20, scale=max(options.iqm_scale // 5, 1),
                             page_size=options.iqm_page_size)
        iqm_rate.measure("600/min (scaled)", "600/60", 600, scale=options.iqm_scale,
                         page_size=options.iqm_page_size)


if __name__ == "__main__":
    main()
