"""WindowBookmarks: windows read ahead on workers, written with their bookmarks in order."""

from __future__ import annotations

import datetime as dt
import threading
import typing as t
from zoneinfo import ZoneInfo

import pytest

from taps.shared import days, prefetch
from taps.shared.days import DayWindow, WindowBookmarks, day_windows

ZONE = ZoneInfo("UTC")
FIRST = dt.date(2026, 11, 1)


class _Base:
    """What WindowBookmarks needs of a stream, in memory: the output is a list of events."""

    name = "days"
    replication_key = "date"

    def __init__(self, workers: int, *, slow_day: int | None = None,
                 failing_day: int | None = None,
                 answer_seconds: float | dict[int, float] | None = None,
                 body_seconds: float = 0.0) -> None:
        self.config = {"max_concurrent_requests": workers}
        self.state: dict[str, t.Any] = {}
        self.state_manager = self
        self.is_flushed = True
        self.events: list[str] = []
        self.started: list[int] = []
        self.threads: dict[int, str] = {}
        self.release = threading.Event()
        self.slow_day, self.failing_day = slow_day, failing_day
        self.at_once = self.most_at_once = 0
        self._counting = threading.Lock()
        self.answer_seconds = answer_seconds
        self.body_seconds = body_seconds  # reading a body after its headers
        #: (day, records written by then) as each body is read
        self.bodies: list[tuple[int, int]] = []
        #: the threads that produced each day's records, in order
        self.producers: dict[int, list[str]] = {}

    def _seconds(self, day: int) -> float:
        if isinstance(self.answer_seconds, dict):
            return self.answer_seconds.get(day, 0.001)
        return self.answer_seconds or 0.0

    def get_context_state(self, context: t.Any) -> dict:
        return self.state

    def _write_state_message(self) -> None:
        self.events.append(f"STATE {self.state['replication_key_value']}")

    def get_records(self, context: t.Any) -> t.Iterator[dict]:
        window = t.cast("Days", self).current_window
        assert window is not None
        self.started.append(window.day.day)
        self.threads[window.day.day] = threading.current_thread().name
        with self._counting:
            self.at_once += 1
            self.most_at_once = max(self.most_at_once, self.at_once)
        try:
            if window.day.day == self.slow_day:
                assert self.release.wait(10)
            else:  # a request's time: windows overlap
                threading.Event().wait(self._seconds(window.day.day) or 0.01)
            if window.day.day == self.failing_day:
                msg = f"day {window.day.day} failed"
                raise RuntimeError(msg)
            if self.answer_seconds is not None:  # as the page path times each answer
                self.__dict__.setdefault("response_seconds", []).append(
                    self._seconds(window.day.day))
            prefetch.wait_for_body_room()  # as the response hook does: headers in
            threading.Event().wait(self.body_seconds)
            self.bodies.append((window.day.day, sum(" " in e and "STATE" not in e
                                                    for e in self.events)))
        finally:
            with self._counting:
                self.at_once -= 1
        for n in range(3):
            self.producers.setdefault(window.day.day, []).append(
                threading.current_thread().name)
            yield {"date": window.day.isoformat(), "n": n}


class Days(WindowBookmarks, _Base):
    def windows(self, context: t.Any) -> list[DayWindow]:
        return day_windows(FIRST, FIRST + dt.timedelta(days=5), ZONE)


def _sync(stream: Days) -> list[str]:
    for record in stream.get_records(None):
        stream.events.append(f"{record['date']} {record['n']}")
    return stream.events


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_records_and_bookmarks_come_out_in_window_order(workers: int) -> None:
    expected = []
    for day in range(1, 7):
        expected += [f"2026-11-{day:02d} {n}" for n in range(3)]
        expected.append(f"STATE 2026-11-{day + 1:02d}")
    assert _sync(Days(workers)) == expected


def _started(stream: Days, count: int) -> list[int]:
    """The days started, once ``count`` have (or after 5 s)."""
    for _ in range(500):
        if len(stream.started) >= count:
            break
        threading.Event().wait(0.01)
    return sorted(stream.started)


