"""Token responses, refresh with a margin, one login per process, token endpoint errors."""

from __future__ import annotations

import pytest
import requests
import requests_mock

from taps.shared.auth import (
    RefreshingBearerAuth,
    StaticBearerAuth,
    TokenEndpoint,
    TokenGrant,
    parse_token_response,
)
from taps.shared.errors import ConfigurationError
from taps.shared.ratelimit import RateBudget
from taps.shared.redaction import MASK, redact
from taps.shared.retry import BackoffPolicy


@pytest.mark.parametrize(
    "body",
    [
        {"access_token": "tok", "expires_in": 3600, "token_type": "Bearer"},
        {"access_token": "tok", "expires_in": "3600", "refresh_token": "r1"},  # Adnuntius
        {"success": True, "data": {"access_token": "tok", "expires_in": 3600, "owId": 1}},  # IQM
    ],
)
def test_token_response_shapes(body: dict) -> None:
    grant = parse_token_response(body, now=100.0)
    assert grant.access_token == "tok"
    assert grant.expires_at == 3700.0


def test_token_response_without_expiry_uses_default_and_rejects_garbage() -> None:
    assert parse_token_response({"access_token": "t"}, now=0, default_ttl_seconds=60).expires_at == 60
    assert parse_token_response({"access_token": "t"}, now=0).expires_at is None
    with pytest.raises(ValueError, match="no access_token"):
        parse_token_response({"error": "nope"}, now=0)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _prepared() -> requests.PreparedRequest:
    return requests.Request("GET", "https://x.test/a").prepare()


def test_refreshes_margin_before_expiry_and_reuses_otherwise() -> None:
    clock = Clock()
    issued = []

    def login() -> TokenGrant:
        issued.append(f"token-{len(issued)}")
        return TokenGrant(issued[-1], expires_at=clock.now + 3600)

    auth = RefreshingBearerAuth(login=login, margin_seconds=60, clock=clock)
    assert auth(_prepared()).headers["Authorization"] == "Bearer token-0"
    clock.now = 3500
    assert auth(_prepared()).headers["Authorization"] == "Bearer token-0"
    clock.now = 3541  # inside the 60 s margin
    assert auth(_prepared()).headers["Authorization"] == "Bearer token-1"
    assert auth.logins == 2


def test_short_lived_tokens_get_a_proportionate_margin() -> None:
    clock = Clock()
    auth = RefreshingBearerAuth(login=lambda: TokenGrant("t", expires_at=clock.now + 8),
                                margin_seconds=60, clock=clock)
    _ = auth.token
    clock.now = 5
    _ = auth.token
    assert auth.logins == 1  # a 60 s margin on an 8 s token would log in on every request


def test_refresh_grant_rotates_and_falls_back_to_login() -> None:
    clock = Clock()
    refreshed: list[str] = []

    def refresh(token: str) -> TokenGrant:
        refreshed.append(token)
        if token == "r2":
            raise ConfigurationError("refresh token expired")
        return TokenGrant("a-refreshed", expires_at=clock.now + 100, refresh_token="r2")

    auth = RefreshingBearerAuth(
        login=lambda: TokenGrant("a-login", expires_at=clock.now + 100, refresh_token="r1"),
        refresh=refresh, clock=clock)
    assert auth.token == "a-login"
    auth.invalidate()
    assert auth.token == "a-refreshed"
    auth.invalidate()
    assert auth.token == "a-login"  # r2 rejected: full login
    assert refreshed == ["r1", "r2"]
    assert (auth.logins, auth.refreshes) == (2, 1)


def test_static_token() -> None:
    auth = StaticBearerAuth("static-abc")
    auth.invalidate()
    assert auth(_prepared()).headers["Authorization"] == "Bearer static-abc"
    assert not auth.can_refresh


def test_token_endpoint_retries_5xx_then_succeeds() -> None:
    sleeps: list[float] = []
    endpoint = TokenEndpoint(policy=BackoffPolicy(base_seconds=1), settings_hint="client_id",
                             sleep=sleeps.append)
    with requests_mock.Mocker() as m:
        m.post("https://auth.test/token", [
            {"status_code": 503, "json": {"status": 503, "message": "busy"}},
            {"status_code": 429, "headers": {"Retry-After": "2"}, "json": {}},
            {"status_code": 200, "json": {"access_token": "ok"}},
        ])
        assert endpoint.post("https://auth.test/token", data={"a": "b"}) == {"access_token": "ok"}
    assert len(sleeps) == 2
    assert sleeps[1] == 2.0


