"""Local days of an IANA time zone as UTC windows, and bookmarks written per window.

A day's window runs from its local midnight to the next one, so a DST day is 23 or 25
hours long. ``WindowBookmarks`` writes the bookmark after every window, records or not, so
an empty day still advances it.
"""

from __future__ import annotations

import abc
import contextvars
import datetime as dt
import functools
import threading
import typing as t
from dataclasses import dataclass
from functools import cached_property
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from taps.shared.prefetch import (
    WORTH_READING_AHEAD_SECONDS,
    InOrderReadAhead,
    hand_over,
    max_concurrent_requests,
    room_to_hold,
    settle_allocator,
    without_prefetch,
    worth_reading_ahead,
)

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from singer_sdk.helpers.types import Context

UTC = dt.timezone.utc
#: Records of windows read ahead that may wait in memory at once, decoded. A day of
#: Adnuntius stats takes about 11 KB a record so (4,290 records: 48 MB); beyond this, a
#: window read ahead waits as its undecoded body (a fifth of that) for its turn.
MAX_RECORDS_AHEAD = 2_000


@dataclass(frozen=True, slots=True)
class DayWindow:
    """One local day and its half-open UTC window ``[start, end)``."""

    day: dt.date
    start: dt.datetime
    end: dt.datetime


def load_zone(name: str, *, setting: str = "report_timezone") -> ZoneInfo:
    """The IANA zone ``name``; an unknown one is a ``ValueError`` naming ``setting``."""
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        msg = (f"setting {setting} is {name!r}: it must be an IANA time zone such as UTC or "
               "Europe/Oslo")
        raise ValueError(msg) from None


def local_midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """The UTC instant the local ``day`` begins (the first existing instant on DST days)."""
    naive = dt.datetime.combine(day, dt.time())
    # fold=0 reads a midnight skipped by DST with the offset before the jump: the instant
    # of the first local time that exists that day.
    return naive.replace(tzinfo=zone).astimezone(UTC)


def day_windows(first: dt.date, last: dt.date, zone: ZoneInfo) -> list[DayWindow]:
    """Windows of the local days ``first`` through ``last`` (inclusive), in order."""
    windows = []
    day = first
    while day <= last:
        following = day + dt.timedelta(days=1)
        windows.append(DayWindow(day, local_midnight(day, zone), local_midnight(following, zone)))
        day = following
    return windows


def _counted(records: Iterable[dict], count: list[int],
             answered: Callable[[], None]) -> Iterator[dict]:
    """``records``, counted into ``count[0]``; ``answered()`` once the first is in (or none)."""
    for record in records:
        if not count[0]:
            answered()
        count[0] += 1
        yield record
    if not count[0]:
        answered()


def check_half_hours(windows: Iterable[DayWindow], zone: ZoneInfo, *,
                     setting: str = "report_timezone") -> None:
    """Raise ``ValueError`` naming ``setting`` when a local midnight is off a UTC half hour."""
    for window in windows:
        if window.start.timestamp() % 1800:
            msg = (f"setting {setting} is {zone.key!r}: its midnight on {window.day} is "
                   f"{window.start:%H:%M} UTC, not on a half hour, and the API aligns report "
                   "windows to half hours; choose a zone with a whole or half-hour offset")
            raise ValueError(msg)


def today_in(zone: ZoneInfo, now: dt.datetime | None = None) -> dt.date:
    """The local date now in ``zone``."""
    return (now or dt.datetime.now(UTC)).astimezone(zone).date()


