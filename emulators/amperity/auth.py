"""Amperity's token endpoint (OAuth 2.0 client credentials) and request authorization.

Sources: research note sections 2.1, 2.2, 3.2b and 3.3; RFC 6749 sections 2.3.1 (client
authentication), 4.4 (client credentials grant) and 5.1/5.2 (token responses and errors).
"""

from __future__ import annotations

import base64
import binascii
import random
import time
from urllib.parse import unquote_plus

from emulators.framework.http import HTTPError, Request, Response

TENANT = "acme"
CONTROL_VERSIONS = {"2024-04-01", "unstable"}  # the unstable API includes every stable one
DRAFT_VERSIONS = {"unstable"}  # /campaign-drafts exists only in the unstable API [research 4.3]
PROFILE_VERSIONS = {"2025-07-31"}
NO_STORE = [("Cache-Control", "no-store"), ("Pragma", "no-cache")]  # RFC 6749 5.1


def tenant_of(request: Request) -> str | None:
    """``Amperity-Tenant`` (specs: ``amperity-tenant``) or the older ``X-Amperity-Tenant``."""
    return request.headers.get("amperity-tenant") or request.headers.get("x-amperity-tenant")


def oauth_error(status: int, error: str, description: str,
                headers: list[tuple[str, str]] | None = None) -> Response:
    """An RFC 6749 section 5.2 error response."""
    return Response.json(status, {"error": error, "error_description": description},
                         headers=[*NO_STORE, *(headers or [])])


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    """Client id and secret from ``Authorization: Basic`` (form-encoded, RFC 6749 2.3.1)."""
    header = request.headers.get("authorization", "")
    if header[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ("", "")
    client_id, _, secret = decoded.partition(":")
    return unquote_plus(client_id), unquote_plus(secret)


class Tokens:
    """Issued OAuth tokens and the static (UI-generated) token of one tenant."""

    def __init__(self, *, static_token: str, client_id: str, client_secret: str,
                 ttl: int) -> None:
        """No token issued yet."""
        self.static_token = static_token
        self.client_id, self.client_secret = client_id, client_secret
        self.ttl = ttl
        self._expiry: dict[str, float] = {}  # OAuth token -> expiry (epoch seconds)

    def grant(self, request: Request) -> Response:
        """POST /api/v0/oauth2/token: form or HTTP Basic client authentication [research 3.2b].

        GUESS: statuses and bodies of errors follow RFC 6749 (Amperity documents none).
        """
        form = request.form()
        basic = _basic_credentials(request)
        in_form = "client_id" in form or "client_secret" in form
        challenge = [("WWW-Authenticate", 'Basic realm="amperity"')] if basic else []
        if basic and in_form:
            return oauth_error(400, "invalid_request",
                               "Use one client authentication method: Basic or form fields.")
        grant_type = form.get("grant_type")
        if not grant_type:
            return oauth_error(400, "invalid_request", "grant_type is required.")
        if grant_type != "client_credentials":
            return oauth_error(400, "unsupported_grant_type",
                               f"grant_type {grant_type!r} is not supported: use "
                               "client_credentials.")
        credentials = basic or (form.get("client_id"), form.get("client_secret"))
        if not credentials[0]:
            return oauth_error(401, "invalid_client", "Client authentication is required.",
                               [("WWW-Authenticate", 'Basic realm="amperity"')])
        if credentials != (self.client_id, self.client_secret):
            return oauth_error(401, "invalid_client", "Invalid client credentials.", challenge)
        tenant = tenant_of(request)
        if not tenant:  # GUESS: the docs always send the tenant header
            return oauth_error(400, "invalid_request", "The Amperity-Tenant header is required.")
        if tenant != TENANT:  # GUESS: whether a key is bound to a tenant is undocumented
            return oauth_error(401, "invalid_client",
                               f"These credentials do not belong to tenant {tenant!r}.", challenge)
        token = f"amp-oauth-{random.getrandbits(128):032x}"
        self._expiry[token] = time.time() + self.ttl
        return Response.json(200, {"access_token": token, "expires_in": self.ttl,
                                   "token_type": "Bearer"}, headers=list(NO_STORE))

    def authorize(self, request: Request, *, allowed_versions: set[str],
                  version_error_status: int) -> None:
        """Bearer token, tenant header and api-version [research 2.1, 2.2, 3.3]."""
        auth = request.headers.get("authorization", "")
        token = auth[7:] if auth[:7].lower() == "bearer " else ""
        if not token:
            raise HTTPError(401, "Missing bearer token.")
        if token != self.static_token:
            expiry = self._expiry.get(token)
            if expiry is None:
                raise HTTPError(401, "Invalid access token.")
            if expiry <= time.time():
                raise HTTPError(401, "The access token has expired.")
        tenant = tenant_of(request)
        if not tenant:
            # GUESS: status for a missing tenant header (401 is documented on every operation).
            raise HTTPError(401, "Missing amperity-tenant header: name the tenant the token "
                                 "belongs to.")
        if tenant != TENANT:
            # GUESS: the docs name no status for a token used with another tenant.
            raise HTTPError(401, f"Invalid tenant {tenant!r}: the token belongs to another tenant.")
        # The header wins over the api_version query parameter (SWAGGER-2024 info).
        version = request.headers.get("api-version") or request.arg("api_version")
        if not version:
            raise HTTPError(version_error_status, "Missing api-version header.")
        if version not in allowed_versions:
            raise HTTPError(version_error_status,
                            f"Unsupported api-version {version!r}; supported: "
                            f"{', '.join(sorted(allowed_versions))}.")


def versions_for(first_segment: str) -> set[str]:
    """Which api-versions a resource accepts."""
    if first_segment == "indexes":
        return PROFILE_VERSIONS
    if first_segment == "campaign-drafts":
        return DRAFT_VERSIONS
    return CONTROL_VERSIONS

