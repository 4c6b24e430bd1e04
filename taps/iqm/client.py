"""The IQM base stream: bearer + workspace header, v3/v2 envelopes, ids and timestamps."""

from __future__ import annotations

import functools
import importlib.resources
import typing as t
from functools import cached_property

from singer_sdk import SchemaDirectory, StreamSchema
from typing_extensions import override

from taps.shared.errors import ConfigurationError, describe_response, sentence
from taps.shared.stream import ResilientStream
from taps.shared.timestamps import iso_utc

if t.TYPE_CHECKING:
    import requests
    from singer_sdk.helpers.types import Context, Record

SCHEMAS = SchemaDirectory(importlib.resources.files("taps.schemas") / "iqm")


def _types(spec: dict[str, t.Any]) -> set[str]:
    kind = spec.get("type", [])
    return {kind} if isinstance(kind, str) else set(kind)


def normalise(value: t.Any, spec: dict[str, t.Any]) -> t.Any:
    """``value`` shaped by its schema: numeric-string ids to integers, timestamps to ISO UTC.

    Timestamps arrive as epoch seconds, milliseconds or ISO text, even within one object;
    each value is read by its magnitude. Unreadable values stay as they are.
    """
    if value is None:
        return None
    types = _types(spec)
    if spec.get("format") == "date-time":
        try:
            return iso_utc(value)
        except ValueError:
            return value
    if "integer" in types and isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    if isinstance(value, dict) and "properties" in spec:
        props = spec["properties"]
        return {k: normalise(v, props[k]) if k in props else v for k, v in value.items()}
    if isinstance(value, list) and isinstance(spec.get("items"), dict):
        return [normalise(item, spec["items"]) for item in value]
    return value


def _needs_work(spec: t.Any) -> bool:
    """Whether ``normalise`` can change a value of ``spec`` (a timestamp, an id, or within)."""
    if not isinstance(spec, dict):
        return False
    if spec.get("format") == "date-time" or "integer" in _types(spec):
        return True
    if isinstance(spec.get("properties"), dict) and any(
            _needs_work(sub) for sub in spec["properties"].values()):
        return True
    return isinstance(spec.get("items"), dict) and _needs_work(spec["items"])


def row_normaliser(schema: dict[str, t.Any]) -> t.Callable[[dict], dict]:
    """``normalise`` for rows of an object ``schema``, faster.

    Only the properties it can change are visited; the others are kept as they are, as
    ``normalise`` keeps them.
    """
    props = schema.get("properties") or {}
    changing = tuple((name, _converter(spec)) for name, spec in props.items()
                     if _needs_work(spec))

    def normalised(row: dict) -> dict:
        out = dict(row)
        for name, convert in changing:
            value = out.get(name)
            if value is not None:
                out[name] = convert(value)
        return out

    return normalised


def _converter(spec: dict[str, t.Any]) -> t.Callable[[t.Any], t.Any]:
    """``normalise`` for one property, with the schema's decisions taken once."""
    if spec.get("format") == "date-time":
        def timestamp(value: t.Any) -> t.Any:
            try:
                return iso_utc(value)
            except ValueError:
                return value
        return timestamp
    if "integer" in _types(spec) and "properties" not in spec and "items" not in spec:
        def integer(value: t.Any) -> t.Any:
            if isinstance(value, str) and value.strip().lstrip("-").isdigit():
                return int(value)
            return value
        return integer
    return functools.partial(normalise, spec=spec)


class PageSizeRefusedError(ConfigurationError):
    """IQM's 422 "Invalid page size": the endpoint allows fewer rows per page."""


def forbidden(message: str, ow_id: t.Any, source: str) -> ConfigurationError:
    """IQM's 403 ("Forbidden!"): the workspace id or the account's permissions."""
    return ConfigurationError(sentence(
        message, f"IQM refused workspace {ow_id} (from {source or 'the login'}): check the "
        "ow_id setting (the Organization Workspace ID this login belongs to) and that the "
        "account has permission to read this resource, or deselect the stream"))


class IQMStream(ResilientStream):
    """An IQM stream: one login and workspace per run, readable 401/403s, normalised rows."""

    schema = StreamSchema(SCHEMAS)
    records_path = ("data", "data")

    @override
    def client_error(self, response: requests.Response) -> Exception:
        message = describe_response(response)
        if response.status_code == 403:
            auth = self.authenticator
            return forbidden(message, getattr(auth, "_ow_id", None),
                             getattr(auth, "ow_id_source", ""))
        if response.status_code == 422 and "invalid page size" in message.lower():
            return PageSizeRefusedError(sentence(
                message, "The endpoint allows fewer rows per page: lower page_size"))
        if response.status_code == 401:
            return ConfigurationError(sentence(
                message, "IQM rejected the access token twice: check client_id, "
                "client_secret, username and password"))
        return super().client_error(response)

    @cached_property
    def _normalised(self) -> t.Callable[[dict], dict]:
        return row_normaliser(self.schema)

    @override
    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        return self._normalised(row) if isinstance(row, dict) else normalise(row, self.schema)
