"""Error types and turning vendors' error envelopes into one readable line."""

from __future__ import annotations

import typing as t

import requests
from singer_sdk.exceptions import FatalAPIError
from urllib3.exceptions import NewConnectionError

from taps.shared.redaction import redact

#: Longest piece of a non-JSON error body quoted in a message.
BODY_EXCERPT_CHARS = 200


class ConfigurationError(FatalAPIError):
    """A setting is missing or wrong (or the vendor rejected it): fix the config and rerun."""


def _text(value: t.Any) -> str:
    return value if isinstance(value, str) else str(value)


def envelope_message(body: t.Any) -> str | None:  # noqa: PLR0912 - one branch per vendor
    """The human message inside any of our vendors' error envelopes, or None.

    Understands Amperity ``{status, message, request_id, trace_id}``, IQM
    ``{success: false, errorObjects: [{error, reason, field}]}`` and Spring-style
    ``{error, error_description}``, Adnuntius translatable messages ``{type, code, text, params}``
    (alone or in a list) and Kissmetrics ``{meta: {status, message}}``.
    """
    if isinstance(body, list):
        parts = [m for m in (envelope_message(item) for item in body) if m]
        return "; ".join(parts) or None
    if not isinstance(body, dict):
        return None
    if isinstance(body.get("errorObjects"), list) and body["errorObjects"]:
        parts = []
        for item in body["errorObjects"]:
            if isinstance(item, dict):
                text = " - ".join(_text(item[k]) for k in ("error", "reason") if item.get(k))
                if item.get("field"):
                    text += f" (field {item['field']})"
                parts.append(text)
            else:
                parts.append(_text(item))
        return "; ".join(p for p in parts if p) or None
    if "text" in body and ("code" in body or "type" in body):
        text = _text(body["text"])
        params = body.get("params")
        if isinstance(params, dict):
            for key, value in params.items():
                text = text.replace("{{" + str(key) + "}}", _text(value))
        return f"{text} [{body['code']}]" if body.get("code") else text
    meta = body.get("meta")
    if isinstance(meta, dict) and meta.get("message"):
        return _text(meta["message"])
    if body.get("message"):
        message = _text(body["message"])
        ids = [f"{k}={body[k]}" for k in ("request_id", "trace_id") if body.get(k)]
        return f"{message} ({', '.join(ids)})" if ids else message
    if body.get("error_description") or body.get("error"):
        return " - ".join(_text(body[k]) for k in ("error", "error_description") if body.get(k))
    return None


def response_message(response: requests.Response) -> str:
    """The vendor's own message for an error response, redacted, never the whole body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    message = envelope_message(body)
    if message is None:
        excerpt = " ".join(response.text[:BODY_EXCERPT_CHARS].split())
        message = excerpt or (response.reason or "no message")
    return redact(message)


def describe_response(response: requests.Response) -> str:
    """``HTTP 404 from GET /api/x: <vendor message>`` (path only: query strings stay out)."""
    request = response.request
    method = request.method if request is not None else "GET"
    path = request.path_url.split("?", 1)[0] if request is not None else "?"
    return f"HTTP {response.status_code} from {method} {path}: {response_message(response)}"


def cannot_connect(exc: requests.exceptions.ConnectionError) -> bool:
    """True when no connection could be opened (refused, DNS failure), not a dropped one."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError)
