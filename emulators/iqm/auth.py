"""``POST /api/v3/ua/oauth/token`` and the bearer and workspace checks (research 2, 3).

The token endpoint is in none of IQM's OpenAPI files: it is documented only in the docs'
authentication quickstart and user-api guide (form-encoded since Sept 2025).
"""

from __future__ import annotations

import base64
import binascii
import random
import time
import typing as t
import uuid
from dataclasses import dataclass

from emulators.framework.rand import mix
from emulators.iqm.data import OTHER_OW_ID, OW_ID
from emulators.iqm.errors import IQMError

if t.TYPE_CHECKING:
    from emulators.framework.http import Request

REFRESH_TTL = 30 * 86400  # GUESS: the refresh-token lifetime is undocumented
TOKEN_RESPONSES = ("enveloped", "raw", "mixed")


@dataclass(frozen=True)
class User:
    """A login and its workspace."""

    username: str
    password: str
    ow_id: int


class Authenticator:
    """Client credentials, users and issued tokens of one emulated account."""

    def __init__(self, *, seed: int, token_ttl: int, token_response: str) -> None:
        """Credentials derive from the seed; tokens are issued at run time."""
        if token_response not in TOKEN_RESPONSES:
            msg = f"--token-response must be one of {', '.join(TOKEN_RESPONSES)}"
            raise ValueError(msg)
        self.token_ttl, self.token_response = token_ttl, token_response
        self._rng = random.Random(mix(seed, 9090))
        self.client_id = f"{self._rng.getrandbits(40):010x}"
        self.client_secret = f"{self._rng.getrandbits(128):032x}"
        self.users = {u.username: u for u in (
            User("api@acme-advertiser.example", f"Pw-{self._rng.getrandbits(48):012x}", OW_ID),
            User("other@acme-agency.example", f"Pw-{self._rng.getrandbits(48):012x}",
                 OTHER_OW_ID))}
        self.access: dict[str, tuple[float, User]] = {}
        self.refresh: dict[str, tuple[float, User]] = {}

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    # The token endpoint ------------------------------------------------------------------

    def token(self, request: Request) -> dict[str, t.Any]:
        """Password and refresh grants; errors in the Spring OAuth2 shape (GUESS)."""
        if not self._client_ok(request):
            # GUESS: status and body (the docs show none; /validate-user errors look so)
            raise IQMError(401, "Bad client credentials", body={
                "error": "invalid_client", "error_description": "Bad client credentials"})
        form = request.form()
        grant = form.get("grant_type")
        if grant == "password":
            user = self.users.get(form.get("username", "").lower())
            if user is None or form.get("password") != user.password:
                raise IQMError(400, "Bad credentials", body={  # GUESS
                    "error": "invalid_grant", "error_description": "Bad credentials"})
            return self._issue(user, refresh=None, login=True)
        if grant == "refresh_token":
            token = form.get("refresh_token", "")
            entry = self.refresh.get(token)
            if entry is None or entry[0] <= time.time():
                raise IQMError(400, "Invalid refresh token", body={  # GUESS
                    "error": "invalid_grant",
                    "error_description": "Invalid refresh token"})
            return self._issue(entry[1], refresh=token, login=False)
        raise IQMError(400, "Unsupported grant type", body={  # GUESS
            "error": "unsupported_grant_type",
            "error_description": f"Unsupported grant type: {grant}"})

    def _client_ok(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if header[:6].lower() != "basic ":
            return False
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        return decoded == f"{self.client_id}:{self.client_secret}"

    def _issue(self, user: User, *, refresh: str | None, login: bool) -> dict[str, t.Any]:
        """A new access token; a refresh keeps its refresh token (the docs' examples)."""
        access = self._uuid()
        now = time.time()
        self.access[access] = (now + self.token_ttl, user)
        if refresh is None:
            refresh = self._uuid()
            self.refresh[refresh] = (now + REFRESH_TTL, user)
        raw = {"access_token": access, "refresh_token": refresh, "scope": "read write",
               "token_type": "bearer", "expires_in": self.token_ttl}
        # "mixed" is the docs read literally: Log In enveloped (with owId), Refresh raw.
        form = self.token_response
        if form == "enveloped" or (form == "mixed" and login):
            return {"success": True, "data": {**raw, "owId": user.ow_id}}
        return raw

    # Data requests -----------------------------------------------------------------------

    def user(self, request: Request) -> User:
        """The user of a live bearer token, else 401 (bodies from MCP-inventory, MCP-cmp)."""
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        if not token:
            raise IQMError(401, "Unauthorized")  # GUESS: which 401 text for which case
        entry = self.access.get(token)
        if entry is None or entry[0] <= time.time():
            raise IQMError(401, "Invalid token")
        return entry[1]

    def workspace(self, request: Request, user: User, forbidden: str) -> int:
        """``X-IAA-OW-ID`` must be the user's workspace, else 403 (GUESS: missing too)."""
        raw = request.headers.get("x-iaa-ow-id", "").strip()
        if not raw.isdigit() or int(raw) != user.ow_id:
            raise IQMError(403, forbidden)
        return user.ow_id
