"""line_item_daily_stats reads a large day in bounded memory, with the same records as ever.

A day is one answer (12 MB of JSON at 60,000 line items, about five times that as Python
dicts): its chunks stay undecoded slices of the body until their records are taken, and a
single page is parsed as its records are taken, never held all at once.
"""

from __future__ import annotations

import datetime as dt
import decimal
import gc
import json
import re
import tracemalloc
import typing as t

import msgspec
import pytest
import requests
import requests_mock

from taps.adnuntius.tap import TapAdnuntius
from taps.shared.body import decode_list_lazily, decoded_body, decoded_item
from taps.shared.stream import BadBodyError

STATS = re.compile(r".*/api/v1/stats.*")
LINE_ITEMS = 20_000


def _money(amount: str) -> str:
    return f'{{"currency":"NOK","amount":{amount}}}'


def stats_answer(line_items: int, per_order: int = 3) -> bytes:
    """A nested ``groupBy=ORDER`` answer shaped like Adnuntius's (and the emulator's)."""
    orders = []
    for first in range(0, line_items, per_order):
        chunks = []
        for number in range(first, min(first + per_order, line_items)):
            chunks.append(
                f'{{"lineItem":{{"id":"li-{number:012d}","name":"Line item #{number} - '
                f'Sticky Bottom","labels":[],"source":"DIRECT","url":"/api/v1/lineitems/'
                f'li-{number:012d}"}},"impressions":{1000 + number},"rendered":{990 + number},'
                f'"visibles":{900 + number},"viewables":{800 + number},"clicks":{number % 97},'
                f'"uniqueUsers":{500 + number},"ctr":0.0{number % 89 + 10},"visibility":0.9'
                f'{number},"viewability":0.8{number},"impressionsPerUniqueUser":1.{number},'
                f'"cost":{_money(f"{number}.12345678")},"eCpm":{_money(f"2{number}.0990")}}}')
        orders.append(
            f'{{"order":{{"id":"or-{first:012d}","name":"Order {first}","labels":["q1"],'
            f'"source":"DIRECT","url":"/api/v1/orders/or-{first:012d}"}},"totals":'
            f'{{"impressions":{first}}},"chunks":[{",".join(chunks)}]}}')
    return (f'{{"chunks":[{",".join(orders)}],"totals":{{"impressions":1,'
            f'"cost":{_money("1.50")}}}}}').encode()


def stats_stream(**extra: t.Any) -> t.Any:
    """The tap's line_item_daily_stats stream, reading today only (one request)."""
    today = dt.datetime.now(dt.timezone.utc).date()
    tap = TapAdnuntius(config={"api_url": "https://adn.example.test/api", "network": "acme",
                               "api_key": "adn-key-0123456789abcdef",
                               "start_date": f"{today}T00:00:00Z", **extra},
                       validate_config=True)
    return tap.streams["line_item_daily_stats"]


def answer(content: bytes, status: int = 200) -> requests.Response:
    """A stats response as the SDK hands it to ``validate_response``."""
    response = requests.Response()
    response.status_code = status
    response._content = content  # as requests keeps a body it has read
    response.request = requests.Request("GET", "https://adn.example.test/api/v1/stats").prepare()
    return response


def parsed(stream: t.Any, response: requests.Response) -> list[dict]:
    """The records of one day's answer."""
    window = stream.windows(None)[-1]
    stream.current_window = window
    try:
        stream.validate_response(response)
        return list(stream.parse_response(response))
    finally:
        stream.current_window = None


