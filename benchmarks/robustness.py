"""Robustness figures: records on stdout vs served, corrupt lines after signals, retry cost.

Printed, never asserted (the tests assert the behaviour). ``TAP`` picks the tap command, so
the same script can measure another checkout of the tap:

    .venv/bin/python benchmarks/robustness.py --signal-runs 20
    TAP="env PYTHONPATH=/path/to/old/checkout .venv/bin/python -m taps.amperity" \
        .venv/bin/python benchmarks/robustness.py
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import random
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from emulators.process import EmulatorProcess

BIN = Path(sys.executable).parent
TAP = shlex.split(os.environ.get("TAP", str(BIN / "tap-amperity")))
F_SETPIPE_SZ = 1031


def run_tap(config: dict, *, state: dict | None = None, catalog: dict | None = None) -> tuple[
        int, list[dict], str, float]:
    """Run the tap; return exit code, parsed stdout messages, stderr and seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        args = [*TAP, "--config", _write(tmp, "config.json", config)]
        if state is not None:
            args += ["--state", _write(tmp, "state.json", state)]
        if catalog is not None:
            args += ["--catalog", _write(tmp, "catalog.json", catalog)]
        started = time.perf_counter()
        proc = subprocess.run(args, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
    messages = []
    for line in proc.stdout.splitlines():
        try:
            messages.append(json.loads(line))
        except ValueError:
            messages.append({"type": "CORRUPT"})
    return proc.returncode, messages, proc.stderr, seconds


def _write(tmp: str, name: str, value: dict) -> str:
    path = Path(tmp, name)
    path.write_text(json.dumps(value))
    return str(path)


def records(messages: list[dict], stream: str) -> int:
    """RECORD lines of ``stream``."""
    return sum(1 for m in messages if m["type"] == "RECORD" and m["stream"] == stream)


def counted(stderr: str, stream: str) -> int:
    """The SDK's record_count metric for ``stream``."""
    total = 0
    for line in stderr.splitlines():
        if '"metric":"record_count"' in line and f'"stream":"{stream}"' in line:
            total += json.loads(line.split("METRIC: ", 1)[1])["value"]
    return total


def only(config: dict, stream: str) -> dict:
    """A discovered catalog with just ``stream`` selected."""
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([*TAP, "--config", _write(tmp, "c.json", config), "--discover"],
                             capture_output=True, text=True, check=True).stdout
    catalog = json.loads(out)
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = entry["tap_stream_id"] == stream
    return catalog


def end_of_run_loss() -> None:
    """One full-table stream alone, and a rerun from the final state."""
    with EmulatorProcess("amperity", "--seed", "6", "--scale", "20000",
                         "--rate-limit", "100/1") as emulator:
        config = {**emulator.tap_config, "max_requests_per_minute": 6000}
        _, messages, stderr, _ = run_tap(config, catalog=only(config, "campaigns"))
        print(f"campaigns alone: served {emulator.counts()['campaigns']}, on stdout "
              f"{records(messages, 'campaigns')}, record_count {counted(stderr, 'campaigns')}")
    with EmulatorProcess("amperity", "--seed", "9", "--scale", "2000") as emulator:
        _, first, _, _ = run_tap(emulator.tap_config)
        state = [m for m in first if m["type"] == "STATE"][-1]["value"]
        _, second, stderr, _ = run_tap(emulator.tap_config, state=state)
        print(f"rerun from final state: workflow_runs on stdout {records(second, 'workflow_runs')}"
              f", record_count {counted(stderr, 'workflow_runs')}")


def signal_runs(runs: int) -> None:
    """SIGTERM through a 4 KiB pipe with a slow reader: corrupt lines, last line, exit code."""
    corrupt = not_last = 0
    codes: list[int] = []
    with EmulatorProcess("amperity", "--seed", "21", "--scale", "3000") as emulator, \
            tempfile.TemporaryDirectory() as tmp:
        args = [*TAP, "--config", _write(tmp, "c.json", emulator.tap_config)]
        for run in range(runs):
            proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            fcntl.fcntl(proc.stdout.fileno(), F_SETPIPE_SZ, 4096)
            delay, started, sent, data = random.Random(run).uniform(1, 2.5), time.monotonic(), \
                False, bytearray()
            while chunk := os.read(proc.stdout.fileno(), 4096):
                data += chunk
                time.sleep(0.002)
                if not sent and time.monotonic() - started > delay:
                    proc.send_signal(signal.SIGTERM)
                    sent = True
            codes.append(proc.wait())
            lines = data.decode(errors="replace").splitlines()
            parsed = []
            for line in lines:
                try:
                    parsed.append(json.loads(line))
                except ValueError:
                    corrupt += 1
            if not parsed or parsed[-1].get("type") != "STATE":
                not_last += 1
    print(f"SIGTERM x{runs} through a 4 KiB pipe: {corrupt} corrupt lines, {not_last} runs "
          f"not ending in STATE, exit codes {sorted(set(codes))}")


def fault_overhead(kinds: list[str]) -> None:
    """Seconds a run loses per injected fault, at the default retry settings."""
    args = ("--seed", "5", "--scale", "2000", "--no-short-pages")
    config_extra = {"page_size": 50}
    with EmulatorProcess("amperity", *args) as emulator:
        cfg = {**emulator.tap_config, **config_extra}
        catalog = only(cfg, "campaigns")
        clean = min(run_tap(cfg, catalog=catalog)[3] for _ in range(3))
    for kind in kinds:
        with EmulatorProcess("amperity", *args, "--faults", f"{kind}=0.1") as emulator:
            seconds = run_tap({**emulator.tap_config, **config_extra}, catalog=catalog)[3]
            faults = sum(emulator.stats()["by_fault"].values())
        print(f"{kind}: {faults} faults, {(seconds - clean) / max(faults, 1):.2f} s per fault")


def main() -> None:
    """Run the selected measurements."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--signal-runs", type=int, default=10)
    parser.add_argument("--faults", default="500,503,reset,truncate,429")
    args = parser.parse_args()
    end_of_run_loss()
    signal_runs(args.signal_runs)
    fault_overhead(args.faults.split(","))


if __name__ == "__main__":
    main()
