"""Bearer tokens: static ones, and ones from a token endpoint refreshed before they expire."""

from __future__ import annotations

import logging
import threading
import time
import typing as t
from dataclasses import dataclass, field

import requests
from requests.auth import AuthBase

from taps.shared.errors import ConfigurationError, cannot_connect, describe_response, sentence
from taps.shared.redaction import register_secrets

if t.TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from taps.shared.ratelimit import RateBudget
    from taps.shared.retry import BackoffPolicy

#: Retries of a token response that is not JSON (an HTML page rarely turns into a token).
MAX_UNDECODABLE_TOKEN_RESPONSES = 2

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class TokenGrant:
    """An access token, when it expires (monotonic seconds) and an optional refresh token.

    ``response`` keeps the whole token response (e.g. IQM's ``owId``). Tokens stay out of
    ``repr``.
    """

    access_token: str = field(repr=False)
    expires_at: float | None
    refresh_token: str | None = field(default=None, repr=False)
    response: dict[str, t.Any] = field(default_factory=dict, repr=False)

    def is_fresh(self, *, now: float, margin_seconds: float) -> bool:
        """True while the token has more than ``margin_seconds`` of life left."""
        return self.expires_at is None or now < self.expires_at - margin_seconds


def parse_token_response(
    body: t.Any,
    *,
    now: float,
    default_ttl_seconds: float | None = None,
) -> TokenGrant:
    """Read a token response: raw OAuth ``{access_token, expires_in}`` or ``{data: {...}}``.

    ``expires_in`` may be a number or a numeric string (Adnuntius sends ``"3600"``).
    """
    payload = body
    if isinstance(body, dict) and "access_token" not in body and isinstance(body.get("data"), dict):
        payload = body["data"]
    if not isinstance(payload, dict) or not isinstance(payload.get("access_token"), str):
        msg = "the token endpoint's response has no access_token"
        raise ValueError(msg)
    expires_in = payload.get("expires_in")
    ttl: float | None
    try:
        ttl = float(expires_in) if expires_in not in (None, "") else default_ttl_seconds
    except (TypeError, ValueError):
        ttl = default_ttl_seconds
    refresh = payload.get("refresh_token")
    return TokenGrant(
        access_token=payload["access_token"],
        expires_at=None if ttl is None else now + ttl,
        refresh_token=refresh if isinstance(refresh, str) and refresh else None,
        response=dict(payload),
    )


