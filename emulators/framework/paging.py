"""Opaque cursor tokens and the deterministic short/empty pages real APIs produce."""

from __future__ import annotations

import base64
import json
import typing as t


def encode_token(state: dict[str, t.Any]) -> str:
    """An opaque, URL-safe token carrying the pagination state (and the original filters)."""
    raw = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str) -> dict[str, t.Any] | None:
    """The state inside a token, or None when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        state = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return state if isinstance(state, dict) else None


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
