"""Singer output on stdout: written in blocks, always whole lines, safe against signals.

The SDK's writers flush after every message (a system call per record). Here RECORD lines
are collected into blocks of ``block_bytes`` and written with ``os.write`` in a loop that
knows how much of the block has gone out. Three guarantees follow:

- every RECORD before a STATE is written before that STATE, and whatever is pending is
  written when the sync ends (``flush`` is called on every exit path by the tap);
- a signal that arrives while a block is being written is only noted: the block is finished
  first, then the final STATE is written and the process exits ``128 + signum``;
- once the final STATE is out, nothing else is written, so it is the last line.
"""

from __future__ import annotations

import io
import os
import sys
import typing as t

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib import SingerMessageType
from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from singer_sdk.singerlib import Message


class OutputClosedError(RuntimeError):
    """stdout's reader went away (a target that exited, a closed pipe)."""

    def __init__(self) -> None:
        """One sentence for the user."""
        super().__init__(
            "stdout was closed by its reader (the target or the next command in the pipe "
            "exited): stopping. Nothing after the last STATE written was delivered; rerun "
            "from that state."
        )


class TerminatedError(SystemExit):
    """Raised after the final STATE once a termination signal was handled."""


class SingerOutput(MsgSpecWriter):
    """msgspec-encoded Singer messages on stdout, in whole-line blocks."""

    block_bytes = 64 * 1024

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        """Start with an empty block."""
        super().__init__(*args, **kwargs)
        self._block = bytearray()
        self._writing = False
        self._terminating = False
        self._pending_signal: int | None = None
        self._sealed = False
        #: Writes the final STATE when a signal ends the run (set by the tap).
        self.final_state: Callable[[], None] | None = None

    @override
    def write_message(self, message: Message) -> None:
        if self._sealed:
            return
        self._block += self.format_message(message)
        if message.type != SingerMessageType.RECORD or len(self._block) >= self.block_bytes:
            self.flush()

    def write_block(self, lines: bytes) -> None:
        """Whole RECORD lines, already encoded (a page at a time)."""
        if self._sealed:
            return
        self._block += lines
        if len(self._block) >= self.block_bytes:
            self.flush()

    def flush(self) -> None:
        """Write the pending block out completely (unless the output is sealed)."""
        if self._sealed:
            return
        # Mark the write as under way *before* taking the block: a signal handled from here
        # on only notes itself, and one handled before finds the block still pending.
        self._writing = True
        try:
            if self._block:
                data = bytes(self._block)
                self._block.clear()
                _write_all(data)
        finally:
            self._writing = False
        if self._pending_signal is not None and not self._terminating:
            self.terminate(self._pending_signal)

    def handle_signal(self, signum: int) -> None:
        """A termination signal: end now, or right after the block being written."""
        if self._terminating:
            return
        if self._writing:
            self._pending_signal = signum
            return
        self.terminate(signum)

    def terminate(self, signum: int) -> t.NoReturn:
        """Write what is pending and the final STATE, seal the output and exit 128+signum."""
        self._terminating = True
        self._pending_signal = None
        try:
            if self.final_state is not None:
                self.final_state()
            self.flush()
        finally:
            self._sealed = True
        raise TerminatedError(128 + signum)


def _write_all(data: bytes) -> None:
    """Write ``data`` to stdout completely, resuming after partial writes."""
    stdout = sys.stdout
    try:
        fd = stdout.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        fd = None  # captured by a test harness: no file descriptor
    try:
        if fd is None:
            stdout.buffer.write(data)
            stdout.flush()
            return
        stdout.flush()  # anything the SDK printed itself goes first
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except BrokenPipeError:
        raise OutputClosedError from None
