"""``POST /api/authenticate`` (research §2) and the check of every ``/v1`` credential.

Password and refresh grants, the two-factor step-up, static API keys.
"""

from __future__ import annotations

import json
import random
import time
import typing as t
from dataclasses import dataclass
from urllib.parse import parse_qs

from emulators.adnuntius.errors import AdnError
from emulators.adnuntius.ids import mix

if t.TYPE_CHECKING:
    from emulators.framework.http import Request

SCOPE = "ng_api"
REFRESH_TTL = 30 * 86400  # GUESS: refresh-token lifetime is undocumented
TWO_FACTOR_TTL = 300  # GUESS: lifetime of the temporary two-factor token


@dataclass
class Login:
    """One user who can log in with a password."""

    username: str
    password: str
    two_factor: str | None = None  # None, "TWO_FACTOR_AUTH" or "FORCED_TWO_FACTOR_AUTH"


class Authenticator:
    """Issued tokens and the static API key of one emulated network."""

    def __init__(self, *, seed: int, token_ttl: int, usernames: tuple[str, str, str]) -> None:
        """Credentials derive from the seed; tokens are issued at run time."""
        self.token_ttl = token_ttl
        self._rng = random.Random(mix(seed, 4242))
        self.api_key = f"adn-key-{self._hex(32)}"
        # GUESS: one fixed code stands in for the user's TOTP codes.
        self.two_factor_code = f"{mix(seed, 77) % 1_000_000:06d}"
        api, tfa, forced = usernames
        self.logins = {
            api: Login(api, f"pw-{self._hex(12)}"),
            tfa: Login(tfa, f"pw-{self._hex(12)}", "TWO_FACTOR_AUTH"),
            forced: Login(forced, f"pw-{self._hex(12)}", "FORCED_TWO_FACTOR_AUTH"),
        }
        self.access: dict[str, float] = {}  # access token -> expiry
        self.temporary: dict[str, tuple[float, str]] = {}  # 2FA token -> (expiry, username)
        self.refresh: dict[str, tuple[float, str]] = {}  # refresh token -> (expiry, username)
        self.used_refresh: set[str] = set()

    def _hex(self, length: int) -> str:
        return f"{self._rng.getrandbits(4 * length):0{length}x}"

    # POST /api/authenticate ----------------------------------------------------------------

    def authenticate(self, request: Request) -> tuple[int, dict[str, t.Any]]:
        """(status, body) of a token request; JSON or form body [DOCS:auth, DOCS:req]."""
        body = _body(request)
        grant, scope = body.get("grant_type"), body.get("scope")
        if scope is not None and scope != SCOPE:  # GUESS: a missing scope is accepted
            raise AdnError(400, "error.authentication.scope", "Unsupported scope {{scope}}",
                           {"scope": scope})
        if grant == "password":
            return self._password(body)
        if grant == "refresh_token":
            return 200, self._refresh(str(body.get("refresh_token") or ""))
        raise AdnError(400, "error.authentication.grant", "Unsupported grant_type {{grant}}",
                       {"grant": grant})

    def _password(self, body: dict[str, t.Any]) -> tuple[int, dict[str, t.Any]]:
        login = self.logins.get(str(body.get("username") or "").lower())
        if login is None or body.get("password") != login.password:
            # GUESS: status and code (the research finds neither documented)
            raise AdnError(401, "error.authentication.failed", "Invalid username or password",
                           {})
        if login.two_factor:
            # The step-up answer api-tools handles: 401 with a temporary token and a scope.
            token = f"adn-2fa-{self._hex(40)}"
            self.temporary[token] = (time.time() + TWO_FACTOR_TTL, login.username)
            return 401, {"access_token": token, "token_type": "bearer",
                         "expires_in": str(TWO_FACTOR_TTL), "scope": login.two_factor}
        return 200, self._issue(login.username)

    def _refresh(self, token: str) -> dict[str, t.Any]:
        """Refresh tokens rotate: each works once (api-tools keeps the newest one)."""
        entry = self.refresh.pop(token, None)
        if entry is None or entry[0] <= time.time():
            used = token in self.used_refresh
            # GUESS: status and code of a refused refresh
            raise AdnError(401, "error.authentication.refresh",
                           "The refresh token has already been used" if used else
                           "Invalid or expired refresh token", {})
        self.used_refresh.add(token)
        # GUESS: the previous access token stays valid until it expires.
        return self._issue(entry[1])

    def two_factor(self, request: Request) -> dict[str, t.Any]:
        """``POST /api/authenticate/2fa {code}`` with the temporary token as bearer."""
        token = bearer(request) or ""
        entry = self.temporary.get(token)
        if entry is None or entry[0] <= time.time():
            raise AdnError(401, "error.authentication.2fa", "Invalid two-factor session", {})
        if str(_body(request).get("code")) != self.two_factor_code:
            raise AdnError(401, "error.authentication.2fa", "Invalid two-factor code", {})
        del self.temporary[token]
        return self._issue(entry[1])

    def _issue(self, username: str) -> dict[str, t.Any]:
        access, refresh = f"adn-at-{self._hex(40)}", f"adn-rt-{self._hex(40)}"
        now = time.time()
        self.access[access] = now + self.token_ttl
        self.refresh[refresh] = (now + REFRESH_TTL, username)
        # expires_in is a string in the docs' example.
        return {"access_token": access, "token_type": "bearer",
                "expires_in": str(self.token_ttl), "refresh_token": refresh}

    # /v1 requests ------------------------------------------------------------------------

    def check(self, request: Request) -> None:
        """Bearer header or ``auth_token`` query parameter: an API key or a live token."""
        token = credential(request)
        if not token:
            raise AdnError(401, "error.authentication.required",
                           "Full authentication is required to access this resource", {})
        if token == self.api_key:
            return
        if token in self.temporary:  # GUESS: the step-up token opens nothing but /2fa
            raise AdnError(401, "error.authentication.2fa.required",
                           "Two-factor authentication is required", {})
        expiry = self.access.get(token)
        if expiry is None:
            raise AdnError(401, "error.authentication.invalid", "Invalid access token", {})
        if expiry <= time.time():
            raise AdnError(401, "error.authentication.expired", "Access token expired", {})


def bearer(request: Request) -> str | None:
    """The ``Authorization: Bearer`` credential."""
    header = request.headers.get("authorization", "")
    return header[7:].strip() or None if header[:7].lower() == "bearer " else None


def credential(request: Request) -> str | None:
    """The bearer credential, else ``auth_token`` [DOCS:filters, DOCS:stats]."""
    return bearer(request) or request.arg("auth_token") or None


def _body(request: Request) -> dict[str, t.Any]:
    """A JSON object, else a form (api-tools sends JSON, the curl example a form)."""
    text = request.body.decode("utf-8", "replace").strip()
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except ValueError:
            raise AdnError(400, "error.request.body", "The request body is not valid JSON",
                           {}) from None
        return value if isinstance(value, dict) else {}
    return {k: v[0] for k, v in parse_qs(text).items()}
