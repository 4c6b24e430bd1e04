"""Keep secrets out of every log line, exception text and message this process writes."""

from __future__ import annotations

import logging
import traceback
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Iterable

MASK = "***REDACTED***"
#: Values shorter than this are not treated as secrets (masking "1" would mangle every log).
MIN_SECRET_LENGTH = 6

_secrets: set[str] = set()
_installed = False


def register_secrets(values: Iterable[str | None]) -> None:
    """Remember secret values (config credentials, tokens fetched at run time)."""
    for value in values:
        if isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH:
            _secrets.add(value)


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by a mask."""
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def install_log_redaction() -> None:
    """Wrap the process's LogRecord factory so every record is redacted when created.

    Working at record creation (not in one handler) covers every logger and handler,
    including the SDK's own and urllib3's DEBUG output, and exception tracebacks.
    """
    global _installed  # noqa: PLW0603 - one factory per process
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: t.Any, **kwargs: t.Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if not _secrets:
            return record
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and record.exc_info[1] is not None:
            text = "".join(traceback.format_exception(*record.exc_info))
            cleaned = redact(text)
            if cleaned != text:
                record.exc_info, record.exc_text = None, cleaned
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
