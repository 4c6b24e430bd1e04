"""Hashes, ids and timestamps of the Adnuntius emulator: everything derives from (seed, index).

Ids look like the vendor's (16 lowercase characters of api-tools' ``generate_alphanum_id``
alphabet; UUIDs for users) and still decode to the record index, so a lookup by id is
arithmetic instead of a table.
"""

from __future__ import annotations

import datetime as dt
import re

from emulators.framework.rand import mix

#: api-tools ``generate_alphanum_id``'s alphabet ("same basic algorithm as the UI").
ALPHABET = "012356789bcdfghjklmnpqrstvwxyz"
_INDEX_DIGITS = 6
_MOD = len(ALPHABET) ** _INDEX_DIGITS
_MUL = 48271  # coprime to 30: the index scramble is a bijection
_UUID_MOD = 1 << 48
_UUID_MUL = 0x9E3779B97F4B  # odd: a bijection modulo 2**48


def _chars(value: int, length: int) -> str:
    out = []
    for _ in range(length):
        value, digit = divmod(value, len(ALPHABET))
        out.append(ALPHABET[digit])
    return "".join(out)


class IdCodec:
    """Ids of one resource (``salt``) for one seed, and their way back to an index."""

    def __init__(self, seed: int, salt: int, *, uuid: bool = False) -> None:
        """``uuid`` for users (the docs show UUIDs there)."""
        self.seed, self.salt, self.uuid = seed, salt, uuid
        self.offset = mix(seed, salt, 1) % (_UUID_MOD if uuid else _MOD)

    def encode(self, index: int) -> str:
        """The id of record ``index``."""
        head = mix(self.seed, self.salt, index, 7)
        if self.uuid:
            tail = (index * _UUID_MUL + self.offset) % _UUID_MOD
            text = f"{head:016x}{tail:012x}"[:28]
            text = f"{text[:12]}4{text[13:16]}{'89ab'[head & 3]}{text[17:20]}{tail:012x}"
            return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
        tail = (index * _MUL + self.offset) % _MOD
        return _chars(head, 16 - _INDEX_DIGITS) + _chars(tail, _INDEX_DIGITS)[::-1]

    def decode(self, identifier: str) -> int | None:
        """The index behind ``identifier`` (case-insensitive), or None if it is not ours."""
        text = identifier.strip().lower()
        try:
            if self.uuid:
                tail = int(text[-12:], 16)
                index = ((tail - self.offset) * pow(_UUID_MUL, -1, _UUID_MOD)) % _UUID_MOD
            else:
                tail = 0
                for char in text[-_INDEX_DIGITS:]:
                    tail = tail * len(ALPHABET) + ALPHABET.index(char)
                index = ((tail - self.offset) * pow(_MUL, -1, _MOD)) % _MOD
        except ValueError:
            return None
        return index if self.encode(index) == text else None


# Timestamps -------------------------------------------------------------------------------

#: The docs' examples show all three: ``2015-01-01T01:00Z``, ``2016-01-01T10:20:30Z``,
#: ``2017-10-24T11:07:41.041Z``. GUESS: which object gets which is arbitrary (by hash).
TIME_STYLES = ("minutes", "seconds", "millis", "millis")


def iso(epoch: float, style: str = "millis") -> str:
    """An ISO-8601 UTC timestamp in one of the docs' styles."""
    moment = dt.datetime.fromtimestamp(epoch, tz=dt.timezone.utc)
    if style == "minutes":
        return moment.strftime("%Y-%m-%dT%H:%MZ")
    if style == "seconds":
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


_ISO_START = re.compile(r"^\d{4}-\d{2}-\d{2}")
_RELATIVE = re.compile(r"^(\d+)\s*(minute|hour|day|month|year)s?\s+(ago|later)$", re.IGNORECASE)
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400,
                 "month": 30 * 86400, "year": 365 * 86400}  # GUESS: month 30 d, year 365 d


def looks_like_time(text: str) -> bool:
    """True for text starting like an ISO date."""
    return bool(_ISO_START.match(text))


def parse_time(text: str | None, now: float | None = None) -> float | None:
    """ISO-8601 (date, minutes, seconds or fractions; ``Z`` or offset), or ``N days ago``."""
    if not text:
        return None
    value = text.strip()
    relative = _RELATIVE.match(value)
    if relative and now is not None:
        amount = int(relative.group(1)) * _UNIT_SECONDS[relative.group(2).lower()]
        return now - amount if relative.group(3).lower() == "ago" else now + amount
    if not looks_like_time(value):
        return None
    value = value.replace("Z", "+00:00").replace("z", "+00:00")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.timestamp()


def day_start(epoch: float) -> float:
    """Midnight UTC of the day holding ``epoch``."""
    return (int(epoch) // 86400) * 86400.0
