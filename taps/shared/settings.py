"""Checking what the user hands the tap: settings, the state file, the input files.

Each problem becomes one sentence that names the setting (or file) and says what a valid
value looks like, instead of a schema dump, an SDK message or a bare exception name.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import typing as t
from pathlib import Path

from singer_sdk.plugin_base import JSONSchemaValidator

from taps.shared.errors import ConfigurationError

if t.TYPE_CHECKING:
    from jsonschema import ValidationError

logger = logging.getLogger(__name__)

_KIND = {
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "string": "a string",
    "object": "an object",
    "array": "a list",
}


def parse_timestamp(value: str) -> dt.datetime:
    """An ISO-8601 date or date-time (``Z`` allowed) as an aware UTC datetime."""
    moment = dt.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc)


def _expected(spec: dict[str, t.Any]) -> str:
    """What a valid value of ``spec`` looks like, in words."""
    types = spec.get("type", [])
    types = [types] if isinstance(types, str) else [x for x in types if x != "null"]
    words = " or ".join(_KIND.get(x, x) for x in types) or "a value"
    if spec.get("format") == "date-time":
        words = "an ISO-8601 date or date-time such as 2026-01-01T00:00:00Z"
    if "minimum" in spec and "maximum" in spec:
        words += f" from {spec['minimum']} to {spec['maximum']}"
    elif "minimum" in spec:
        words += f" of at least {spec['minimum']}"
    elif "exclusiveMinimum" in spec:
        words += f" greater than {spec['exclusiveMinimum']}"
    if "enum" in spec:
        words += f" (one of {', '.join(map(str, spec['enum']))})"
    return words


def _describe(error: ValidationError, properties: dict[str, t.Any]) -> str:
    if error.validator == "additionalProperties":
        import difflib  # noqa: PLC0415 - only for a wrong setting: 35 ms of every start-up

        unknown = sorted(set(error.instance) - set(properties))
        parts = []
        for name in unknown:
            close = difflib.get_close_matches(name, properties, n=1)
            hint = f"did you mean {close[0]}?" if close else "see --about for the settings"
            parts.append(f"unknown setting {name} ({hint})")
        return "; ".join(parts)
    if error.validator == "required":
        return f"missing required setting: {error.message}"
    name = ".".join(str(p) for p in error.absolute_path) or "config"
    spec = properties.get(str(error.absolute_path[0]), {}) if error.absolute_path else {}
    return f"setting {name} is {error.instance!r}: it must be {_expected(spec)}"


def config_problems(schema: dict[str, t.Any], config: dict[str, t.Any]) -> list[str]:
    """Every problem with ``config`` against ``schema``, one sentence each.

    Like the SDK's own check, this fills in the schema's defaults in ``config``.
    """
    properties = schema.get("properties", {})
    problems = [
        _describe(error, properties)
        for error in sorted(JSONSchemaValidator(schema).iter_errors(config),
                            key=lambda e: [str(p) for p in e.absolute_path])
    ]
    for name, spec in properties.items():
        value = config.get(name)
        if spec.get("format") == "date-time" and isinstance(value, str):
            try:
                parse_timestamp(value)
            except ValueError:
                problems.append(f"setting {name} is {value!r}: it must be {_expected(spec)}")
    return problems


def read_json_input(path: str, what: str) -> t.Any:
    """The JSON in ``path``; a missing, unreadable or malformed file is a one-line error."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        msg = f"the {what} file {path} does not exist: check the --{what} argument"
        raise ConfigurationError(msg) from None
    except OSError as exc:
        msg = f"cannot read the {what} file {path} ({exc.strerror or exc}): check its permissions"
        raise ConfigurationError(msg) from None
    try:
        return json.loads(text)
    except ValueError as exc:
        hint = "delete it to start from scratch" if what == "state" else "fix it"
        msg = (f"the {what} file {path} is not valid JSON ({exc}): it may be truncated; "
               f"{hint}")
        raise ConfigurationError(msg) from None


def state_problem(state: t.Any) -> str | None:
    """Why ``state`` is not a Singer state, or None when it is one."""
    if not isinstance(state, dict):
        return f"it holds {type(state).__name__}, not an object like {{\"bookmarks\": {{...}}}}"
    bookmarks = state.get("bookmarks", {})
    if not isinstance(bookmarks, dict):
        return "its bookmarks are not an object of stream name -> bookmark"
    for stream, bookmark in bookmarks.items():
        if not isinstance(bookmark, dict):
            return f"the bookmark of stream {stream} is {bookmark!r}, not an object"
        partitions = bookmark.get("partitions", [])
        if not isinstance(partitions, list) or not all(isinstance(p, dict) for p in partitions):
            return f"the partitions of stream {stream} are not a list of objects"
    return None


def _bookmark_states(bookmark: dict[str, t.Any]) -> t.Iterator[dict[str, t.Any]]:
    yield bookmark
    yield from bookmark.get("partitions", [])


def clamp_future_bookmarks(state: dict[str, t.Any], *, now: dt.datetime) -> list[str]:
    """Move timestamp bookmarks later than ``now`` back to ``now``; return the streams moved.

    A bookmark in the future would make every later run skip the stream forever.
    """
    moved = []
    for stream, bookmark in state.get("bookmarks", {}).items():
        for part in _bookmark_states(bookmark):
            value = part.get("replication_key_value")
            if not isinstance(value, str):
                continue
            try:
                moment = parse_timestamp(value)
            except ValueError:
                continue
            if moment > now:
                part["replication_key_value"] = now.isoformat()
                logger.warning(
                    "Bookmark of stream %s is in the future (%s): starting from now (%s) "
                    "instead", stream, value, part["replication_key_value"],
                )
                moved.append(stream)
    return moved
