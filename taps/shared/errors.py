"""Error types and turning vendors' error envelopes into one readable line."""

from __future__ import annotations

import typing as t

import requests
from singer_sdk.exceptions import FatalAPIError
from urllib3.exceptions import NewConnectionError

from taps.shared.redaction import redact, register_secrets

#: Longest piece of a non-JSON error body quoted in a message.
BODY_EXCERPT_CHARS = 200


class ConfigurationError(FatalAPIError):
    """A setting is missing or wrong (or the vendor rejected it): fix the config and rerun."""


def _text(value: t.Any) -> str:
    return value if isinstance(value, str) else str(value)


def _error_object(item: t.Any) -> str:
    if not isinstance(item, dict):
        return _text(item)
    text = " - ".join(_text(item[k]) for k in ("error", "reason") if item.get(k))
    field = item.get("field") or item.get("errorField")
    return f"{text} (field {field})" if field and text else text


def _error_value(value: t.Any, body: dict[str, t.Any]) -> str | None:
    """IQM's ``error``: a string (with ``field`` beside it) or ``{message}``."""
    if isinstance(value, dict):
        return envelope_message(value)
    if isinstance(value, str) and value:
        field = body.get("field")
        return f"{value} (field {field})" if field else value
    return None


def envelope_message(body: t.Any) -> str | None:
    """The human message inside any of our vendors' error envelopes, or None.

    Understands Amperity ``{status, message, request_id, trace_id}``; IQM v3
    ``{success: false, errorObjects: [{error, reason, field}]}`` (a list or one object),
    ``{error: {message}}`` and ``{error, field}``, and IQM v2
    ``{statusCode, responseObject: {errorMsg, errorField}}``; Spring-style
    ``{error, error_description}``; Adnuntius translatable messages ``{type, code, text,
    params}`` (alone or in a list); Kissmetrics ``{meta: {status, message}}``.
    """
    if isinstance(body, list):
        parts = [m for m in (envelope_message(item) for item in body) if m]
        return "; ".join(parts) or None
    if not isinstance(body, dict):
        return None
    objects = body.get("errorObjects")
    if isinstance(objects, dict):
        objects = [objects]
    if isinstance(objects, list) and objects:
        return "; ".join(p for p in map(_error_object, objects) if p) or None
    inner = body.get("responseObject")
    if isinstance(inner, dict) and inner.get("errorMsg"):
        return _error_object({"error": inner["errorMsg"], "field": inner.get("errorField")})
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
    if body.get("error_description"):
        return " - ".join(_text(body[k]) for k in ("error", "error_description") if body.get(k))
    return _error_value(body.get("error"), body)


def failure_inside_success(body: t.Any) -> str | None:
    """The message of a failure reported with HTTP 2xx, or None when the body is a success.

    IQM marks failures with ``success: false`` (v3) or ``statusCode >= 400`` (v2); the HTTP
    status is checked first, by the caller.
    """
    if not isinstance(body, dict):
        return None
    status = body.get("statusCode")
    failed = body.get("success") is False or (isinstance(status, int) and status >= 400)
    if not failed:
        return None
    return envelope_message(body) or "the API reported a failure without a message"


#: Response headers that carry a vendor's request id, worth quoting to its support.
REQUEST_ID_HEADERS = ("X-Request-Id", "X-Amzn-RequestId", "X-Correlation-Id")


def register_body_tokens(body: t.Any) -> None:
    """Treat every ``*token*`` value in a body as a secret (e.g. a two-factor step-up token)."""
    if isinstance(body, dict):
        for key, value in body.items():
            if isinstance(value, str) and "token" in str(key).lower():
                register_secrets([value])
            else:
                register_body_tokens(value)
    elif isinstance(body, list):
        for item in body:
            register_body_tokens(item)


def response_message(response: requests.Response) -> str:
    """The vendor's own message for an error response, redacted, never the whole body.

    A JSON body without a recognisable message is described by its keys only: its values
    may be credentials (token endpoints answer with tokens even when they refuse).
    """
    try:
        body = response.json()
    except ValueError:
        body, is_json = None, False
    else:
        is_json = True
        register_body_tokens(body)
    message = envelope_message(body)
    if message is None and is_json:
        keys = ", ".join(map(str, body)) if isinstance(body, dict) else type(body).__name__
        message = f"no error message in the JSON body ({keys})"
    elif message is None:
        excerpt = " ".join(response.text[:BODY_EXCERPT_CHARS].split())
        message = excerpt or (response.reason or "no message")
    ids = [f"{h.lower()}={response.headers[h]}" for h in REQUEST_ID_HEADERS
           if response.headers.get(h) and response.headers[h] not in message]
    if ids:
        message += f" ({', '.join(ids)})"
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


def sentence(*parts: str) -> str:
    """Parts joined as sentences, without doubled periods ("tenant.. Check")."""
    cleaned = [part.strip().rstrip(".") for part in parts if part and part.strip()]
    return ". ".join(cleaned) + "."
