"""The resilient base stream against mocked HTTP: paging, retries, auth renewal, errors."""

from __future__ import annotations

import gc
import logging
import socket
import threading
import time
import typing as t
import weakref

import pytest
import requests
import requests_mock
from singer_sdk import typing as th
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.pagination import SinglePagePaginator

from taps.shared import prefetch
from taps.shared.auth import RefreshingBearerAuth, StaticBearerAuth, TokenGrant
from taps.shared.errors import ConfigurationError
from taps.shared.paging import BodyCursorPaginator
from taps.shared.stream import ResilientStream
from taps.shared.tap import ResilientTap, TapRuntime, common_properties

URL = "https://api.example.test/v1/things"


class Things(ResilientStream):
    name = "things"
    path = "/things"
    primary_keys = ("id",)
    schema = th.PropertiesList(th.Property("id", th.IntegerType)).to_dict()

    def get_new_paginator(self) -> BodyCursorPaginator:
        return BodyCursorPaginator(("next",))

    def get_url_params(self, context: t.Any, next_page_token: t.Any) -> dict:
        return {"cursor": next_page_token} if next_page_token else {}

    def check_body(self, body: t.Any, response: requests.Response) -> None:
        # IQM-style envelopes can report failure with a 200.
        if isinstance(body, dict) and body.get("success") is False:
            raise FatalAPIError(f"{self.path} failed: {body.get('errorObjects')}")


class DemoTap(ResilientTap):
    name = "tap-demo"
    config_jsonschema = th.PropertiesList(
        th.Property("token", th.StringType, secret=True),
        th.Property("renewable", th.BooleanType, default=False),
        *common_properties(requests_per_minute=60_000, api_url="https://api.example.test/v1"),
    ).to_dict()
    logins: t.ClassVar[list[str]] = []

    def discover_streams(self) -> list:
        return [Things(tap=self)]

    def make_authenticator(self, runtime: TapRuntime) -> t.Any:
        if not self.config.get("renewable"):
            return StaticBearerAuth(self.config["token"])

        def login() -> TokenGrant:
            DemoTap.logins.append(f"fresh-{len(DemoTap.logins)}")
            return TokenGrant(DemoTap.logins[-1], expires_at=None)

        return RefreshingBearerAuth(login=login)


def _stream(**config: t.Any) -> Things:
    DemoTap.logins.clear()
    tap = DemoTap(config={"token": "static-token-xyz", "backoff_base_milliseconds": 10,
                          "max_retries": 3, **config}, validate_config=True)
    return t.cast("Things", tap.streams["things"])


def _page(ids: list[int], nxt: t.Any = "absent") -> dict:
    body: dict[str, t.Any] = {"data": [{"id": i} for i in ids]}
    if nxt != "absent":
        body["next"] = nxt
    return {"status_code": 200, "json": body}


@pytest.mark.parametrize("last", ["absent", None, ""])
def test_cursor_ends_only_when_absent_null_or_empty(last: t.Any) -> None:
    stream = _stream()
    with requests_mock.Mocker() as m:
        m.get(URL, [_page([1, 2], "c1"), _page([], "c2"), _page([3], "c3"), _page([4], last)])
        ids = [r["id"] for r in stream.get_records(None)]
        assert ids == [1, 2, 3, 4]  # an empty page with a cursor does not stop the stream
        assert [q.qs.get("cursor") for q in m.request_history] == [None, ["c1"], ["c2"], ["c3"]]


def test_429_with_retry_after_waits_exactly_once(caplog: pytest.LogCaptureFixture) -> None:
    stream = _stream()
    with requests_mock.Mocker() as m, caplog.at_level(logging.WARNING):
        m.get(URL, [{"status_code": 429, "headers": {"Retry-After": "0.3"},
                     "json": {"message": "slow down"}}, _page([1, 2])])
        assert [r["id"] for r in stream.get_records(None)] == [1, 2]
        assert m.call_count == 2
    retries = [r.getMessage() for r in caplog.records if "Retrying" in r.getMessage()]
    assert len(retries) == 1
    assert "in 0.3 s (attempt 2 of 4): HTTP 429 from GET /v1/things: slow down" in retries[0]


