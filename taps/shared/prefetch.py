"""Fetch the next page while the current one is processed.

The SDK requests page N+1 only after every record of page N has gone out. Here, as soon as
page N has arrived and told the paginator where N+1 is, N+1 is requested on a worker thread
and page N is processed meanwhile: the server's time and ours overlap. One request per
stream is in flight at a time, inside the same budget, retries and auth as ever; a failure
of the prefetched request surfaces where the SDK would have made it. The worker is a daemon
thread, so a signal or an error never waits for a request still under way (its answer is
simply dropped; list requests are reads).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import itertools
import queue
import sys
import threading
import typing as t
from concurrent.futures import Future

from singer_sdk.pagination import SinglePagePaginator

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

    import requests
    from singer_sdk.helpers.types import Context


#: Below this median answer time, reading partitions ahead costs more than it saves
#: (measured: Adnuntius stats from a local server, 3.5 s read in turn against 6.1 s with 4
#: threads; threads also cost memory).
WORTH_READING_AHEAD_SECONDS = 0.02


def max_concurrent_requests(stream: t.Any) -> int:
    """The stream's ``max_concurrent_requests`` setting (4 unless set)."""
    return int(stream.config.get("max_concurrent_requests", 4))


def worth_reading_ahead(stream: t.Any) -> bool | None:
    """Whether the server is slow enough for reading ahead to pay; None before any answer.

    The stream's own recent answers tell (their median); before its first, those of the
    other requests of the same tap (the same server: an index list, another stream) do.
    """
    seconds = sorted(getattr(stream, "response_seconds", ()))
    if not seconds:
        runtime = getattr(stream, "runtime", None)
        seconds = sorted(getattr(runtime, "answer_seconds", ()))
    if not seconds:
        return None
    return seconds[len(seconds) // 2] >= WORTH_READING_AHEAD_SECONDS


#: Blocks of at least this many bytes (answer bodies) are mapped on their own (glibc).
LARGE_BLOCK_BYTES = 256 * 1024
_M_MMAP_THRESHOLD = -3  # mallopt(3)


@functools.cache  # once a process: every stream and context that reads ahead calls it
def settle_allocator() -> None:
    """Large blocks go back to the system when freed, whichever thread allocated them.

    For a sync whose workers read answers ahead. glibc raises its mmap threshold to the
    largest block freed so far (up to 32 MB) and then serves such blocks from the heap of
    the thread that asks, which keeps them once freed: each worker that read one 12 MB day
    kept as much resident (stats at 60,000 line items a day from a 50 ms server: 137 MiB,
    114 with this). A fixed threshold keeps every block of ``LARGE_BLOCK_BYTES`` or more a
    mapping of its own, at the cost of mapping it afresh each time (where the server's
    answer time is the bound, not the tap's CPU). Nothing changes where the C library is
    not glibc.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes  # noqa: PLC0415 - 2 ms, for a sync reading ahead only

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_MMAP_THRESHOLD, LARGE_BLOCK_BYTES)


_prefetch_off: contextvars.ContextVar[bool] = contextvars.ContextVar("prefetch_off",
                                                                      default=False)


@contextlib.contextmanager
def without_prefetch() -> Iterator[None]:
    """No page prefetch in this context meanwhile (it is itself a worker reading ahead)."""
    token = _prefetch_off.set(True)
    try:
        yield
    finally:
        _prefetch_off.reset(token)


class _Slot:
    """A read-ahead worker's call: its place in the order, and the pool that holds it."""

    def __init__(self, pool: InOrderReadAhead, index: int) -> None:
        self.pool, self.index = pool, index


#: Set on a read-ahead worker (``InOrderReadAhead``) for the call it runs.
_slot: contextvars.ContextVar[_Slot | None] = contextvars.ContextVar("read_ahead_slot",
                                                                     default=None)


def wait_for_body_room() -> None:
    """Return once this thread's answer body may be read: at once but on a read-ahead worker.

    Called with an answer's headers in and its body unread (``ResilientStream``'s response
    hook): a request sent ahead of its turn keeps its body in the socket, not in memory,
    until the read-ahead has room for it or its turn has come.
    """
    slot = _slot.get()
    if slot is not None:
        slot.pool.wait_for_room(slot.index)


def room_to_hold() -> bool:
    """Whether this thread's call may hold its whole result ahead of its turn.

    False on a read-ahead worker whose call went on only because its turn came: its result
    is better streamed by the taker (``hand_over``). True elsewhere.
    """
    slot = _slot.get()
    return slot is None or slot.pool.has_room(slot.index)


class Prefetcher:
    """Daemon worker threads taking submitted calls in order from one queue.

    Each call runs in a copy of the submitter's ``contextvars`` context, so what the
    submitter's request hooks read there (e.g. the window being read) holds for it too.
    """

    def __init__(self, name: str, *, threads: int = 1) -> None:
        """Start ``threads`` workers (named after the stream, for thread dumps)."""
        self._calls: queue.SimpleQueue[
            tuple[contextvars.Context, Callable[[], t.Any], Future] | None] = queue.SimpleQueue()
        self.threads = threads
        for number in range(threads):
            threading.Thread(target=self._work, name=f"prefetch-{name}-{number}",
                             daemon=True).start()

    def submit(self, call: Callable[[], t.Any]) -> Future:
        """Run ``call`` on the worker; its result or exception arrives in the future."""
        future: Future = Future()
        self._calls.put((contextvars.copy_context(), call, future))
        return future

    def close(self) -> None:
        """Let the workers end once they are idle."""
        for _ in range(self.threads):
            self._calls.put(None)

    def _work(self) -> None:
        while (item := self._calls.get()) is not None:
            context, call, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(context.run(call))
            except BaseException as exc:  # handed to the waiting thread
                future.set_exception(exc)


class _Immediate:
    """A future-like result for a call made on the spot (no prefetch)."""

    def __init__(self, call: Callable[[], t.Any]) -> None:
        self._call = call

    def result(self) -> t.Any:
        return self._call()


class PrefetchingRequests:
    """Mixin for a ``RESTStream``: ``request_records`` with the next page fetched ahead."""

    def prefetch_enabled(self) -> bool:
        """Whether to fetch ahead: ``max_concurrent_requests`` above 1."""
        if _prefetch_off.get():
            return False
        return max_concurrent_requests(self) > 1

    def request_records(self, context: Context | None) -> Iterable[dict]:
        """The SDK's ``request_records`` (0.54), with the next request sent ahead."""
        stream: t.Any = self
        paginator = stream.get_new_paginator() or SinglePagePaginator()
        decorated_request = stream.request_decorator(stream._request)
        prefetching = self.prefetch_enabled()
        prefetcher: Prefetcher | None = None

        def fetch() -> tuple[requests.PreparedRequest, requests.Response]:
            prepared = stream._prepare_request(context=context, page=paginator)
            return prepared, decorated_request(prepared, context)

        def start() -> t.Any:
            nonlocal prefetcher
            if not prefetching:
                return _Immediate(fetch)
            if prefetcher is None:  # started with the second page: single pages need none
                prefetcher = Prefetcher(stream.name)
            return prefetcher.submit(fetch)

        pages = 0
        nothing = object()
        try:
            with stream.get_http_request_counter() as request_counter:
                request_counter.with_context(context)
                # The first page on this thread: there is nothing yet to overlap it with.
                pending = _Immediate(fetch) if not paginator.finished else None
                while pending is not None:
                    prepared, response = pending.result()
                    pending = None
                    request_counter.increment()
                    stream.update_sync_costs(prepared, response, context)
                    records = iter(stream.parse_response(response))
                    if not isinstance(paginator, SinglePagePaginator):
                        # Parsed whole before the next page is requested: parsing never
                        # runs while a prefetch is under way.
                        records = iter(list(records))
                    # A single page (nothing to fetch ahead) is parsed as its records are
                    # taken, so a large answer's records are never all held at once.
                    first = next(records, nothing)
                    if first is nothing:
                        if paginator.continue_if_empty(response):
                            paginator.advance(response)
                            pending = start() if not paginator.finished else None
                            continue
                        stream.log("Pagination stopped after %d pages because no records "
                                   "were found in the last response", pages)
                        break
                    paginator.advance(response)
                    del response  # what the records still need, the parser holds
                    if not paginator.finished:
                        pending = start()
                    yield first
                    yield from records
                    pages += 1
        finally:
            if prefetcher is not None:
                prefetcher.close()


class InOrderReadAhead:
    """Calls run ahead on daemon workers, their results taken in order.

    Each worker takes the next call as soon as it is free, instead of waiting for the taker
    to reach the oldest result: a late answer holds back nothing but itself, and at most
    ``threads`` calls run at once. At most ``lookahead()`` calls past the results taken may
    hold their whole results (``room_to_hold``), ``bodies_ahead()`` may read their answers'
    bodies (``wait_for_body_room`` holds the others, and any call the taker waits for goes
    on) and ``send_ahead()`` may be claimed, their requests sent (both ``lookahead()``
    unless given). When no worker has claimed the next call and none may,
    the taker runs it itself, in turn (``take`` returns it unrun, for the caller to
    stream); when one may, the taker waits for it, so that never more than ``threads``
    calls run at once. Each call runs in a copy of the creator's ``contextvars`` context.
    After a failure, no further call is started; the exception is raised where its result
    would have been taken.
    """

    def __init__(self, name: str, calls: Sequence[Callable[[], t.Any]], *, threads: int,
                 lookahead: Callable[[], int], send_ahead: Callable[[], int] | None = None,
                 bodies_ahead: Callable[[], int] | None = None) -> None:
        """Start ``threads`` workers over ``calls`` (named after the stream)."""
        self._calls = calls
        self._lookahead = lookahead
        self._send_ahead = send_ahead or lookahead
        self._bodies_ahead = bodies_ahead or lookahead
        self._context = contextvars.copy_context()
        self._results: dict[int, tuple[bool, t.Any]] = {}
        self._claimed = 0  # calls claimed so far, by a worker or by the taker
        self._taken = 0  # results taken (the next one to take)
        self._awaited = -1  # the call whose result the taker waits for
        self._stopped = False
        self._changed = threading.Condition()
        for number in range(threads):
            threading.Thread(target=self._work, name=f"ahead-{name}-{number}",
                             daemon=True).start()

    def _claim(self) -> int | None:
        """The next call's index for a worker, once there is room; None when done."""
        with self._changed:
            while not self._stopped and self._claimed < len(self._calls):
                if self._claimed - self._taken < self._send_ahead():
                    self._claimed += 1
                    return self._claimed - 1
                self._changed.wait()
            return None

    def wait_for_room(self, index: int) -> None:
        """Return once call ``index`` may read its answer's body (or the read-ahead stopped)."""
        with self._changed:
            while (not self._stopped and index != self._awaited
                   and index - self._taken >= self._bodies_ahead()):
                self._changed.wait()

    def has_room(self, index: int) -> bool:
        """Whether call ``index`` may hold its whole result ahead of its turn."""
        with self._changed:
            return index - self._taken < self._lookahead()

    def _work(self) -> None:
        while (index := self._claim()) is not None:
            context = self._context.copy()
            context.run(_slot.set, _Slot(self, index))
            try:
                result = (True, context.run(self._calls[index]))
            except BaseException as exc:  # raised on the taker's thread, in its turn
                result = (False, exc)
            with self._changed:
                self._results[index] = result
                self._stopped = self._stopped or not result[0]
                self._changed.notify_all()

    def more_room(self) -> None:
        """``lookahead()`` may have grown: let waiting workers look again."""
        with self._changed:
            self._changed.notify_all()

    def take(self) -> tuple[bool, t.Any]:
        """The next result as (True, value); (False, call) when it is the taker's to run."""
        with self._changed:
            index = self._taken
            while index >= self._claimed:
                if self._stopped or self._claimed - self._taken >= self._send_ahead():
                    # No worker may claim it: the taker runs it in turn.
                    self._claimed = self._taken = index + 1
                    self._changed.notify_all()
                    return False, self._calls[index]
                self._changed.wait()  # a worker will, once free: never more at once
            self._awaited = index
            self._changed.notify_all()  # its worker may be waiting to read the body
            while index not in self._results:
                self._changed.wait()
            done, value = self._results.pop(index)
            self._taken = index + 1
            self._changed.notify_all()
        if not done:
            raise value
        return True, value

    def close(self) -> None:
        """Let the workers end once they are idle (results not taken are dropped)."""
        with self._changed:
            self._stopped = True
            self._changed.notify_all()


#: How many records a handed-over iterator is advanced by at a time.
HANDOVER_BATCH = 1000


def hand_over(first: t.Any, rest: Iterator[t.Any]) -> Iterator[t.Any]:
    """``first`` and ``rest``, begun on a worker, to be iterated by the taker in its turn.

    ``rest`` goes on in the worker's ``contextvars`` context (what its request hooks read),
    a batch at a time, on whichever thread iterates the result.
    """
    context = contextvars.copy_context()  # the worker's, now
    context.run(_slot.set, None)  # on the taker, in its turn: nothing more waits for room
    return _resumed(context, first, rest)


def _resumed(context: contextvars.Context, first: t.Any,
             rest: Iterator[t.Any]) -> Iterator[t.Any]:
    yield first
    while batch := context.run(_batch, rest):
        yield from batch


def _batch(records: Iterator[t.Any]) -> list[t.Any]:
    return list(itertools.islice(records, HANDOVER_BATCH))
