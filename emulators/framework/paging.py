"""Opaque cursor tokens and the deterministic short/empty pages real APIs produce."""

from __future__ import annotations

import base64
import json
import typing as t

from emulators.framework.http import HTTPError


def encode_token(state: dict[str, t.Any]) -> str:
    """An opaque, URL-safe token carrying the pagination state (and the original filters)."""
    raw = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


#: Marks a key of ``expect`` whose value must be a JSON object of strings (e.g. filters).
STRING_MAP = "string-map"


def decode_token(token: str, expect: dict[str, t.Any], *,
                 message: str = "Invalid next_token.") -> dict[str, t.Any]:
    """The state inside one of our tokens, validated, else ``HTTPError(400, message)``.

    ``expect`` maps every key the state must hold to what its value must be: a type (``int``
    means a non-negative integer, never a bool), ``STRING_MAP``, or a literal the value must
    equal (the token's kind, the index it pages). Extra keys are refused too. Anything else a
    client sends, garbage or well-formed JSON of another shape, is a 400, never a crash.
    """
    try:
        padded = token + "=" * (-len(token) % 4)
        state = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError, TypeError):
        raise HTTPError(400, message) from None
    if not isinstance(state, dict) or set(state) != set(expect):
        raise HTTPError(400, message)
    for key, want in expect.items():
        if not _conforms(state[key], want):
            raise HTTPError(400, message)
    return state


def _conforms(value: t.Any, want: t.Any) -> bool:
    if want is int:
        return type(value) is int and value >= 0
    if want == STRING_MAP:
        return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    if isinstance(want, type):
        return type(value) is want
    return type(value) is type(want) and value == want


def page_size_for(page_number: int, limit: int, *, short_pages: bool) -> int:
    """How many records page ``page_number`` returns.

    GUESS: the docs say a page may hold fewer than ``limit`` records even when more exist;
    every 5th page (from the 3rd) comes back half full and every 7th (from the 5th) empty
    but still with a next_token.
    """
    if not short_pages:
        return limit
    if page_number % 7 == 4:
        return 0
    if page_number % 5 == 2:
        return max(limit // 2, 1)
    return limit
