"""Response bodies decoded once (msgspec, exact decimals) and walked by key paths."""

from __future__ import annotations

import decimal
import typing as t

import msgspec

if t.TYPE_CHECKING:
    import requests

_decoder = msgspec.json.Decoder(float_hook=decimal.Decimal)
_BODY = "_taps_decoded_body"


def decoded_body(response: requests.Response) -> t.Any:
    """The response's JSON, decoded once and reused (raises ``msgspec.DecodeError``)."""
    if not hasattr(response, _BODY):
        setattr(response, _BODY, _decoder.decode(response.content))
    return getattr(response, _BODY)


def is_truncated(error: msgspec.DecodeError) -> bool:
    """True when the JSON was cut short (a transport fault), not malformed from the start."""
    return "truncated" in str(error)


def dig(body: t.Any, path: tuple[str, ...]) -> t.Any:
    """``body[path[0]][path[1]]...``, or None when a step is missing."""
    for key in path:
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body