def test_token_endpoint_rejection_names_the_settings() -> None:
    endpoint = TokenEndpoint(policy=BackoffPolicy(), settings_hint="client_id and client_secret",
                             sleep=lambda s: None)
    with requests_mock.Mocker() as m:
        m.post("https://auth.test/token", status_code=401,
               json={"status": 401, "message": "invalid client", "request_id": "rq-1"})
        with pytest.raises(ConfigurationError) as info:
            endpoint.post("https://auth.test/token", data={"client_secret": "s3cr3t-value"})
    text = str(info.value)
    assert "HTTP 401 from POST /token: invalid client (request_id=rq-1)" in text
    assert "Check client_id and client_secret" in text
    assert "s3cr3t-value" not in text


def test_token_endpoint_gives_up_after_max_retries() -> None:
    endpoint = TokenEndpoint(policy=BackoffPolicy(max_retries=2), settings_hint="x",
                             sleep=lambda s: None)
    with requests_mock.Mocker() as m:
        m.post("https://auth.test/token", status_code=500, text="<html>oops</html>")
        with pytest.raises(ConfigurationError, match="after 3 attempts: HTTP 500"):
            endpoint.post("https://auth.test/token")
        assert m.call_count == 3


def test_unreachable_token_endpoint_fails_at_once() -> None:
    sleeps: list[float] = []
    endpoint = TokenEndpoint(policy=BackoffPolicy(), settings_hint="token_url",
                             sleep=sleeps.append, timeout_seconds=5)
    with pytest.raises(ConfigurationError, match=r"Cannot reach the token endpoint http://127.0.0.1:9/token .*token_url"):
        endpoint.post("http://127.0.0.1:9/token", data={"client_secret": "s"})
    assert sleeps == []


def test_a_refusal_carrying_a_temporary_token_never_quotes_it() -> None:
    endpoint = TokenEndpoint(policy=BackoffPolicy(), settings_hint="api_key",
                             sleep=lambda s: None)
    with requests_mock.Mocker() as m:
        m.post("https://auth.test/token", status_code=401,
               json={"access_token": "TEMP-2FA-TOKEN-0123456789", "scope": "TWO_FACTOR_AUTH"})
        with pytest.raises(ConfigurationError) as info:
            endpoint.post("https://auth.test/token")
    text = str(info.value)
    assert "TEMP-2FA-TOKEN" not in text
    assert "access_token, scope" in text  # the keys say what came back, not the values
    assert redact("leaked TEMP-2FA-TOKEN-0123456789") == f"leaked {MASK}"


def test_token_requests_draw_from_the_budget() -> None:
    budget = RateBudget("api", 600)
    endpoint = TokenEndpoint(policy=BackoffPolicy(), settings_hint="x", budget=budget,
                             sleep=lambda s: None)
    with requests_mock.Mocker() as m:
        m.post("https://auth.test/token", [{"status_code": 503, "json": {}},
                                           {"status_code": 200, "json": {"access_token": "a"}}])
        endpoint.post("https://auth.test/token")
    assert budget.acquired == 2


def test_an_html_token_response_is_retried_twice_then_names_the_settings() -> None:
    endpoint = TokenEndpoint(policy=BackoffPolicy(), settings_hint="token_url",
                             sleep=lambda s: None)
    with requests_mock.Mocker() as m:
        m.post("https://auth.test/token", status_code=200, text="<html>Sign in</html>",
               headers={"Content-Type": "text/html"})
        with pytest.raises(ConfigurationError, match=r"Sign in.*text/html.*Check token_url"):
            endpoint.post("https://auth.test/token")
        assert m.call_count == 3


def test_the_grant_keeps_the_whole_token_response() -> None:
    body = {"success": True, "data": {"access_token": "tok", "expires_in": 60, "owId": 42}}
    grant = parse_token_response(body, now=0)
    assert grant.response["owId"] == 42
    assert "tok" not in repr(grant)
