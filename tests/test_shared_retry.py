"""Retry waits: Retry-After parsing and the backoff policy."""

from __future__ import annotations

import datetime as dt
import random

import pytest
import requests

from taps.shared.retry import BackoffPolicy, ImmediateRetry, QuickRetry, retry_after_seconds

NOW = dt.datetime(2026, 11, 24, 12, 0, 0, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("7", 7.0),
        (" 2.5 ", 2.5),
        ("0", 0.0),
        ("-3", 0.0),
        ("Tue, 24 Nov 2026 12:00:30 GMT", 30.0),
        ("Tue, 24 Nov 2026 11:59:00 GMT", 0.0),  # a date in the past: retry now
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_forms(header: str | None, expected: float | None) -> None:
    assert retry_after_seconds(header, now=NOW) == expected


def _error_with(headers: dict[str, str]) -> requests.HTTPError:
    response = requests.Response()
    response.status_code = 429
    response.headers.update(headers)
    return requests.HTTPError(response=response)


def test_server_wait_is_exact_and_capped() -> None:
    policy = BackoffPolicy(max_wait_seconds=60, now=lambda: NOW)
    assert policy.wait_for(1, _error_with({"Retry-After": "7"})) == 7.0
    assert policy.wait_for(5, _error_with({"Retry-After": "7"})) == 7.0  # no growth, no jitter
    assert policy.wait_for(1, _error_with({"Retry-After": "3600"})) == 60.0


def test_exponential_with_equal_jitter_without_header() -> None:
    policy = BackoffPolicy(base_seconds=1, max_wait_seconds=10, rng=random.Random(3))
    for attempt, ceiling in [(1, 1), (2, 2), (3, 4), (4, 8), (5, 10), (9, 10)]:
        waits = {policy.wait_for(attempt, _error_with({})) for _ in range(20)}
        assert all(ceiling / 2 <= w <= ceiling for w in waits)
        assert len(waits) > 1  # jittered


def test_connection_errors_have_no_response_and_back_off() -> None:
    policy = BackoffPolicy(base_seconds=2, rng=random.Random(1))
    assert 1 <= policy.wait_for(1, requests.ConnectionError("reset")) <= 2


def test_immediate_retry_waits_nothing() -> None:
    class Rejected(ImmediateRetry):
        pass

    assert BackoffPolicy().wait_for(3, Rejected()) == 0.0


def test_wait_generator_receives_exceptions() -> None:
    policy = BackoffPolicy(now=lambda: NOW)
    gen = policy.wait_generator()
    next(gen)
    assert gen.send(_error_with({"Retry-After": "4"})) == 4.0
    assert policy.max_tries == 9


def _status(code: int, headers: dict[str, str] | None = None) -> Exception:
    response = requests.Response()
    response.status_code = code
    response.headers.update(headers or {})
    return requests.HTTPError(response=response)


def test_defaults_cost_at_most_a_third_of_a_second_per_transient_fault() -> None:
    policy = BackoffPolicy(rng=random.Random(1))
    assert policy.base_seconds == 0.3
    waits = [policy.wait_for(1, _status(503)) for _ in range(100)]
    assert max(waits) <= 0.3
    assert min(waits) >= 0.15


def test_a_headerless_429_waits_the_vendor_minimum_but_retry_after_stays_exact() -> None:
    policy = BackoffPolicy(min_429_wait_seconds=60, max_wait_seconds=300,
                           rng=random.Random(2), now=lambda: NOW)
    assert policy.wait_for(1, _status(429)) == 60
    assert policy.wait_for(1, _status(429, {"Retry-After": "3"})) == 3
    assert policy.wait_for(1, _status(500)) < 1


def test_quick_retries_do_not_grow() -> None:
    class Bad(QuickRetry):
        pass

    policy = BackoffPolicy(base_seconds=0.2, rng=random.Random(3))
    assert all(0.1 <= policy.wait_for(n, Bad()) <= 0.2 for n in range(1, 9))
