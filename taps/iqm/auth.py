"""IQM login: the OAuth token endpoint (password and refresh grants) and the workspace id.

``POST /api/v3/ua/oauth/token`` is form-encoded with ``Authorization: Basic
base64(client_id:client_secret)``; it answers either ``{success, data: {access_token, ...,
owId}}`` or the raw OAuth form. The workspace id (``X-IAA-OW-ID``) comes from the ``ow_id``
setting, else ``owId`` in the token response, else ``GET /api/v3/ua/user/ow-id``.
"""

from __future__ import annotations

import base64
import logging
import time
import typing as t

import requests
from typing_extensions import override

from taps.shared.auth import RefreshingBearerAuth, TokenEndpoint, TokenGrant, parse_token_response
from taps.shared.errors import (
    ConfigurationError,
    describe_response,
    register_body_tokens,
    sentence,
)
from taps.shared.redaction import register_secrets

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from taps.shared.ratelimit import RateBudget
    from taps.shared.retry import BackoffPolicy

logger = logging.getLogger(__name__)

TOKEN_PATH = "/api/v3/ua/oauth/token"  # noqa: S105 - a path
OW_ID_PATH = "/api/v3/ua/user/ow-id"
#: Renew the access token this long before ``expires_in`` runs out (examples: 35999 s).
TOKEN_MARGIN_SECONDS = 300
CLIENT_HINT = "client_id and client_secret (the API client IQM issued, support@iqm.com)"
LOGIN_HINT = "username and password (the IQM login e-mail and its password)"


def basic_header(client_id: str, client_secret: str) -> str:
    """``Basic base64(client_id:client_secret)``, registered as a secret."""
    encoded = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
    register_secrets([encoded])
    return f"Basic {encoded}"


class IQMTokenEndpoint(TokenEndpoint):
    """The token endpoint; a 401 points at the client, a 400 ``invalid_grant`` at the login."""

    @override
    def rejection(self, response: requests.Response) -> ConfigurationError:
        try:
            body = response.json()
        except ValueError:
            body = None
        register_body_tokens(body)
        code = body.get("error") if isinstance(body, dict) else None
        message = describe_response(response)
        if response.status_code == 401 or code == "invalid_client":
            return ConfigurationError(sentence(
                f"IQM rejected the API client ({message})", f"Check {CLIENT_HINT}"))
        if code == "invalid_grant" or response.status_code == 400:
            return ConfigurationError(sentence(
                f"IQM rejected the login ({message})", f"Check {LOGIN_HINT}"))
        return super().rejection(response)

    def get_json(self, url: str, *, headers: dict[str, str]) -> t.Any:
        """GET with the same budget and retries as a token request (``/ua/user/ow-id``)."""
        attempt = 0
        while True:
            attempt += 1
            if self.budget is not None:
                self.budget.acquire()
            response = self.session.get(url, headers=headers, timeout=self.timeout_seconds)
            if self.budget is not None:
                self.budget.observe(response)
            if response.status_code != 429 and response.status_code < 500:
                break
            if attempt >= self.policy.max_tries:
                break
            wait = self.policy.wait_for(attempt, requests.HTTPError(response=response))
            logger.warning("Workspace lookup failed (%s); retrying in %.1f s",
                           describe_response(response), wait)
            self.sleep(wait)
        if response.status_code >= 400:
            msg = sentence(f"IQM did not return the workspace id ({describe_response(response)})",
                           "Set ow_id (the Organization Workspace ID shown in IQM)")
            raise ConfigurationError(msg)
        return response.json()


class IQMAuth(RefreshingBearerAuth):
    """Bearer token plus ``X-IAA-OW-ID`` on every request, the first one included."""

    def __init__(self, *, login: Callable[[], TokenGrant], refresh: Callable[[str], TokenGrant],
                 ow_id: int | None, lookup_ow_id: Callable[[str], int],
                 margin_seconds: float = TOKEN_MARGIN_SECONDS) -> None:
        """``ow_id`` from the settings, else from the token response or ``lookup_ow_id``."""
        super().__init__(login=login, refresh=refresh, margin_seconds=margin_seconds,
                         clock=time.monotonic)
        self._ow_id = ow_id
        self._lookup = lookup_ow_id
        self.ow_id_source = "setting ow_id" if ow_id is not None else ""

    @property
    def ow_id(self) -> int:
        """The workspace id: setting, token response, else one ``/ua/user/ow-id`` call."""
        if self._ow_id is None:
            token = self.token
            grant = self._grant
            found = grant.response.get("owId") if grant is not None else None
            if found not in (None, ""):
                self.ow_id_source = "the token response"
            else:
                found = self._lookup(token)
                self.ow_id_source = OW_ID_PATH
            try:
                self._ow_id = int(t.cast("t.Any", found))
            except (TypeError, ValueError):
                msg = (f"IQM sent workspace id {found!r}, not a number: set ow_id (the "
                       "Organization Workspace ID)")
                raise ConfigurationError(msg) from None
        return self._ow_id

    @override
    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request = super().__call__(request)
        request.headers["X-IAA-OW-ID"] = str(self.ow_id)
        return request


def make_iqm_auth(config: t.Mapping[str, t.Any], *, policy: BackoffPolicy,
                  budget: RateBudget) -> IQMAuth:
    """The run's authenticator from the settings (no request until first use)."""
    base = str(config["api_url"]).rstrip("/")
    endpoint = IQMTokenEndpoint(
        policy=policy, settings_hint=f"{CLIENT_HINT}, {LOGIN_HINT} and api_url",
        timeout_seconds=float(config.get("request_timeout_seconds", 300)), budget=budget)
    headers = {"Authorization": basic_header(str(config.get("client_id", "")),
                                             str(config.get("client_secret", ""))),
               "Accept": "application/json"}

    def grant(form: dict[str, str]) -> TokenGrant:
        answer = endpoint.post(f"{base}{TOKEN_PATH}", data=form, headers=headers)
        register_body_tokens(answer)
        try:
            return parse_token_response(answer, now=time.monotonic(), default_ttl_seconds=86400)
        except ValueError as exc:
            raise ConfigurationError(f"{exc}: check api_url") from None

    def login() -> TokenGrant:
        return grant({"grant_type": "password", "username": str(config.get("username", "")),
                      "password": str(config.get("password", ""))})

    def refresh(token: str) -> TokenGrant:
        return grant({"grant_type": "refresh_token", "refresh_token": token})

    def lookup(token: str) -> int:
        body = endpoint.get_json(f"{base}{OW_ID_PATH}",
                                 headers={"Authorization": f"Bearer {token}"})
        return body.get("data") if isinstance(body, dict) else body

    ow_id = config.get("ow_id")
    return IQMAuth(login=login, refresh=refresh, lookup_ow_id=lookup,
                   ow_id=int(ow_id) if ow_id not in (None, "") else None)
