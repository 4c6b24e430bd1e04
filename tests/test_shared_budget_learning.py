"""A real tap learning a server's limit that is stricter than its budget (header-less 429s)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tap_runner import TapRun, run_tap

from emulators.process import EmulatorProcess

#: Amperity's 429s carry no Retry-After; its emulator limited to 10/s, the tap's budget 20/s.
SERVER = ("--seed", "11", "--scale", "300", "--rate-limit", "10/1")
CONFIG = {"page_size": 10, "max_requests_per_minute": 1200}


def sync(*, learning: bool) -> tuple[TapRun, dict[str, int], dict]:
    """A full sync against a fresh emulator: the run, the emulator's counts and stats."""
    with EmulatorProcess("amperity", *SERVER) as emulator:
        run = run_tap("tap-amperity", {**emulator.tap_config, **CONFIG},
                      env={"TAPS_RATE_BUDGET_LEARNING": "on" if learning else "off"},
                      timeout=120)
        return run, emulator.counts(), emulator.stats()


def test_a_learning_budget_meets_few_429s_where_a_fixed_one_meets_many() -> None:
    with ThreadPoolExecutor(2) as pool:  # two emulators, two taps: mostly waiting
        fixed_future = pool.submit(sync, learning=False)
        learning_future = pool.submit(sync, learning=True)
        (fixed, counts, fixed_stats) = fixed_future.result()
        (learned, _, learned_stats) = learning_future.result()

    for run in (fixed, learned):
        assert run.returncode == 0, run.stderr[-3000:]
        assert run.records, "no records"
        for stream, records in run.records.items():
            assert len(records) == counts[stream], stream
    fixed_429s = fixed_stats["by_status"].get("429", 0)
    learned_429s = learned_stats["by_status"].get("429", 0)
    assert fixed_429s >= 10, fixed_stats
    assert learned_429s <= 5, learned_stats
    # Both runs asked for the same pages: the learning one wasted fewer requests on 429s.
    assert (learned_stats["requests_total"] - learned_429s
            == fixed_stats["requests_total"] - fixed_429s)
    assert ("budget api lowered to 600/min after a 429 without Retry-After"
            in learned.stderr)
    assert "budget api lowered" not in fixed.stderr
