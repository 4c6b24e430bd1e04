"""The rate budget learning the server's limit: 429s, requests and wall time, fixed vs learning.

tap-amperity runs a full sync against its emulator limited to ``--server-rate`` requests per
second on the Amperity API (``--rate-limit N/1``; Amperity documents no ``Retry-After``, so
every 429 of this emulator is header-less), once with the budget fixed as it was before
(``TAPS_RATE_BUDGET_LEARNING=off``) and once learning, at the default budget of 600/minute,
then learning at a correct budget (``server rate x 60``). ``--retry-after`` adds the same
comparison against tap-adnuntius, whose emulator's 429s carry ``Retry-After``. Figures are
printed, never asserted (tests/test_shared_budget_learning.py asserts the 429 counts).

    .venv/bin/python benchmarks/budget_learning.py                 # ~2.5 min
    .venv/bin/python benchmarks/budget_learning.py --retry-after   # ~3.5 min
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from tap_runner import run_tap

from emulators.process import EmulatorProcess

LOWERED = re.compile(r"budget api lowered to (\d+)/min")


@dataclass
class Outcome:
    """What one sync cost."""

    returncode: int
    records: int
    requests: int
    rate_limited: int
    most_in_window: int
    wall: float
    cuts: list[int]

    @property
    def accepted_per_second(self) -> float:
        """Accepted requests per second of wall time (tap start-up included)."""
        return (self.requests - self.rate_limited) / self.wall


def sync(vendor: str, emulator_args: list[str], config: dict, *, learning: bool) -> Outcome:
    """One full sync of ``vendor``'s tap against a fresh emulator."""
    with EmulatorProcess(vendor, *emulator_args) as emulator:
        started = time.monotonic()
        run = run_tap(f"tap-{vendor}", {**emulator.tap_config, **config},
                      env={"TAPS_RATE_BUDGET_LEARNING": "on" if learning else "off"})
        wall = time.monotonic() - started
        stats = emulator.stats()
    return Outcome(
        returncode=run.returncode,
        records=sum(len(records) for records in run.records.values()),
        requests=stats["requests_total"],
        rate_limited=stats["by_status"].get("429", 0),
        most_in_window=stats["max_requests_in_rate_window"],
        wall=wall,
        cuts=[int(n) for n in LOWERED.findall(run.stderr)],
    )


def report(label: str, outcomes: list[Outcome], server_per_second: float) -> None:
    """One line per case: ranges over the repeats."""

    def span(values: list[float], form: str) -> str:
        low, high = min(values), max(values)
        return format(low, form) if low == high else f"{low:{form}}-{high:{form}}"

    failed = [o.returncode for o in outcomes if o.returncode != 0]
    rates = [o.accepted_per_second for o in outcomes]
    print(f"{label:<44} {span([o.records for o in outcomes], 'd'):>9} "
          f"{span([o.requests for o in outcomes], 'd'):>9} "
          f"{span([o.rate_limited for o in outcomes], 'd'):>7} "
          f"{span([o.wall for o in outcomes], '.1f'):>11} "
          f"{span(rates, '.2f'):>11} {span([r / server_per_second for r in rates], '.2f'):>9}"
          f"  cuts to {sorted({c for o in outcomes for c in o.cuts}) or '-'}"
          + (f"  EXIT {failed}" if failed else ""))


def main() -> None:
    """Run the cases the options ask for."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server-rate", type=int, default=5, help="server limit, requests/s")
    parser.add_argument("--budget", type=int, default=600, help="the tap's budget, per minute")
    parser.add_argument("--scale", type=int, default=300, help="records per list resource")
    parser.add_argument("--page-size", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=1, help="syncs per case")
    parser.add_argument("--retry-after", action="store_true",
                        help="also tap-adnuntius, whose 429s carry Retry-After")
    parser.add_argument("--retry-after-scale", type=int, default=150,
                        help="line items (and so on) of the tap-adnuntius case")
    options = parser.parse_args()
    rate = options.server_rate
    correct = rate * 60
    server = ["--seed", "11", "--scale", str(options.scale), "--rate-limit", f"{rate}/1"]
    print(f"server: {rate} requests/s; scale {options.scale}, page size {options.page_size}; "
          f"{options.repeat} sync(s) per case")
    print(f"{'case':<44} {'records':>9} {'requests':>9} {'429s':>7} {'wall s':>11} "
          f"{'accepted/s':>11} {'÷ server':>9}")
    cases = [
        (f"amperity, no Retry-After, {options.budget}/min, fixed", options.budget, False),
        (f"amperity, no Retry-After, {options.budget}/min, learning", options.budget, True),
        (f"amperity, no Retry-After, {correct}/min, fixed", correct, False),
        (f"amperity, no Retry-After, {correct}/min, learning", correct, True),
    ]
    for label, budget, learning in cases:
        config = {"page_size": options.page_size, "max_requests_per_minute": budget}
        report(label, [sync("amperity", server, config, learning=learning)
                       for _ in range(options.repeat)], rate)
    if options.retry_after:
        stats_free = {"page_size": options.page_size, "max_requests_per_minute": options.budget,
                      "stats_lookback_days": 1}
        adnuntius_server = [*server[:2], "--scale", str(options.retry_after_scale),
                            *server[4:]]
        for learning in (False, True):
            label = (f"adnuntius, Retry-After, {options.budget}/min, "
                     f"{'learning' if learning else 'fixed'}")
            report(label, [sync("adnuntius", adnuntius_server, stats_free, learning=learning)
                           for _ in range(options.repeat)], rate)


if __name__ == "__main__":
    main()
