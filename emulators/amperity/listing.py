"""Cursor paging shared by every Amperity list, filtered or not.

A token carries the range fixed at the first page, how far paging got, and the original
filters, so paging works whether or not the client resends them [research 2.3 UNKNOWN].
Filtered lists page like the others (the spec gives them ``limit``, ``next_token`` and
``with_total`` regardless of filters): a page scans the range until it has ``limit``
matches.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from emulators.framework.http import HTTPError, Request
from emulators.framework.paging import STRING_MAP, decode_token, encode_token, page_size_for

MAX_LIMIT = 1000  # GUESS: audit-events doc says "up to 1000 per response"; others undocumented
#: GUESS: a filtered page stops scanning after this many records and comes back short, with
#: a next_token (the docs allow pages shorter than ``limit``): pages stay fast at any scale.
MAX_SCAN = 20_000

Matcher = t.Callable[[int], bool]


def parse_limit(request: Request, default: int) -> int:
    """``limit``: an integer; larger than MAX_LIMIT is clamped, below 1 counts as 1 (GUESS)."""
    raw = request.arg("limit")
    if raw is None:
        return default
    try:
        limit = int(raw)
    except ValueError:
        raise HTTPError(400, f"Invalid limit {raw!r}: must be an integer.") from None
    # GUESS: the spec's Limit is any integer (no minimum or maximum): clamp, do not refuse.
    return min(max(limit, 1), MAX_LIMIT)


def parse_bool(request: Request, name: str) -> bool:
    """A boolean query parameter (``true``/``false``); anything else is a 400."""
    values = request.query.get(name)
    if not values:
        return False
    if len(values) > 1 or values[0] not in {"true", "false"}:
        raise HTTPError(400, f"Invalid {name} {values[-1]!r}: must be true or false.")
    return values[0] == "true"


@dataclass
class Page:
    """The record indices of one page and the fields that follow ``data``."""

    indices: list[int]
    tail: dict[str, t.Any]
    #: True when a filter chose the indices (they need not be consecutive).
    filtered: bool = False


def cursor_page(request: Request, *, kind: str, lo: int, hi: int, size: int, default_limit: int,
                short_pages: bool, filters: dict[str, str] | None = None,
                matcher_for: t.Callable[[dict[str, str]], Matcher | None] | None = None,
                newest_first: bool = True) -> Page:
    """One page over indices [lo, hi) of a resource holding ``size`` records.

    ``matcher_for(filters)`` turns the filters (from the request, or from the token on later
    pages) into a test of a record index; None or no filters lists every record.
    """
    limit = parse_limit(request, default_limit)
    with_total = parse_bool(request, "with_total")
    state = {"k": kind, "lo": lo, "hi": hi, "o": 0, "p": 0, "f": dict(filters or {})}
    token = request.arg("next_token")
    if token:
        state = decode_token(token, {"k": kind, "lo": int, "hi": int, "o": int, "p": int,
                                     "f": STRING_MAP})
        if not state["lo"] <= state["hi"] <= size or state["o"] > state["hi"] - state["lo"]:
            raise HTTPError(400, "Invalid next_token.")  # GUESS: message
    lo, hi, offset, page = state["lo"], state["hi"], state["o"], state["p"]
    match = matcher_for(state["f"]) if matcher_for and state["f"] else None

    def position(n: int) -> int:
        return hi - 1 - n if newest_first else lo + n

    take = page_size_for(page, limit, short_pages=short_pages)
    span = hi - lo
    indices: list[int] = []
    if match is None:
        stop = min(offset + take, span)
        indices = [position(n) for n in range(offset, stop)]
        offset = stop
    else:
        scanned = 0
        while offset < span and len(indices) < take and scanned < MAX_SCAN:
            i = position(offset)
            offset, scanned = offset + 1, scanned + 1
            if match(i):
                indices.append(i)
    tail: dict[str, t.Any] = {}
    if offset < span:
        tail["next_token"] = encode_token({**state, "o": offset, "p": page + 1})
    if with_total:
        tail["total"] = span if match is None else sum(1 for n in range(span) if match(position(n)))
    return Page(indices, tail, filtered=match is not None)
