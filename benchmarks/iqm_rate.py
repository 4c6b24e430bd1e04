"""tap-iqm inside IQM's rate limit: requests, 429s and wall time against the floor.

The floor is requests ÷ rate: the time a client that sends exactly at the limit needs; the
sync's time runs from the emulator's first arrival to the tap's exit (one clock: the
system's monotonic one), so start-up, which sends nothing, is not in it. (Timing start-up
with a run of its own against the same emulator put that run's requests into the sync's
first window: one 429 at 20/min.) A full
sync runs against the emulator at its default 20 requests/minute (a small scale, with a page
size that makes it need more than one minute of requests) and at a scaled limit. Figures are
printed, never asserted (the tests assert zero 429s and the per-window maximum).

    .venv/bin/python benchmarks/iqm_rate.py                  # 20/min (~2 min) and scaled
    .venv/bin/python benchmarks/iqm_rate.py --skip-default   # scaled only
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from emulators.process import EmulatorProcess

TAP = str(Path(sys.executable).parent / "tap-iqm")


def measure(label: str, rate: str | None, per_minute: int, *, scale: int,
            page_size: int) -> None:
    """One full sync; print its figures."""
    args = ["--seed", "3", "--scale", str(scale)] + (["--rate-limit", rate] if rate else [])
    with EmulatorProcess("iqm", *args) as emulator, tempfile.TemporaryDirectory() as tmp:
        config = {**emulator.tap_config, "page_size": page_size,
                  "max_requests_per_minute": per_minute}
        path = Path(tmp) / "config.json"
        path.write_text(json.dumps(config))
        started = time.monotonic()
        proc = subprocess.run([TAP, "--config", str(path)], capture_output=True, text=True,
                              check=False)
        ended = time.monotonic()
        stats = emulator.stats()
    records = sum(1 for line in proc.stdout.splitlines() if line.startswith('{"type":"RECORD"'))
    requests = stats["requests_total"]
    floor = requests / per_minute * 60
    sync = ended - stats["first_arrival_monotonic"]
    print(f"{label:>18}: exit {proc.returncode}, {records} records, {requests} requests, "
          f"{stats['by_status'].get('429', 0)} x 429, max {stats['max_requests_in_rate_window']}"
          f" per window, wall {ended - started:.1f} s, sync {sync:.1f} s (first request to "
          f"exit), floor {floor:.1f} s, sync/floor {sync / floor:.3f}")


def main() -> None:
    """Run the measurements the options ask for."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-default", action="store_true", help="skip the 20/min run")
    parser.add_argument("--scale", type=int, default=20, help="campaigns in the emulator")
    parser.add_argument("--page-size", type=int, default=10)
    options = parser.parse_args()
    if not options.skip_default:
        measure("20/min (default)", None, 20, scale=options.scale, page_size=options.page_size)
    measure("600/min (scaled)", "600/60", 600, scale=options.scale * 5,
            page_size=options.page_size)


if __name__ == "__main__":
    main()
