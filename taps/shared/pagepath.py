"""The page-level record path: a page of records post-processed, conformed and written at once.

The SDK handles each record on its own: a ``RecordMessage``, a conformance walk, a stream
map call, a counter increment and a ``write`` per record (55-60% of a tap's steady CPU).
When nothing can change a record on its way out (the stream is selected with all of its
properties, its only map is the SDK's identity map without flattening, and no selected child
stream needs a context per record), this path does the same work per page:

- records are taken from ``get_records`` as usual and ``post_process``-ed one by one; a
  page ends when the stream parses its next response (or after ``MAX_PAGE_RECORDS``);
- the page is conformed at once (``taps.shared.typed``) and encoded as one block of RECORD
  lines with one ``time_extracted``;
- bookmarks move per record exactly as the SDK moves them, STATE is written every
  ``STATE_MSG_FREQUENCY`` records at the same record, and ``record_count`` rises per page;
- whatever is pending is written before any STATE the stream writes itself (window and
  revision bookmarks), and before an exception leaves the stream, so a STATE never covers a
  record that is not yet on stdout.

The messages are those of the SDK's path, modulo ``time_extracted`` (tested both ways for
every tap; the ``fast_record_path`` setting switches it off).
"""

from __future__ import annotations

import typing as t
from collections import deque
from functools import cached_property

from singer_sdk.contrib.msgspec import encoder
from singer_sdk.helpers._util import utc_now
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.singerlib.catalog import REPLICATION_INCREMENTAL
from singer_sdk.streams.core import Stream

from taps.shared.typed import RecordType, conform_page, record_type

if t.TYPE_CHECKING:
    from collections.abc import Generator

    from singer_sdk.helpers.types import Context

#: A page never holds more records than this (a stream whose responses are huge, or whose
#: ``get_records`` does not go through ``parse_response``).
MAX_PAGE_RECORDS = 1000


class _Pending:
    """Records taken but not yet written, with the context they were read in."""

    __slots__ = ("context", "records")

    def __init__(self, context: Context | None) -> None:
        self.context = context
        self.records: list[dict] = []


