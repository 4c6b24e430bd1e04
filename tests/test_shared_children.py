"""Child contexts read ahead (taps/shared/children.py): concurrent, yet a sequential sync's output."""

from __future__ import annotations

import signal
import threading
import time
import typing as t

import pytest
from tap_runner import after_records, assert_complete, catalog_selecting, kill_and_resume, run_tap
from test_shared_record_path import first_difference, messages

from emulators.process import EmulatorProcess
from taps.shared import children
from taps.shared.children import ReadsContextsAhead

PROFILE_KEYS = {"profiles": ("index_id", "id"), "profile_indexes": ("id",)}


def test_profile_indexes_are_read_at_once_and_written_in_turn() -> None:
    """Three indexes of six pages each, 40 ms a request: all three are in flight at once."""
    with EmulatorProcess("amperity", "--seed", "5", "--scale", "300",
                         "--latency-ms", "40") as emulator:
        config = {**emulator.tap_config, "profile_page_size": 50}
        catalog = catalog_selecting("tap-amperity", config, PROFILE_KEYS)
        before = emulator.stats()["max_requests_in_flight"]
        concurrent = run_tap("tap-amperity", {**config, "max_concurrent_requests": 4},
                             catalog=catalog)
        in_flight = emulator.stats()["max_requests_in_flight"]
        assert before <= 1
        assert in_flight >= 3, in_flight  # index 1 (and its next page), indexes 2 and 3
        in_turn = run_tap("tap-amperity", {**config, "max_concurrent_requests": 1},
                          catalog=catalog)
        counts = emulator.counts()
    assert_complete(concurrent, counts, PROFILE_KEYS)
    assert_complete(in_turn, counts, PROFILE_KEYS)
    ahead, sequential = messages(concurrent.stdout), messages(in_turn.stdout)
    assert ahead == sequential, first_difference(ahead, sequential)
    # Written index after index, as a sequential sync writes them.
    order = [record["index_id"] for record in concurrent.records["profiles"]]
    assert order == sorted(order, key=order.index)
    assert len(set(order)) == 3


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_a_kill_while_indexes_are_read_side_by_side_loses_nothing(sig: int) -> None:
    """Killed during index 1 while indexes 2 and 3 sit in queues: the rerun has them all."""
    with EmulatorProcess("amperity", "--seed", "6", "--scale", "200",
                         "--latency-ms", "30") as emulator:
        config = {**emulator.tap_config, "profile_page_size": 20}
        first, _ = kill_and_resume("tap-amperity", config, sig, after_records(50, "profiles"),
                                   emulator.counts(), PROFILE_KEYS)
        assert emulator.stats()["max_requests_in_flight"] >= 3
    # What the killed run wrote is whole lines of the indexes in turn.
    order = [record["index_id"] for record in first.records["profiles"]]
    assert order == sorted(order, key=order.index)


class _Pages:
    """A stand-in for the RESTStream below ReadsContextsAhead: records per context."""

    name = "fake"

    def __init__(self, pages: dict[str, list[int]], fail_at: str | None = None) -> None:
        self.config = {"max_concurrent_requests": 3}
        self.pages, self.fail_at = pages, fail_at
        self.started: list[str] = []
        self.lock = threading.Lock()

    def request_records(self, context: dict | None) -> t.Iterator[dict]:
        name = (context or {}).get("id", "none")
        with self.lock:
            self.started.append(name)
        for number in self.pages.get(name, []):
            yield {"id": name, "n": number}
        if name == self.fail_at:
            msg = f"{name} failed after its records"
            raise RuntimeError(msg)


class _Child(ReadsContextsAhead, _Pages):
    pass


def _wait_started(child: _Child, names: set[str]) -> None:
    deadline = time.monotonic() + 10
    while not names <= set(child.started):
        assert time.monotonic() < deadline, child.started
        time.sleep(0.01)


def test_announced_contexts_start_ahead_and_come_out_in_order() -> None:
    child = _Child({"a": [1, 2], "b": [3], "c": [4, 5, 6], "d": [7]})
    child.announce_contexts([{"id": name} for name in "abcd"])
    first = list(child.request_records({"id": "a"}))
    # Two workers at most besides the context being read (max_concurrent_requests 3).
    _wait_started(child, {"a", "b", "c"})
    assert "d" not in child.started
    assert [r["n"] for r in first] == [1, 2]
    assert [r["n"] for r in child.request_records({"id": "b"})] == [3]
    assert [r["n"] for r in child.request_records({"id": "c"})] == [4, 5, 6]
    assert [r["n"] for r in child.request_records({"id": "d"})] == [7]
    assert sorted(child.started) == ["a", "b", "c", "d"]  # each context requested once


