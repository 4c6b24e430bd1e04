"""IQM error bodies (research 10) and the type checks of request bodies and queries."""

from __future__ import annotations

import json
import typing as t

from emulators.framework.http import HTTPError

if t.TYPE_CHECKING:
    from emulators.framework.http import Request

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
SERVER_ERROR = "server encountered an error !"  # every spec's 500 example


class IQMError(HTTPError):
    """An error answered with an IQM body (``errorObjects`` unless told otherwise)."""

    def __init__(self, status: int, message: str, *, field: str | None = None,
                 body: dict[str, t.Any] | None = None) -> None:
        """``body`` replaces the default ``{success: false, errorObjects: [...]}``."""
        super().__init__(status, message)
        self.body = body if body is not None else envelope(message, field)


def envelope(message: str, field: str | None = None) -> dict[str, t.Any]:
    """``{"success": false, "errorObjects": [{"error": ..., "field": ...}]}``."""
    error: dict[str, t.Any] = {"error": message}
    if field:
        error["field"] = field
    return {"success": False, "errorObjects": [error]}


#: Field kinds: "int32", "int64", "bool", "str", "obj", ("list", kind, unique),
#: ("enum", values...). Schemas follow each operation's request schema.
Kind = t.Any


def _ok(value: t.Any, kind: Kind) -> bool:
    if isinstance(kind, tuple) and kind[0] == "list":
        if not isinstance(value, list) or not all(_ok(v, kind[1]) for v in value):
            return False
        return not kind[2] or len({json.dumps(v, sort_keys=True) for v in value}) == len(value)
    if isinstance(kind, tuple) and kind[0] == "enum":
        return value in kind[1:]
    if kind in {"int32", "int64"}:
        lo, hi = INT32 if kind == "int32" else INT64
        return type(value) is int and lo <= value <= hi
    if kind == "bool":
        return type(value) is bool
    if kind == "str":
        return isinstance(value, str)
    if kind == "obj":
        return isinstance(value, dict)
    if kind == "strmap":
        return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    return True


def json_body(request: Request, fields: dict[str, Kind], *,
              nullable: frozenset[str] = frozenset(), required: bool = True) -> dict[str, t.Any]:
    """The JSON object body, every declared field of the right type, else 400 (GUESS).

    ``required``: the operation's spec marks its request body required.
    """
    if required and not request.body.strip():
        raise IQMError(400, "Required request body is missing.")  # GUESS: Spring's text
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise IQMError(400, "Invalid request body.") from None  # GUESS: text
    if not isinstance(body, dict):
        raise IQMError(400, "Invalid request body.")
    for name, kind in fields.items():
        if name in body and not (body[name] is None and name in nullable) \
                and not _ok(body[name], kind):
            raise IQMError(400, f"Invalid value of {name}.", field=name)  # GUESS: text
    return body


def query_int(request: Request, name: str, default: int) -> int:
    """An int32 query parameter, else 400 (GUESS)."""
    raw = request.arg(name)
    if raw is None:
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise IQMError(400, f"Invalid value of {name}.", field=name) from None
    if not INT32[0] <= value <= INT32[1]:
        raise IQMError(400, f"Invalid value of {name}.", field=name)
    return value


def page_size(value: int, maximum: int, *, shape: str = "errorObjects") -> int:
    """``value`` when 1..maximum, else 422 "Invalid page size" (audience list's shape there)."""
    if 1 <= value <= maximum:
        return value
    if shape == "error":  # MCP-audience getAudienceList 422 example
        raise IQMError(422, "Invalid page size",
                       body={"success": False, "error": {"message": "Invalid page size"}})
    raise IQMError(422, "Invalid page size", field="noOfEntries")  # GUESS: this shape
