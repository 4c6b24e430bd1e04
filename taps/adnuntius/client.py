"""The Adnuntius base stream: ``context``, Translatable Messages and error hints."""

from __future__ import annotations

import importlib.resources
import typing as t

from singer_sdk import SchemaDirectory, StreamSchema
from typing_extensions import override

from taps.shared.errors import ConfigurationError, describe_response, sentence
from taps.shared.stream import ResilientStream

if t.TYPE_CHECKING:
    import requests
    from singer_sdk.helpers.types import Context

SCHEMAS = SchemaDirectory(importlib.resources.files("taps.schemas") / "adnuntius")
API_KEY_HINT = ("create an API key in the Adnuntius Admin UI (Admin > API keys) and set "
                "api_key (TAP_ADNUNTIUS_API_KEY) instead of username and password")


def message_code(response: requests.Response) -> str:
    """The ``code`` of a Translatable Message body (first of a list), or ""."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, list) and body:
        body = body[0]
    return str(body.get("code") or "") if isinstance(body, dict) else ""


class AdnuntiusStream(ResilientStream):
    """A ``/api/v1`` stream: ``context=<network>`` on every request, readable errors."""

    schema = StreamSchema(SCHEMAS)

    @override
    def get_url_params(self, context: Context | None, next_page_token: t.Any) -> dict[str, t.Any]:
        return {"context": str(self.config.get("network", ""))}

    @override
    def client_error(self, response: requests.Response) -> Exception:
        message = describe_response(response)
        code = message_code(response)
        status = response.status_code
        if code.startswith("error.context") or (status in {403, 404} and "network" in
                                                 message.lower()):
            return ConfigurationError(sentence(
                message, f"Adnuntius does not know network {self.config.get('network')!r} or "
                "this user has no access to it: check the network setting (the network id "
                "shown in the Admin UI)"))
        if status == 401:
            mode = "api_key" if not self.authenticator.can_refresh else "username and password"
            return ConfigurationError(sentence(
                message, f"Adnuntius rejected the credentials: check {mode} (API keys can "
                "expire; create a new one under Admin > API keys)"))
        if status == 403:
            return ConfigurationError(sentence(
                message, "The user or API key may not read this resource: grant the scope "
                "(API keys: Query Advertising or Query Stats), or deselect the stream"))
        return super().client_error(response)