@pytest.mark.parametrize(
    "failure",
    [
        {"status_code": 200, "text": '{"data": [{"id": 1}, {"id'},  # truncated, no length
        {"status_code": 200, "text": "<html>maintenance</html>"},
        {"status_code": 200, "json": {"unexpected": []}},
        {"status_code": 503, "json": {"message": "unavailable"}},
        {"exc": requests.exceptions.ChunkedEncodingError("IncompleteRead")},
        {"exc": requests.exceptions.ConnectionError("Connection reset by peer")},
        {"exc": requests.exceptions.ReadTimeout("read timed out")},
    ],
)
def test_transient_failures_are_retried_without_loss(failure: dict) -> None:
    stream = _stream()
    stream.runtime.host_reached = True
    with requests_mock.Mocker() as m:
        m.get(URL, [failure, _page([1, 2], "n"), failure, _page([3])])
        assert [r["id"] for r in stream.get_records(None)] == [1, 2, 3]
        assert m.call_count == 4


def test_gives_up_after_max_retries() -> None:
    stream = _stream(max_retries=2)
    with requests_mock.Mocker() as m:
        m.get(URL, status_code=500, json={"message": "down"})
        with pytest.raises(RetriableAPIError, match=r"HTTP 500 .*: down"):
            list(stream.get_records(None))
        assert m.call_count == 3


def test_401_renews_the_token_once_then_fails_clearly() -> None:
    stream = _stream(renewable=True)
    with requests_mock.Mocker() as m:
        m.get(URL, [{"status_code": 401, "json": {"message": "expired"}}, _page([7])])
        assert [r["id"] for r in stream.get_records(None)] == [7]
        assert m.call_count == 2
        assert m.request_history[-1].headers["Authorization"] == "Bearer fresh-1"
        assert DemoTap.logins == ["fresh-0", "fresh-1"]
    with requests_mock.Mocker() as m:
        m.get(URL, status_code=401, json={"message": "revoked"})
        with pytest.raises(ConfigurationError, match="revoked"):
            list(stream.get_records(None))
        assert m.call_count == 2


def test_static_token_401_is_a_configuration_error() -> None:
    stream = _stream()
    with requests_mock.Mocker() as m:
        m.get(URL, status_code=401, json={"message": "bad token"})
        with pytest.raises(ConfigurationError, match=r"bad token.*credentials"):
            list(stream.get_records(None))
        assert m.call_count == 1


def test_other_4xx_is_fatal_with_the_vendor_message_only() -> None:
    stream = _stream()
    with requests_mock.Mocker() as m:
        m.get(URL, status_code=404, json={"message": "no such thing", "debug": "x" * 10_000})
        with pytest.raises(FatalAPIError) as info:
            list(stream.get_records(None))
    assert str(info.value) == "HTTP 404 from GET /v1/things: no such thing"


def test_unreachable_host_fails_fast_naming_api_url() -> None:
    stream = _stream(api_url="http://127.0.0.1:9")  # discard port: nothing listens
    with pytest.raises(ConfigurationError, match=r"Cannot reach http://127.0.0.1:9 .*api_url"):
        list(stream.get_records(None))


def test_every_attempt_draws_from_the_shared_budget() -> None:
    stream = _stream()
    with requests_mock.Mocker() as m:
        m.get(URL, [{"status_code": 502, "text": "bad gateway"}, _page([1])])
        list(stream.get_records(None))
    assert stream.runtime.budget("api").acquired == 2


def test_every_answer_is_noted_for_the_whole_tap() -> None:
    stream = _stream()
    with requests_mock.Mocker() as m:
        m.get(URL, [{"status_code": 502, "text": "bad gateway"}, _page([1])])
        list(stream.get_records(None))
    # The 502 came from the server too: both tell how fast it answers, for every stream.
    assert len(stream.runtime.answer_seconds) == 2