def test_a_workers_error_comes_after_its_records() -> None:
    child = _Child({"a": [1], "b": [2, 3]}, fail_at="b")
    child.announce_contexts([{"id": "a"}, {"id": "b"}])
    assert [r["n"] for r in child.request_records({"id": "a"})] == [1]
    seen = []
    with pytest.raises(RuntimeError, match="b failed after its records"):
        seen.extend(r["n"] for r in child.request_records({"id": "b"}))
    assert seen == [2, 3]


def test_skipped_contexts_stop_and_unannounced_ones_read_in_turn(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(children, "CHUNK_RECORDS", 1)
    monkeypatch.setattr(children, "MAX_RECORDS_QUEUED", 1)
    child = _Child({"a": [1], "b": list(range(100)), "c": [9], "z": [0]})
    child.announce_contexts([{"id": "a"}, {"id": "b"}, {"id": "c"}])
    list(child.request_records({"id": "a"}))
    _wait_started(child, {"b", "c"})
    feed_b = child._feeds[children._key({"id": "b"})]
    # b is skipped (a parent's filter dropped it): its worker, blocked on a full queue, ends.
    assert [r["n"] for r in child.request_records({"id": "c"})] == [9]
    feed_b.finished.result(timeout=5)
    assert feed_b.finished.done()
    assert [r["n"] for r in child.request_records({"id": "z"})] == [0]
    assert child.started.count("z") == 1


def test_one_request_at_a_time_reads_nothing_ahead() -> None:
    child = _Child({"a": [1], "b": [2]})
    child.config["max_concurrent_requests"] = 1
    child.announce_contexts([{"id": "a"}, {"id": "b"}])
    assert [r["n"] for r in child.request_records({"id": "a"})] == [1]
    assert child.started == ["a"]


def test_a_fast_server_is_read_one_context_at_a_time() -> None:
    child = _Child({"a": [1], "b": [2], "c": [3]})
    child.response_seconds = [0.001, 0.002]  # as a local server answers
    child.announce_contexts([{"id": name} for name in "abc"])
    assert [r["n"] for r in child.request_records({"id": "a"})] == [1]
    assert child.started == ["a"]  # nothing read ahead
    assert [r["n"] for name in "bc" for r in child.request_records({"id": name})] == [2, 3]
    assert child.started == ["a", "b", "c"]


class _Runtime:
    def __init__(self, seconds: list[float]) -> None:
        self.answer_seconds = seconds


class _HeldPages(_Pages):
    """Context ``a`` answers only once ``release`` is set."""

    release = threading.Event()

    def request_records(self, context: dict | None) -> t.Iterator[dict]:
        if (context or {}).get("id") == "a":
            with self.lock:
                self.started.append("a")
            assert self.release.wait(10)
            yield {"id": "a", "n": 1}
            return
        yield from super().request_records(context)


class _HeldChild(ReadsContextsAhead, _HeldPages):
    pass


def test_a_server_known_slow_is_read_ahead_before_the_first_contexts_answer() -> None:
    child = _HeldChild({"b": [2], "c": [3]})
    child.runtime = _Runtime([0.05, 0.06])  # the parent's answers came from a slow server
    child.announce_contexts([{"id": name} for name in "abc"])
    first: list[dict] = []
    reader = threading.Thread(target=lambda: first.extend(child.request_records({"id": "a"})))
    reader.start()
    # a has not answered, and b and c are under way already: what the parent's answers
    # showed decides, not a's first.
    _wait_started(child, {"a", "b", "c"})
    child.release.set()
    reader.join(10)
    assert [r["n"] for r in first] == [1]
    assert [r["n"] for name in "bc" for r in child.request_records({"id": name})] == [2, 3]
    assert sorted(child.started) == ["a", "b", "c"]


def test_a_server_known_fast_is_read_in_turn_from_the_first_context() -> None:
    child = _Child({"a": [1], "b": [2]})
    child.runtime = _Runtime([0.001, 0.002])
    child.announce_contexts([{"id": "a"}, {"id": "b"}])
    assert [r["n"] for r in child.request_records({"id": "a"})] == [1]
    assert child.started == ["a"]
    assert child.__dict__.get("_feeds", {}) == {}  # no worker was started for b
