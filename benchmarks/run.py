"""Benchmark: each tap against its emulator, next to a minimal stock singer-sdk tap.

Prints records/s, requests and peak memory (max RSS) per tap and scale, and the ratio of
our tap's records/s to the stock tap's. Figures are printed, never asserted.

    .venv/bin/python benchmarks/run.py --scale 20000 --scale 100000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from emulators.process import EmulatorProcess

ROOT = Path(__file__).resolve().parent.parent

BIN = Path(sys.executable).parent


@dataclass
class Result:
    """One measured run."""

    label: str
    scale: int
    records: int
    seconds: float
    requests: int
    max_rss_mib: float

    @property
    def rate(self) -> float:
        """Records per second."""
        return self.records / self.seconds if self.seconds else 0.0


def select_only(catalog: dict, streams: set[str]) -> dict:
    """Mark only ``streams`` as selected in a discovered catalog."""
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = entry["tap_stream_id"] in streams
    return catalog


def measure(label: str, scale: int, args: list[str], stream: str,
            emulator: EmulatorProcess) -> Result:
    """Run a tap to completion, counting RECORD lines of ``stream`` as they stream by."""
    before = emulator.stats()["requests_total"]
    marker = f'"type":"RECORD","stream":"{stream}"'.encode()
    marker_spaced = f'"type": "RECORD", "stream": "{stream}"'.encode()
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
    if status != 0:
        msg = f"{label} exited with status {status}"
        raise RuntimeError(msg)
    requests = emulator.stats()["requests_total"] - before
    return Result(label, scale, records, seconds, requests, usage.ru_maxrss / 1024)


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
        ours = measure("tap-amperity", scale,
                       [str(BIN / "tap-amperity"), "--config", str(config_path),
                        "--catalog", str(catalog_path)], "profiles", emulator)
        stock = measure("stock singer-sdk tap", scale,
                        [sys.executable, str(ROOT / "benchmarks" / "stock_amperity_profiles.py"),
                         "--config", str(config_path)], "profiles", emulator)
        expected = emulator.counts()["profiles"]
    for result in (ours, stock):
        if result.records != expected:
            print(f"WARNING: {result.label} read {result.records} of {expected} profiles")
    return [ours, stock]


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, action="append",
                        help="profiles per index (3 indexes); repeat to compare memory")
    parser.add_argument("--page-size", type=int, default=1000)
    options = parser.parse_args()
    scales = options.scale or [20_000]
    print(f"{'tap':<22} {'scale':>8} {'records':>9} {'seconds':>8} {'records/s':>10} "
          f"{'requests':>9} {'max RSS MiB':>12}")
    for scale in scales:
        ours, stock = bench_amperity(scale, options.page_size)
        for r in (ours, stock):
            print(f"{r.label:<22} {r.scale:>8} {r.records:>9} {r.seconds:>8.2f} {r.rate:>10.0f} "
                  f"{r.requests:>9} {r.max_rss_mib:>12.1f}")
        print(f"{'ratio (ours/stock)':<22} {scale:>8} {'':>9} {'':>8} "
              f"{ours.rate / stock.rate:>9.2f}x")


if __name__ == "__main__":
    main()