class StaticBearerAuth(AuthBase):
    """A token the user generated (e.g. in the vendor's UI): sent as is, never refreshed."""

    can_refresh = False

    def __init__(self, token: str) -> None:
        """Send ``token`` as ``Authorization: Bearer``."""
        self._header = f"Bearer {token}"
        register_secrets([token])

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Add the header."""
        request.headers["Authorization"] = self._header
        return request

    def invalidate(self) -> None:
        """Nothing to do: a static token cannot be renewed."""


TokenRequest = t.Callable[[requests.Session], requests.Response]


class TokenEndpoint:
    """Posts to a token endpoint with retries, turning rejections into configuration errors.

    Token requests draw from the tap's request budget like every other request. A rejection
    is reported with the vendor's message only: a refusing token endpoint may still send a
    (temporary) token in its body.
    """

    def __init__(
        self,
        *,
        policy: BackoffPolicy,
        settings_hint: str,
        timeout_seconds: float = 60,
        budget: RateBudget | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """``settings_hint`` names the settings a 4xx rejection points at."""
        self.policy = policy
        self.settings_hint = settings_hint
        self.timeout_seconds = timeout_seconds
        self.budget = budget
        self.session = requests.Session()
        self.sleep = sleep
        self.reached = False

    def _post_once(self, url: str, **kwargs: t.Any) -> requests.Response:
        """One POST drawn from the budget, its answer (or its absence) reported back to it."""
        if self.budget is not None:
            self.budget.acquire()
        try:
            response = self.session.post(url, timeout=self.timeout_seconds, **kwargs)
        except requests.RequestException:
            if self.budget is not None:
                self.budget.observe(None)
            raise
        if self.budget is not None:
            self.budget.observe(response)
        return response

    def post(
        self,
        url: str,
        *,
        data: Mapping[str, str] | None = None,
        json: Mapping[str, t.Any] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> t.Any:
        """POST and return the JSON body; retry 429/5xx/connection errors; 4xx is fatal."""
        attempt = undecodable = 0
        while True:
            attempt += 1
            error: BaseException
            try:
                response = self._post_once(url, data=data, json=json, headers=headers,
                                           auth=auth)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if not self.reached and isinstance(exc, requests.ConnectionError) and \
                        cannot_connect(exc):
                    msg = sentence(f"Cannot reach the token endpoint {url.split('?', 1)[0]} "
                                   f"({type(exc).__name__})", f"Check {self.settings_hint}")
                    raise ConfigurationError(msg) from None
                error = exc
                reason = f"{type(exc).__name__} talking to the token endpoint"
            else:
                self.reached = True
                if response.status_code == 429 or response.status_code >= 500:
                    error = requests.HTTPError(response=response)
                    reason = describe_response(response)
                elif response.status_code >= 400:
                    raise self.rejection(response)
                else:
                    try:
                        return response.json()
                    except ValueError:
                        undecodable += 1
                        error = ValueError("undecodable body")
                        reason = (f"{describe_response(response)} (not JSON: "
                                  f"{response.headers.get('Content-Type') or 'no content type'})")
                        if undecodable > MAX_UNDECODABLE_TOKEN_RESPONSES:
                            msg = sentence(f"The token endpoint did not answer with a token: "
                                           f"{reason}", f"Check {self.settings_hint}")
                            raise ConfigurationError(msg) from None
            if attempt >= self.policy.max_tries:
                msg = f"Could not obtain an access token after {attempt} attempts: {reason}"
                raise ConfigurationError(msg) from None
            wait = self.policy.wait_for(attempt, error)
            logger.warning("Token request failed (%s); retrying in %.1f s", reason, wait)
            self.sleep(wait)

    def rejection(self, response: requests.Response) -> ConfigurationError:
        """The error for a 4xx from the token endpoint (vendors add their own hints)."""
        return ConfigurationError(sentence(f"Authentication failed ({describe_response(response)})",
                                           f"Check {self.settings_hint}"))


class RefreshingBearerAuth(AuthBase):
    """One login per process, shared by every stream, renewed ``margin_seconds`` before expiry.

    ``login()`` obtains a fresh grant (client credentials, password, ...). ``refresh(token)``,
    when given, uses a refresh token; if it fails the auth falls back to a full login.
    A rotated refresh token in a response replaces the old one.
    """

    can_refresh = True

    def __init__(
        self,
        *,
        login: Callable[[], TokenGrant],
        refresh: Callable[[str], TokenGrant] | None = None,
        margin_seconds: float = 60,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Create the auth; no request is made until the first use."""
        self._login = login
        self._refresh = refresh
        self.margin_seconds = margin_seconds
        self.clock = clock
        self._grant: TokenGrant | None = None
        self._margin = margin_seconds
        #: One renewal at a time: a prefetch thread and the main thread may both need a token,
        #: and a rotating refresh token can be used only once.
        self._renewing = threading.Lock()
        self.logins = 0
        self.refreshes = 0

    def _renew(self) -> TokenGrant:
        previous = self._grant
        grant: TokenGrant | None = None
        if previous is not None and previous.refresh_token and self._refresh is not None:
            try:
                grant = self._refresh(previous.refresh_token)
                self.refreshes += 1
            except ConfigurationError as exc:
                logger.warning("Refreshing the access token failed (%s); logging in again", exc)
        if grant is None:
            grant = self._login()
            self.logins += 1
        if grant.refresh_token is None and previous is not None:
            grant.refresh_token = previous.refresh_token
        register_secrets([grant.access_token, grant.refresh_token])
        # A margin longer than the token's life would renew it on every request.
        self._margin = self.margin_seconds
        if grant.expires_at is not None:
            self._margin = min(self.margin_seconds, max((grant.expires_at - self.clock()) / 4, 0))
        self._grant = grant
        return grant

    @property
    def token(self) -> str:
        """A valid access token, renewed first if it is about to expire."""
        grant = self._grant
        if grant is None or not grant.is_fresh(now=self.clock(), margin_seconds=self._margin):
            with self._renewing:
                grant = self._grant
                if grant is None or not grant.is_fresh(now=self.clock(),
                                                       margin_seconds=self._margin):
                    grant = self._renew()
        return grant.access_token

    def invalidate(self) -> None:
        """Forget the access token (the API rejected it): the next request renews it."""
        if self._grant is not None:
            self._grant.expires_at = float("-inf")

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Add ``Authorization: Bearer <token>``."""
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request
