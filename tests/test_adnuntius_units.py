"""Unit tests of the shared pieces tap-adnuntius brought: pages.py, timestamps.py, days.py."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import requests
from singer_sdk.streams.rest import HTTPRequest

from taps.shared.days import check_half_hours, day_windows, load_zone, local_midnight
from taps.shared.pages import PageNumberPaginator, PageShortfallError
from taps.shared.timestamps import iso_utc, to_datetime


def page(results: list, **envelope: object) -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response._content = json.dumps({**envelope, "results": results}).encode()
    response.request = requests.Request("GET", "http://x/api/v1/lineitems?page=0").prepare()
    return response


def ids(*numbers: int) -> list[dict]:
    return [{"id": f"id{n}"} for n in numbers]


def walk(paginator: PageNumberPaginator, pages: list[requests.Response]) -> list[int]:
    """Page numbers requested until the paginator finishes."""
    asked = []
    for response in pages:
        asked.append(paginator.current_value)
        paginator.advance(response)
        if paginator.finished:
            break
    return asked


@pytest.mark.parametrize("base", [0, 1])
def test_short_page_ends_and_total_matches(base: int) -> None:
    paginator = PageNumberPaginator(page_base=base, page_size=2)
    pages = [page(ids(1, 2), totalCount=5), page(ids(3, 4), totalCount=5),
             page(ids(5), totalCount=5)]
    assert walk(paginator, pages) == [base, base + 1, base + 2]
    assert paginator.finished
    assert paginator.end_reason in {"a short page", "the total count reached"}


def test_empty_page_ends_without_total() -> None:
    paginator = PageNumberPaginator(page_base=0, page_size=2)
    assert walk(paginator, [page(ids(1, 2)), page([])]) == [0, 1]
    assert paginator.end_reason == "an empty page"


def test_page_without_new_ids_ends() -> None:
    paginator = PageNumberPaginator(page_base=0, page_size=2)
    walk(paginator, [page(ids(1, 2)), page(ids(1, 2))])
    assert paginator.finished
    assert paginator.end_reason == "a page without new records"


def test_everything_in_one_page_ends_on_the_total() -> None:
    paginator = PageNumberPaginator(page_base=0, page_size=2)
    assert walk(paginator, [page(ids(1, 2, 3, 4, 5), totalCount=5)]) == [0]
    assert paginator.end_reason == "the total count reached"


def test_everything_in_one_page_without_total_ends_on_the_repeat() -> None:
    paginator = PageNumberPaginator(page_base=0, page_size=2)
    all_ids = ids(1, 2, 3)
    assert walk(paginator, [page(all_ids), page(all_ids)]) == [0, 1]


def test_shortfall_names_page_base() -> None:
    # A 1-based server asked for page 0 answers page 1, then page 1 again: no new ids.
    paginator = PageNumberPaginator(page_base=0, page_size=2)
    with pytest.raises(PageShortfallError, match=r"page_base.*now 0; try 1"):
        walk(paginator, [page(ids(1, 2), totalCount=5), page(ids(1, 2), totalCount=5)])


def test_server_capped_page_size_is_not_a_short_page() -> None:
    paginator = PageNumberPaginator(page_base=0, page_size=10)
    walk(paginator, [page(ids(1, 2), pageSize=2, totalCount=3), page(ids(3), pageSize=2)])
    assert paginator.page_size == 2
    assert len(paginator.ids) == 3


def test_page_fields_in_query_or_json_body() -> None:
    query = PageNumberPaginator(page_base=1, page_size=50)
    request = query.apply(HTTPRequest(url="http://x", params={"a": 1}), None)
    assert request.params == {"a": 1, "page": 1, "pageSize": 50}
    body = PageNumberPaginator(page_base=1, page_size=50, in_body=True, page_param="pageNo",
                               size_param="noOfEntries")
    request = body.apply(HTTPRequest(url="http://x", data={"q": "x"}), 3)
    assert request.data == {"q": "x", "pageNo": 3, "noOfEntries": 50}
    assert request.params == {}


@pytest.mark.parametrize(("value", "expected"), [
    ("2015-01-01T01:00Z", "2015-01-01T01:00:00.000Z"),
    ("2016-01-01T10:20:30Z", "2016-01-01T10:20:30.000Z"),
    ("2017-10-24T11:07:41.041Z", "2017-10-24T11:07:41.041Z"),
    ("2017-10-24T11:07:41.041123456Z", "2017-10-24T11:07:41.041123Z"),
    ("2020-02-02T23:00:00.000+01:00", "2020-02-02T22:00:00.000Z"),
    ("2020-02-02T23:00:00-0530", "2020-02-03T04:30:00.000Z"),
    ("2020-02-02 23:00:00", "2020-02-02T23:00:00.000Z"),
    ("2020-02-02", "2020-02-02T00:00:00.000Z"),
    (1_700_000_000, "2023-11-14T22:13:20.000Z"),
    (1_700_000_000_123, "2023-11-14T22:13:20.123Z"),
    ("1700000000.5", "2023-11-14T22:13:20.500Z"),
    (Decimal("1700000000123"), "2023-11-14T22:13:20.123Z"),
    (0, "1970-01-01T00:00:00.000Z"),
    (None, None),
    ("", None),
])
def test_iso_utc(value: object, expected: str | None) -> None:
    assert iso_utc(value) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["yesterday", "2020-13-01", True])
def test_unreadable_timestamps_raise(value: object) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        to_datetime(value)  # type: ignore[arg-type]


def test_day_windows_follow_dst() -> None:
    oslo = ZoneInfo("Europe/Oslo")
    windows = day_windows(dt.date(2026, 3, 28), dt.date(2026, 3, 30), oslo)
    hours = [(w.end - w.start).total_seconds() / 3600 for w in windows]
    assert hours == [24, 23, 24]  # 29 March 2026: clocks go forward
    assert windows[0].start == dt.datetime(2026, 3, 27, 23, tzinfo=dt.timezone.utc)
    autumn = day_windows(dt.date(2026, 10, 25), dt.date(2026, 10, 25), oslo)[0]
    assert (autumn.end - autumn.start) == dt.timedelta(hours=25)
    for a, b in zip(windows, windows[1:]):
        assert a.end == b.start


def test_skipped_midnight_starts_at_the_first_existing_instant() -> None:
    # Santiago skipped 00:00-01:00 on 2022-09-11 (UTC-4 -> UTC-3).
    start = local_midnight(dt.date(2022, 9, 11), ZoneInfo("America/Santiago"))
    assert start == dt.datetime(2022, 9, 11, 4, tzinfo=dt.timezone.utc)


def test_zones_off_the_half_hour_are_rejected() -> None:
    kathmandu = ZoneInfo("Asia/Kathmandu")  # UTC+05:45
    with pytest.raises(ValueError, match=r"report_timezone.*half hour"):
        check_half_hours(day_windows(dt.date(2026, 1, 1), dt.date(2026, 1, 2), kathmandu),
                         kathmandu)
    kolkata = ZoneInfo("Asia/Kolkata")  # UTC+05:30 is fine
    check_half_hours(day_windows(dt.date(2026, 1, 1), dt.date(2026, 1, 2), kolkata), kolkata)


def test_unknown_zone_names_the_setting() -> None:
    with pytest.raises(ValueError, match="report_timezone"):
        load_zone("Mars/Olympus")
