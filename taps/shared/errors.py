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
