"""Response bodies decoded once (msgspec, exact decimals) and walked by key paths."""

from __future__ import annotations

import decimal
import typing as t

import msgspec

if t.TYPE_CHECKING:
    import requests

_decoder = msgspec.json.Decoder(float_hook=decimal.Decimal)
_fields_decoder = msgspec.json.Decoder(dict[str, msgspec.Raw])
_items_decoder = msgspec.json.Decoder(list[msgspec.Raw])
_BODY = "_taps_decoded_body"


def decoded_body(response: requests.Response) -> t.Any:
    """The response's JSON, decoded once and reused (raises ``msgspec.DecodeError``)."""
    if not hasattr(response, _BODY):
        setattr(response, _BODY, _decoder.decode(response.content))
    return getattr(response, _BODY)


def decode_list_lazily(response: requests.Response, key: str) -> bool:
    """Decode the body once with the items of its top-level list ``key`` left undecoded.

    The items stay ``msgspec.Raw`` slices of the body (48 bytes each, whatever their size)
    until ``decoded_item`` reads them, so a large answer is never held decoded whole. Returns
    False, setting nothing, when the body is not an object with a list at ``key`` or is not
    valid JSON: ``decoded_body`` then decodes it in full (and fails) as ever.
    """
    if hasattr(response, _BODY):
        return False
    content = response.content
    try:
        if not content.isascii():
            content.decode()  # msgspec skips Raw items unchecked for UTF-8; a full decode not
        fields = _fields_decoder.decode(content)
        body = {name: _items_decoder.decode(value) if name == key else _decoder.decode(value)
                for name, value in fields.items()}
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
        return False
    setattr(response, _BODY, body)
    return True


def decoded_item(item: t.Any) -> t.Any:
    """An item of a list decoded by ``decode_list_lazily``, decoded as ``decoded_body`` would."""
    return _decoder.decode(item) if isinstance(item, msgspec.Raw) else item


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