class WindowBookmarks(abc.ABC):
    """Mixin for a stream read in windows: the bookmark moves after each window.

    The bookmark is the window's ``day`` following it once the window is over (so the next
    run starts after it), or the window's own ``day`` while it is still under way. Records
    never move the bookmark themselves, so an empty window advances it all the same and a
    look-back re-read never moves it back.

    With ``max_concurrent_requests`` above 1, the windows after the one being written are
    fetched on worker threads meanwhile (each window's records whole, at most that many
    windows ahead), inside the request budget. Records and bookmarks still go out window by
    window in order, so a bookmark never covers a window not yet written.
    """

    @property
    def current_window(self) -> DayWindow | None:
        """The window being read in this context (its request hooks read it).

        A context variable: a worker reading another window ahead, and the page prefetch of
        this one, each see their own window.
        """
        return self._window_var.get()

    @current_window.setter
    def current_window(self, window: DayWindow | None) -> None:
        self._window_var.set(window)

    @cached_property
    def _window_var(self) -> contextvars.ContextVar[DayWindow | None]:
        return contextvars.ContextVar(f"window-{id(self)}", default=None)

    @abc.abstractmethod
    def windows(self, context: Context | None) -> list[DayWindow]:
        """The windows this run reads, in order."""

    def window_records(self, window: DayWindow, context: Context | None) -> Iterable[dict]:
        """The records of one window: the stream's own ``get_records`` (next in the MRO).

        Its request hooks read ``current_window``. It may run on a worker thread: what the
        records are post-processed with belongs in ``begin_window``.
        """
        return super().get_records(context)  # type: ignore[misc]

    def begin_window(self, window: DayWindow) -> None:  # noqa: B027 - empty by default
        """Hook, on the sync's thread: ``window``'s records are about to be processed."""

    def bookmark_after(self, window: DayWindow, now: dt.datetime) -> str:
        """The bookmark once ``window`` is read: its next day, or its day if not over."""
        day = window.day + dt.timedelta(days=1) if window.end <= now else window.day
        return day.isoformat()

    def window_bookmark(self, context: Context | None) -> str | None:
        """The bookmark this run started from (None on a first run)."""
        value = self.get_context_state(context).get("replication_key_value")  # type: ignore[attr-defined]
        return str(value) if value else None

    def advance_bookmark(self, value: str, context: Context | None) -> None:
        """Write ``value`` as the bookmark (never backwards) and emit the state."""
        state = self.get_context_state(context)  # type: ignore[attr-defined]
        old = state.get("replication_key_value")
        if old is None or str(value) >= str(old):
            state["replication_key"] = self.replication_key  # type: ignore[attr-defined]
            state["replication_key_value"] = value
            self.state_manager.is_flushed = False  # type: ignore[attr-defined]
        self._write_state_message()  # type: ignore[attr-defined]

    def get_records(self, context: Context | None) -> Iterator[dict]:
        """Every window's records, each window followed by its bookmark."""
        windows = self.windows(context)
        workers = max_concurrent_requests(self)
        read = (self._windows_ahead(windows, context, workers) if workers > 1 and
                len(windows) > 2 else self._windows_in_turn(windows, context))
        for window, records in read:
            self.begin_window(window)
            yield from records
            del records  # not held while the next window is awaited
            self.advance_bookmark(self.bookmark_after(window, dt.datetime.now(UTC)), context)

    def _windows_in_turn(self, windows: list[DayWindow],
                         context: Context | None) -> Iterator[tuple[DayWindow, Iterable[dict]]]:
        for window in windows:
            yield window, self._streamed(window, context)

    def _streamed(self, window: DayWindow, context: Context | None) -> Iterator[dict]:
        self.current_window = window
        try:
            yield from self.window_records(window, context)
        finally:
            self.current_window = None

    def _fetched(self, window: DayWindow, context: Context | None,
                 largest: list[int]) -> Iterable[dict]:
        """One window's records, read on a worker thread (no page prefetch there).

        Read whole where the read-ahead has room for them; where the window went on only
        because its turn came, its records are handed over to be streamed by the taker
        (``prefetch.hand_over``), as a window read in turn would be. ``largest[0]`` becomes
        the most records a window held whole had, before that window is returned, so that
        the read-ahead's bound never lags behind a large window.
        """
        with without_prefetch():
            records = self._streamed(window, context)
            first = next(records, None)  # the request is answered, its body read
            if first is None:
                return []
            if not room_to_hold():
                return hand_over(first, records)
            whole = [first, *records]
        largest[0] = max(largest[0], len(whole))
        return whole

    def _windows_ahead(self, windows: list[DayWindow], context: Context | None,
                       workers: int) -> Iterator[tuple[DayWindow, Iterable[dict]]]:
        """Windows fetched ahead on ``workers`` threads, where that pays and memory allows.

        The first window is read in turn, and the first answer decides (this tap's earlier
        answers, when there were any, decide before it): from a server that answers in
        less than ``prefetch.WORTH_READING_AHEAD_SECONDS`` (local or very fast, where the
        tap's own work is the bound and threads only add contention and memory) every
        window is read in turn. From a slower one, or once that long has passed without an
        answer, the next ``workers - 1`` windows' requests go out, and from then on each
        worker takes the next window as soon as it is free (a late answer holds up no
        other). What is held in memory is bounded apart: once a window has shown its size,
        windows are held whole, their records decoded, up to ``MAX_RECORDS_AHEAD`` records;
        beyond that (and before any size is known) only the next window's body is read
        ahead and its records are decoded in its turn, by the sync's thread
        (``prefetch.hand_over``); the other answers wait in their sockets, bodies unread
        (``prefetch.wait_for_body_room``).
        """
        known = worth_reading_ahead(self)
        if known is False:
            yield from self._windows_in_turn(windows, context)
            return
        # Whether the server is slow enough to read ahead: None until an answer decides.
        slow: list[bool | None] = [known]
        if known:
            settle_allocator()  # workers are about to read answers
        # The most records a window had (workers raise it); -1 until one is known.
        largest = [-1]
        reading_first = [True]

        deciding = threading.Lock()

        def decide() -> None:
            with deciding:  # once, by the first record or the timer, whichever comes first
                if slow[0] is None:  # no answer's headers yet, or a slow one: slow
                    slow[0] = worth_reading_ahead(self) is not False
                    if slow[0]:
                        settle_allocator()  # workers are about to read answers
            pool.more_room()

        def lookahead() -> int:
            if not slow[0] or largest[0] < 0:
                return 0  # none held whole until a window shows its size
            return min(2 * workers, MAX_RECORDS_AHEAD // max(largest[0], 1))

        def send_ahead() -> int:
            if not slow[0]:
                return 0
            # As many as may be in flight beside the first window while it is read in
            # turn; then as many as there are workers (or windows that may be held). Where
            # there is no room to hold a window, its body waits in the socket for its turn.
            return workers - 1 if reading_first[0] else max(lookahead(), workers)

        def bodies_ahead() -> int:
            # The next window's body may wait in memory undecoded, even with no room to
            # hold its records: it is handed over, its records decoded in its turn.
            return max(lookahead(), 1) if slow[0] else 0

        calls = [functools.partial(self._fetched, window, context, largest)
                 for window in windows[1:]]
        pool = InOrderReadAhead(f"{self.name}-windows", calls,  # type: ignore[attr-defined]
                                threads=min(workers, len(calls)), lookahead=lookahead,
                                send_ahead=send_ahead, bodies_ahead=bodies_ahead)
        # The first record decides; if it has not come by then, the first answer's headers
        # do, or their absence (a slow server).
        timer = threading.Timer(WORTH_READING_AHEAD_SECONDS, decide)
        timer.daemon = True
        if slow[0] is None:
            timer.start()
        try:
            first = [0]
            yield windows[0], _counted(self._streamed(windows[0], context), first, decide)
            largest[0] = max(largest[0], first[0])
            reading_first[0] = False
            pool.more_room()
            for window in windows[1:]:
                fetched, records = pool.take()
                yield window, (records if fetched else self._streamed(window, context))
                del records  # not held while the next window is awaited
        finally:
            timer.cancel()
            pool.close()

    def _increment_stream_state(self, latest_record: dict, *,
                                context: Context | None = None) -> None:
        """Replaces the SDK's: records do not move the bookmark, windows do."""
        return