def _settled(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    calls: list[bool] = []
    monkeypatch.setattr(days, "settle_allocator", lambda: calls.append(True))
    return calls


def test_a_late_window_holds_up_no_other() -> None:
    stream = Days(4, slow_day=2)
    records = stream.get_records(None)
    reader = threading.Thread(target=lambda: stream.events.extend(str(r) for r in records))
    reader.start()
    # Day 1 is read in turn (and shows windows are small); day 2 is held back, and the
    # workers go on with days 3 to 6 meanwhile, never more than 4 days at once.
    assert _started(stream, 6) == [1, 2, 3, 4, 5, 6]
    assert stream.most_at_once <= 4
    assert not any("'date': '2026-11-02'" in event for event in stream.events)  # day 1 only
    stream.release.set()
    reader.join(10)
    assert "'date': '2026-11-02'" in stream.events[4]  # after day 1's records and bookmark
    assert stream.events[-1] == "STATE 2026-11-07"


def test_windows_held_ahead_stay_within_the_record_bound(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(days, "MAX_RECORDS_AHEAD", 7)  # two windows of 3 records
    stream = Days(4, slow_day=2)
    records = stream.get_records(None)
    reader = threading.Thread(target=lambda: stream.events.extend(str(r) for r in records))
    reader.start()
    # Day 2 is held back. Days 2 to 5 are on their way (one per worker), but of those only
    # day 3 may be held ahead of it: days 4 and 5 wait with their bodies unread.
    assert _started(stream, 5) == [1, 2, 3, 4, 5]
    threading.Event().wait(0.2)
    assert sorted(stream.started) == [1, 2, 3, 4, 5]
    assert sorted(day for day, _ in stream.bodies) == [1, 3]
    stream.release.set()
    reader.join(10)
    assert sorted(stream.started) == [1, 2, 3, 4, 5, 6]
    assert [e for e in stream.events if e.startswith("STATE")][-1] == "STATE 2026-11-07"


def test_a_failed_window_fails_after_the_windows_before_it() -> None:
    stream = Days(4, failing_day=3)
    with pytest.raises(RuntimeError, match="day 3 failed"):
        _sync(stream)
    assert stream.events[-1] == "STATE 2026-11-03"  # days 1 and 2 written, bookmarked
    assert not any(e.startswith("2026-11-03") for e in stream.events)


def test_windows_too_large_to_hold_are_streamed_in_turn_one_sent_ahead(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(days, "MAX_RECORDS_AHEAD", 2)  # each window has 3 records
    stream = Days(4, slow_day=1)
    records = stream.get_records(None)
    reader = threading.Thread(target=lambda: stream.events.extend(
        f"{r['date']} {r['n']}" for r in records))
    reader.start()
    assert _started(stream, 4) == [1, 2, 3, 4]  # day 1 late: days 2 to 4 went out
    stream.release.set()
    reader.join(10)
    assert stream.events[-1] == "STATE 2026-11-07"
    main = reader.name
    # No day is held whole before one shows its size, and day 1 showed that days are too
    # large to hold ahead: the next day's body was read while a day was written, never
    # more, and each day's records but the first were made by the sync's thread in its
    # turn (handed over), as in turn.
    for day in range(2, 7):
        assert stream.threads[day] != main
        assert stream.producers[day] == [stream.threads[day], main, main]
        assert dict(stream.bodies)[day] >= (day - 2) * 3  # day - 2 written by then
    assert stream.most_at_once <= 4


def test_a_fast_server_is_read_in_turn() -> None:
    stream = Days(4)
    stream.response_seconds = [0.001, 0.002]  # as a local server answers
    events = _sync(stream)
    main = threading.current_thread().name
    # Nothing fetched ahead, not even day 2 during day 1: no second window in memory.
    assert {day: name == main for day, name in stream.threads.items()} == dict.fromkeys(
        range(1, 7), True)
    assert events == _sync(Days(1))


class _Runtime:
    def __init__(self, seconds: list[float]) -> None:
        self.answer_seconds = seconds


def test_a_server_known_slow_gets_the_second_window_before_the_first_answers(
        monkeypatch: pytest.MonkeyPatch) -> None:
    settled = _settled(monkeypatch)
    stream = Days(4, slow_day=1)
    stream.runtime = _Runtime([0.05, 0.06])  # the tap's earlier answers: a slow server
    records = stream.get_records(None)
    reader = threading.Thread(target=lambda: stream.events.extend(str(r) for r in records))
    reader.start()
    # Day 1 has not answered, and day 2 is on its way: what the tap knew decided.
    for _ in range(500):
        if 2 in stream.started:
            break
        threading.Event().wait(0.01)
    assert 2 in stream.started
    assert not stream.events  # day 1 is still held back
    assert settled == [True]
    stream.release.set()
    reader.join(10)
    assert "'date': '2026-11-01'" in stream.events[0]


def test_a_server_known_fast_is_read_in_turn_from_the_first_window() -> None:
    stream = Days(4)
    stream.runtime = _Runtime([0.001, 0.002])
    _sync(stream)
    main = threading.current_thread().name
    assert set(stream.threads.values()) == {main}


def test_a_first_answer_late_sends_the_next_windows_before_it_comes() -> None:
    stream = Days(4, slow_day=1)  # a server not timed yet: no earlier answers
    records = stream.get_records(None)
    reader = threading.Thread(target=lambda: stream.events.extend(str(r) for r in records))
    reader.start()
    # Day 1 has not answered within WORTH_READING_AHEAD_SECONDS: days 2 to 4 are on their
    # way beside it (4 in flight), day 5 is not. Until a day shows its size, one body may
    # wait ahead, undecoded but for its first record: day 2's.
    assert _started(stream, 4) == [1, 2, 3, 4]
    threading.Event().wait(0.2)
    assert sorted(stream.started) == [1, 2, 3, 4]
    assert [day for day, _ in stream.bodies] == [2]
    assert len(stream.producers[2]) == 1
    assert not stream.events
    stream.release.set()
    reader.join(10)
    main = reader.name
    assert stream.producers[2] == [stream.threads[2], main, main]  # handed over
    assert stream.producers[5] == [stream.threads[5]] * 3  # small days: held whole
    assert "'date': '2026-11-01'" in stream.events[0]
    assert stream.events[-1] == "STATE 2026-11-07"
    assert stream.most_at_once <= 4


def test_a_fast_first_answer_reads_every_window_in_turn(
        monkeypatch: pytest.MonkeyPatch) -> None:
    settled = _settled(monkeypatch)
    stream = Days(4, answer_seconds=0.001)  # untimed until day 1 answers, then fast
    events = _sync(stream)
    assert not settled  # no worker reads: the allocator keeps its speed
    main = threading.current_thread().name
    # Nothing went out before day 1 answered (within 20 ms), and its answer said: in turn.
    assert set(stream.threads.values()) == {main}
    assert events == _sync(Days(1))


def test_a_fast_answer_with_a_long_body_reads_every_window_in_turn() -> None:
    # Day 1's headers come at once, its body takes 0.1 s (12 MB from a local server): the
    # answer's speed decides when the timer fires, not the time its first record took.
    stream = Days(4, answer_seconds=0.001, body_seconds=0.1)
    _sync(stream)
    assert set(stream.threads.values()) == {threading.current_thread().name}


def test_a_slow_first_answer_reads_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    settled = _settled(monkeypatch)
    stream = Days(4, answer_seconds=0.05)  # each answer says 50 ms
    events = _sync(stream)
    assert settled == [True]  # workers read answers: their large blocks are given back
    main = threading.current_thread().name
    assert stream.threads[1] == main
    assert {stream.threads[day] == main for day in range(2, 7)} == {False}
    assert events == _sync(Days(1))