def test_error_envelopes_with_a_200_go_through_check_body() -> None:
    stream = _stream()
    with requests_mock.Mocker() as m:
        m.get(URL, json={"success": False, "errorObjects": [{"error": "Forbidden!"}], "data": []})
        with pytest.raises(FatalAPIError, match="Forbidden!"):
            list(stream.get_records(None))


class TwoModeTap(DemoTap):
    name = "tap-two"
    auth_modes: t.ClassVar[tuple[tuple[str, tuple[str, ...]], ...]] = (
        ("renewable login", ("renewable", "token")), ("static token", ("token",)))


def test_credential_sets_are_named_when_missing_and_the_choice_said_when_both(
        caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(ConfigurationError, match=r"set renewable and token \(TAP_TWO_RENEWABLE, "
                       r"TAP_TWO_TOKEN\), or token \(TAP_TWO_TOKEN\)\."):
        TwoModeTap(config={}).auth_mode()
    assert TwoModeTap(config={"token": "static-token-xyz"}).auth_mode() == "static token"
    with caplog.at_level(logging.WARNING):
        both = TwoModeTap(config={"token": "static-token-xyz", "renewable": True})
        assert both.auth_mode() == "renewable login"
    assert "using the renewable login" in caplog.text


@pytest.mark.parametrize("concurrent", [1, 2])
def test_the_next_page_is_requested_while_a_page_is_processed(concurrent: int) -> None:
    stream = _stream(max_concurrent_requests=concurrent)
    with requests_mock.Mocker() as mock:
        mock.get(URL, [_page([1, 2], "p2"), _page([3, 4], "p3"), _page([5])])
        records = iter(stream.get_records(None))
        assert next(records) == {"id": 1}
        # Page 1 is being processed: with prefetch, page 2 is already on its way.
        if concurrent > 1:
            for _ in range(500):
                if mock.call_count == 2:
                    break
                threading.Event().wait(0.01)
        assert mock.call_count == (2 if concurrent > 1 else 1)
        assert [r["id"] for r in records] == [2, 3, 4, 5]
        assert mock.call_count == 3
        assert [q.qs.get("cursor") for q in mock.request_history] == [None, ["p2"], ["p3"]]


def test_the_first_page_is_fetched_on_the_syncs_thread() -> None:
    """Nothing to overlap it with: a one-page partition starts no prefetch thread at all."""
    stream = _stream(max_concurrent_requests=4)
    threads: list[str] = []

    def answer(request: t.Any, context: t.Any) -> dict:
        threads.append(threading.current_thread().name)
        return {"data": [{"id": 1}]}

    with requests_mock.Mocker() as mock:
        mock.get(URL, json=answer)
        before = {thread.name for thread in threading.enumerate()}
        assert [r["id"] for r in stream.get_records(None)] == [1]
        started = {thread.name for thread in threading.enumerate()} - before
    assert threads == [threading.current_thread().name]
    assert not any(name.startswith("prefetch-") for name in started)


def test_a_prefetched_request_fails_where_the_sdk_would_have_made_it() -> None:
    stream = _stream(max_retries=0)
    with requests_mock.Mocker() as mock:
        mock.get(URL, [_page([1, 2], "p2"), {"status_code": 400, "json": {"error": "bad"}}])
        records = iter(stream.get_records(None))
        assert [next(records), next(records)] == [{"id": 1}, {"id": 2}]
        with pytest.raises(FatalAPIError):
            next(records)


def test_the_environment_is_read_once_where_no_proxy_is_set(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/bundle.pem")
    session = _stream().requests_session
    assert session.trust_env is False
    assert session.verify == "/etc/ssl/bundle.pem"


def test_a_configured_proxy_keeps_the_per_request_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.test:3128")
    monkeypatch.setenv("NO_PROXY", "api.example.test")
    session = _stream().requests_session
    assert session.trust_env is True


def test_a_sync_settles_the_garbage_collector(capsys: pytest.CaptureFixture[str]) -> None:
    before = gc.get_threshold()
    stream = _stream()
    try:
        with requests_mock.Mocker() as mock:
            mock.get(URL, [_page([1, 2])])
            stream._tap.sync_all()
        assert gc.get_threshold()[0] == 50_000
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
    assert '"type":"RECORD"' in capsys.readouterr().out


# request_records: a single page parsed as it is read, a response let go once parsed ------

def _counting_stream(*, single_page: bool) -> tuple[Things, list[int]]:
    """The demo stream, paging by cursor or reading one page, noting each record parsed."""
    stream = _stream()
    produced: list[int] = []
    if single_page:
        stream.get_new_paginator = SinglePagePaginator  # type: ignore[method-assign,assignment]
    parse = stream.parse_response

    def parse_counting(response: requests.Response) -> t.Iterator[dict]:
        for record in parse(response):
            produced.append(record["id"])
            yield record

    stream.parse_response = parse_counting  # type: ignore[method-assign]
    return stream, produced


def test_a_single_page_is_parsed_as_its_records_are_taken() -> None:
    stream, produced = _counting_stream(single_page=True)
    with requests_mock.Mocker() as mock:
        mock.get(URL, json={"data": [{"id": i} for i in range(5)]})
        records = iter(stream.get_records(None))
        assert next(records) == {"id": 0}
        assert produced == [0]
        assert [record["id"] for record in records] == [1, 2, 3, 4]


@pytest.mark.parametrize("single_page", [True, False])
def test_the_response_is_let_go_once_its_page_is_parsed(single_page: bool) -> None:
    stream, _ = _counting_stream(single_page=single_page)
    responses: list[weakref.ref] = []
    original = stream.validate_response

    def validate(response: requests.Response) -> None:
        responses.append(weakref.ref(response))
        original(response)

    stream.validate_response = validate  # type: ignore[method-assign]
    with requests_mock.Mocker() as mock:
        mock.get(URL, [{"json": {"data": [{"id": 1}, {"id": 2}], "next": "p2"}},
                       {"json": {"data": [{"id": 3}]}}])
        records = iter(stream.get_records(None))
        assert next(records) == {"id": 1}
        if single_page:  # still parsing it: the parser has it
            assert responses[0]() is not None
        assert next(records) == {"id": 2}
        gc.collect()
        if not single_page:
            assert responses[0]() is None, "page 1's response is held while it is written"
        assert [record["id"] for record in records] == ([] if single_page else [3])
    gc.collect()
    assert responses[0]() is None


def _gated(stream: Things) -> tuple[list[dict], list[float]]:
    """The stream's records, read with a body gate set (as on a read-ahead worker).

    The gate notes when it was called, in seconds from the start.
    """
    calls: list[float] = []
    started = time.monotonic()

    class Pool:
        def wait_for_room(self, index: int) -> None:
            calls.append(time.monotonic() - started)

    token = prefetch._slot.set(prefetch._Slot(t.cast("t.Any", Pool()), 0))
    try:
        return list(stream.get_records(None)), calls
    finally:
        prefetch._slot.reset(token)


def test_an_answer_read_ahead_waits_for_room_with_its_body_unread() -> None:
    # The server sends the headers at once and the body 0.5 s later: the gate runs in
    # between, so a body waiting for room stays in the socket, not in memory.
    body = b'{"data": [{"id": 1}]}'
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                               b"Content-Length: %d\r\n\r\n" % len(body))
            time.sleep(0.5)
            connection.sendall(body)

    threading.Thread(target=serve, daemon=True).start()
    stream = _stream(api_url=f"http://127.0.0.1:{listener.getsockname()[1]}/v1",
                     max_concurrent_requests=1)
    records, calls = _gated(stream)
    listener.close()
    assert records == [{"id": 1}]
    assert len(calls) == 1
    assert calls[0] < 0.4


def test_only_a_successful_answer_waits_for_room() -> None:
    stream = _stream(max_concurrent_requests=1)
    with requests_mock.Mocker() as m:
        m.get(URL, [{"status_code": 502, "text": "bad gateway"},
                    {"status_code": 429, "text": "slow down", "headers": {"Retry-After": "0"}},
                    _page([1])])
        records, calls = _gated(stream)
    assert records == [{"id": 1}]
    assert len(calls) == 1  # the 502 and the 429 are retried at once, not held
