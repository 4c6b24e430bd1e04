"""Child contexts read concurrently: the partitions a parent announces, fetched ahead.

The SDK syncs a parent's children one context after the other: index 2's first page is
requested only after index 1's last record went out. Here a parent that knows its child
contexts up front (``AnnouncesChildContexts``, for small parents read whole, e.g. Amperity's
profile indexes) tells its children; a child (``ReadsContextsAhead``) then reads the next
contexts on worker threads meanwhile, up to ``max_concurrent_requests`` at once, each
worker paginating its own context (cursors stay on the worker) into a bounded queue. As
with windows, the server's answers decide (the tap's earlier ones, such as the parent's,
else the first context's first): from a server faster than
``WORTH_READING_AHEAD_SECONDS`` contexts are read one at a time (threads would only add
contention and memory).

Records still reach the SDK's sync in the sequential order (one context after the other,
post-processed, bookmarked and counted on the sync's thread), so the messages and STATE
are those of a sequential sync; a worker's error surfaces where the sequential sync would
have met it. At most ``MAX_RECORDS_QUEUED`` records wait per context read ahead.
"""

from __future__ import annotations

import abc
import functools
import queue
import threading
import typing as t
from collections import deque

from taps.shared.prefetch import (
    Prefetcher,
    max_concurrent_requests,
    without_prefetch,
    worth_reading_ahead,
)

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from singer_sdk.helpers.types import Context

#: Records a context read ahead may hold before its worker waits for the sync to catch up.
MAX_RECORDS_QUEUED = 10_000
#: Records handed over at once (a queue item).
CHUNK_RECORDS = 1_000
_DONE = object()


def _key(context: Context | None) -> tuple:
    return tuple(sorted((context or {}).items()))


class _Feed:
    """One context's records, paginated on a daemon thread into a bounded queue."""

    def __init__(self, name: str, records: Iterable[dict]) -> None:
        self._items: queue.Queue[t.Any] = queue.Queue(
            maxsize=max(1, MAX_RECORDS_QUEUED // CHUNK_RECORDS))
        self._stopped = threading.Event()
        # A daemon thread in a copy of the sync's contextvars, as the page prefetch uses.
        worker = Prefetcher(f"context-{name}")
        #: Done once the worker has ended (all put, or stopped).
        self.finished = worker.submit(functools.partial(self._run, records))
        worker.close()

    def _put(self, item: t.Any) -> bool:
        while not self._stopped.is_set():
            try:
                self._items.put(item, timeout=0.2)
            except queue.Full:
                continue
            return True
        return False

    def _run(self, records: Iterable[dict]) -> None:
        chunk: list[dict] = []
        outcome: t.Any = _DONE
        try:
            with without_prefetch():  # the queue already decouples fetching from the sync
                for record in records:
                    chunk.append(record)
                    if len(chunk) >= CHUNK_RECORDS:
                        if not self._put(chunk):
                            return
                        chunk = []
        except BaseException as exc:  # raised on the sync's thread, after what came before
            outcome = exc
        if not chunk or self._put(chunk):
            self._put(outcome)

    def records(self) -> Iterator[dict]:
        """The context's records in order; the worker's exception, if it met one."""
        try:
            while (item := self._items.get()) is not _DONE:
                if isinstance(item, BaseException):
                    raise item
                yield from item
        finally:
            self.stop()

    def stop(self) -> None:
        """Let the worker end (its records are no longer wanted)."""
        self._stopped.set()


class ReadsContextsAhead:
    """Mixin for a child ``RESTStream``: announced contexts are fetched ahead of their turn."""

    def announce_contexts(self, contexts: Iterable[Context]) -> None:
        """The contexts the parent will sync this stream with, in order."""
        self._abandon_feeds()
        self._announced: deque[Context] = deque(contexts)

    def request_records(self, context: Context | None) -> Iterable[dict]:
        """The context's records, from its worker when it was read ahead."""
        feeds: dict[tuple, _Feed] = self.__dict__.setdefault("_feeds", {})
        announced: deque[Context] = self.__dict__.setdefault("_announced", deque())
        key = _key(context)
        if key in map(_key, announced):
            # Contexts announced before this one were skipped: their workers may stop.
            while (earlier := _key(announced.popleft())) != key:
                if (skipped := feeds.pop(earlier, None)) is not None:
                    skipped.stop()
        feed = feeds.pop(key, None)
        if feed is not None:
            self._start_feeds(announced, feeds)
            yield from feed.records()
            return
        # What is known of the server decides (the tap's earlier answers, else this
        # context's first): a fast server is read one context at a time.
        known = worth_reading_ahead(self)
        decided = known is not None
        if known:
            self._start_feeds(announced, feeds)
        for record in super().request_records(context):  # type: ignore[misc]
            if not decided:
                decided = True
                if worth_reading_ahead(self) is not False:  # an answer not timed: as slow
                    self._start_feeds(announced, feeds)
            yield record

    def _start_feeds(self, announced: deque[Context], feeds: dict[tuple, _Feed]) -> None:
        """Workers for the next announced contexts, the current one counting as one."""
        room = max_concurrent_requests(self) - 1
        for upcoming in list(announced)[:max(room, 0)]:
            key = _key(upcoming)
            if key not in feeds:
                records = super().request_records(upcoming)  # type: ignore[misc]
                feeds[key] = _Feed(self.name, records)  # type: ignore[attr-defined]

    def _abandon_feeds(self) -> None:
        for feed in self.__dict__.pop("_feeds", {}).values():
            feed.stop()


class AnnouncesChildContexts(abc.ABC):
    """Mixin for a small parent stream read whole: its children learn their contexts first."""

    @abc.abstractmethod
    def upcoming_child_contexts(self, records: list[dict],
                                context: Context | None) -> list[Context]:
        """The child contexts ``records`` will produce, in order (no side effects)."""

    def get_records(self, context: Context | None) -> Iterable[dict]:
        """The stream's records; before the first, the children hear of their contexts."""
        readers = [child for child in self.child_streams  # type: ignore[attr-defined]
                   if child.selected and isinstance(child, ReadsContextsAhead)]
        if not readers or max_concurrent_requests(self) <= 1:
            yield from super().get_records(context)  # type: ignore[misc]
            return
        records = list(super().get_records(context))  # type: ignore[misc]
        contexts = self.upcoming_child_contexts(records, context)
        for reader in readers:
            reader.announce_contexts(contexts)
        yield from records