def test_a_large_answer_is_read_in_memory_far_below_its_decoded_size() -> None:
    """Records taken in pages of 1,000 (as the page path does) never hold the day decoded."""
    content = stats_answer(LINE_ITEMS)
    stream = stats_stream(max_concurrent_requests=4)
    validate = stream.validate_response

    def downloaded(response: requests.Response) -> None:
        tracemalloc.reset_peak()  # from here on: the body, and what it is parsed into
        validate(response)

    stream.validate_response = downloaded
    with requests_mock.Mocker() as mock:
        mock.get(STATS, content=content)
        gc.collect()
        tracemalloc.start()
        try:
            page: list[dict] = []
            count = 0
            for record in stream.get_records(None):
                page.append(record)
                if len(page) == 1000:
                    count += len(page)
                    page = []
            count += len(page)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert count == LINE_ITEMS
    # The body itself is part of the peak (1.6 times its size here); decoded whole, the
    # day took more than six times its size.
    assert peak < 3 * len(content), f"peak {peak / 2**20:.1f} MiB for {len(content)} bytes"


def test_the_chunks_are_decoded_only_as_their_records_are_taken() -> None:
    content = stats_answer(30)
    response = answer(content)
    stream = stats_stream()
    stream.current_window = stream.windows(None)[-1]
    stream.validate_response(response)
    chunks = decoded_body(response)["chunks"]
    assert all(isinstance(chunk, msgspec.Raw) for chunk in chunks)
    assert decoded_body(response)["totals"] == json.loads(content)["totals"]
    records = iter(stream.parse_response(response))
    assert next(records)["line_item_id"] == "li-000000000000"
    assert len(list(records)) == 29
    stream.current_window = None


def test_the_records_are_those_of_the_answer_decoded_whole() -> None:
    content = stats_answer(40, per_order=7)
    stream = stats_stream()
    whole = answer(content)
    decoded_body(whole)  # decoded in full first: the lazy decoding is skipped
    assert not decode_list_lazily(whole, "chunks")
    lazy = answer(content)
    records = parsed(stream, lazy)
    assert len(records) == 40
    assert msgspec.json.encode(records) == msgspec.json.encode(parsed(stream, whole))
    assert isinstance(decoded_body(lazy)["chunks"][0], msgspec.Raw)
    assert not isinstance(decoded_body(whole)["chunks"][0], msgspec.Raw)


@pytest.mark.parametrize("content", [
    b'[{"lineItem": {"id": "a"}}]',  # a bare list: the page itself
    b'{"chunks": {"lineItem": {"id": "a"}}}',  # not a list at chunks
    b'{"chunks": [{"lineItem": {"id": "a"}}], "chunks": 5}',  # the last one counts
    b'{"chunks": [{"lineItem": {"id": "a", "name": "\xff"}}]}',  # invalid UTF-8 in an item
    b'{"chunks": [{"lineItem": {"id": "a"}}]',  # truncated
    b'<html>busy</html>',
])
def test_an_answer_of_another_shape_is_decoded_whole_as_ever(content: bytes) -> None:
    """Nothing is set: ``decoded_body`` decodes (or rejects) it exactly as before."""
    response = answer(content)
    assert not decode_list_lazily(response, "chunks")
    try:
        expected: t.Any = msgspec.json.decode(content)
    except msgspec.DecodeError as exc:
        with pytest.raises(msgspec.DecodeError, match=re.escape(str(exc))):
            decoded_body(response)
    else:
        assert decoded_body(response) == expected


def test_an_item_that_is_not_valid_utf8_is_still_a_bad_body() -> None:
    stream = stats_stream()
    with pytest.raises(BadBodyError, match="not JSON"):
        parsed(stream, answer(b'{"chunks": [{"lineItem": {"id": "\xff"}}]}'))


def test_decoded_items_keep_exact_decimals() -> None:
    response = answer(b'{"chunks": [{"a": 1.50, "b": 2, "c": [0.1e1]}, "x", null]}')
    assert decode_list_lazily(response, "chunks")
    items = [decoded_item(item) for item in decoded_body(response)["chunks"]]
    assert repr(items) == repr([{"a": decimal.Decimal("1.50"), "b": 2,
                                 "c": [decimal.Decimal("0.1e1")]}, "x", None])