class PageRecordPath:
    """Mixin for a ``Stream``: the page-level path where it cannot change the output."""

    #: Bumped by ``parse_response`` for every response: a new value starts a new page.
    _page_serial: int = 0
    _pending: _Pending | None = None
    _written_in_sync: int = 0
    _record_counter: t.Any = None

    def note_new_page(self, response: t.Any = None) -> None:
        """Called for each response parsed: the records that follow belong to a new page.

        How long the server took to answer is kept (the last 32), for ``response_seconds``.
        """
        self._page_serial += 1
        elapsed = getattr(response, "elapsed", None)
        if elapsed is not None:
            self.response_seconds.append(elapsed.total_seconds())

    @cached_property
    def response_seconds(self) -> deque[float]:
        """Seconds the server took to answer each of the last responses."""
        return deque(maxlen=32)

    @cached_property
    def _conformance_type(self) -> RecordType | None:
        return record_type(self.effective_schema, self.TYPE_CONFORMANCE_LEVEL)  # type: ignore[attr-defined]

    def page_path_applies(self) -> bool:
        """True when the page path produces exactly what the SDK's per-record path would."""
        stream: t.Any = self
        if not stream.config.get("fast_record_path", True) or not stream.selected:
            return False
        if not stream._nothing_deselected:
            return False
        maps = stream.stream_maps
        if len(maps) != 1 or type(maps[0]) is not SameRecordTransform:
            return False
        if maps[0].flattening_enabled or maps[0].stream_alias != stream.name:
            return False
        return not any(child.selected or child.has_selected_descendents
                       for child in stream.child_streams)

    def _sync_records(self, context: Context | None = None, *,
                      write_messages: bool = True) -> Generator[dict, t.Any, t.Any]:
        if not (write_messages and self.page_path_applies()):
            yield from super()._sync_records(  # type: ignore[misc]
                context, write_messages=write_messages)
            return
        yield from self._sync_pages(context)

    def _sync_pages(self, context: Context | None) -> Generator[dict, t.Any, t.Any]:
        """The SDK's ``_sync_records`` (0.54), a page at a time."""
        stream: t.Any = self
        record_counter = stream.get_record_counter()
        timer = stream.get_sync_timer()
        self._written_in_sync = 0
        self._record_counter = record_counter
        taken = 0
        context_list = [context] if context is not None else stream.partitions
        with record_counter, timer:
            for context_element in context_list or [{}]:
                record_counter.with_context(context_element)
                timer.with_context(context_element)
                current_context = context_element or None
                partition_context = stream._get_state_partition_context(current_context)
                stream._write_starting_replication_value(current_context)
                serial = self._page_serial
                pending = self._pending = _Pending(current_context)
                # A dry run's limit is set before the sync; without one there is nothing
                # to check per record.
                limited = stream.ABORT_AT_RECORD_COUNT is not None
                try:
                    for raw in stream.get_records(current_context):
                        if self._page_serial != serial or (
                                len(pending.records) >= MAX_PAGE_RECORDS):
                            serial = self._page_serial
                            yield from self._write_pending()
                        if limited:
                            stream._check_max_record_limit(current_record_index=taken)
                        record = stream.post_process(raw, current_context)
                        if record is None:
                            continue
                        taken += 1
                        if partition_context:
                            for key, value in partition_context.items():
                                if key not in record:
                                    record[key] = value
                        pending.records.append(record)
                    yield from self._write_pending()
                finally:
                    # A failure mid-page: what was read goes out, as the SDK would have
                    # written it already (no STATE follows it from here).
                    for _ in self._write_pending():
                        pass
                    self._pending = None
                if current_context == partition_context:
                    stream._finalize_state(stream.get_context_state(current_context))
        if not context:
            stream._finalize_state(stream.stream_state)
        stream._write_state_message()

    def _write_pending(self) -> Generator[dict, t.Any, t.Any]:
        """Write the pending page: conformed, encoded, bookmarked; yields its records."""
        pending = self._pending
        if pending is None or not pending.records:
            return
        records, pending.records = pending.records, []
        stream: t.Any = self
        # The SDK moves bookmarks with the record as post-processed, before conformance.
        encodable = conform_page(records, record_type=self._conformance_type,
                                 stream_name=stream.name, schema=stream.effective_schema,
                                 level=stream.TYPE_CONFORMANCE_LEVEL, logger=stream.logger)
        frequency = stream.STATE_MSG_FREQUENCY
        start = 0
        while start < len(records):
            # Split where the SDK writes a STATE every ``frequency`` records.
            room = frequency - self._written_in_sync % frequency
            end = start + room
            self._write_block(encodable[start:end])
            self._move_bookmarks(records[start:end], pending.context)
            count = len(records[start:end])
            start = end
            self._written_in_sync += count
            self._record_counter.increment(count)
            if self._written_in_sync % frequency == 0:
                self._write_state_message_now()
        yield from records

    def _move_bookmarks(self, records: list[dict], context: Context | None) -> None:
        """``_increment_stream_state`` for each record, as the SDK calls it per record.

        The SDK's own (not overridden) moves nothing unless the stream is INCREMENTAL, and
        then hands each record to the state manager: the same calls, with what does not
        change within a page (the method, the key) looked up once.
        """
        stream: t.Any = self
        own = type(stream)._increment_stream_state is Stream._increment_stream_state
        if own and stream.replication_method != REPLICATION_INCREMENTAL:
            return
        if not own or not stream.replication_key:  # an override, or the SDK's own error
            for record in records:
                stream._increment_stream_state(record, context=context)
            return
        increment, key = stream.state_manager.increment_state, stream.replication_key
        for record in records:
            if record:
                increment(record, context=context, replication_key=key)

    def _write_block(self, records: list[t.Any]) -> None:
        stream: t.Any = self
        extracted = utc_now()
        head = {"type": "RECORD", "stream": stream.name}
        version = stream._stream_version
        tail: dict[str, t.Any] = {} if version is None else {"version": version}
        tail["time_extracted"] = extracted
        messages = [{**head, "record": record, **tail} for record in records]
        stream._tap.message_writer.write_block(encoder.encode_lines(messages))
        stream.state_manager.is_flushed = False

    def _write_state_message(self) -> None:
        """Whatever is pending goes out before a STATE that might cover it."""
        pending = self._pending
        if pending is not None and pending.records:
            for _ in self._write_pending():
                pass
        self._write_state_message_now()

    def _write_state_message_now(self) -> None:
        super()._write_state_message()  # type: ignore[misc]

