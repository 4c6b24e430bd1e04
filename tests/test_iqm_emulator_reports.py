"""The IQM emulator's reports: the spec's bodies, errors, windows, totals and local days."""

from __future__ import annotations

import datetime as dt
import json
import time
import typing as t
from zoneinfo import ZoneInfo

import pytest

from emulators.iqm.testing import DAY_MS, Client, report_body
from emulators.process import EmulatorProcess

SUMS = ("impressions", "clicks", "spent", "mediaSpent", "dataCost", "reach")


@pytest.fixture(scope="module")
def emu() -> t.Iterator[EmulatorProcess]:
    with EmulatorProcess("iqm", "--seed", "8", "--scale", "60",
                         "--rate-limit", "100000/60") as emulator:
        yield emulator


@pytest.fixture(scope="module")
def client(emu: EmulatorProcess) -> Client:
    return Client(emu)


def today_ms() -> int:
    return int(time.time() // 86400) * DAY_MS


def local_ms(day: dt.date, zone: str) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone)).timestamp()
               * 1000)


def all_rows(client: Client, body: dict[str, t.Any], size: int = 1000) -> tuple[list, dict]:
    rows, page = [], 1
    while True:
        response = client.execute(**{**body, "pageNo": page, "noOfEntries": size})
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        rows += data["data"]
        if not data["data"] or page * size >= data["totalRecords"]:
            assert len(rows) == data["totalRecords"] == data["total"]["totalRecords"]
            return rows, data["total"]
        page += 1


def sums(rows: list[dict[str, t.Any]]) -> dict[str, float]:
    return {k: round(sum(r[k] for r in rows), 4) for k in SUMS}


def totals(total: dict[str, t.Any]) -> dict[str, float]:
    return {k: round(total[k], 4) for k in SUMS}


def test_the_specs_example_body(client: Client) -> None:
    spec = json.loads(json.dumps({  # mcp-reports "Execute Report (By Report Data)"
        "dimensions": "[{\"filter\":\"campaign\"},{\"filter\":\"gender\",\"value\":[10200002]},"
                      "{\"filter\":\"deviceType\",\"value\":[20300001,20300003]}]",
        "columns": ["campaignId", "campaignName", "deviceType", "completeCount", "gender",
                    "startTime", "endTime", "maxBid", "budgetDay", "VCR", "eCPC", "totalECPC",
                    "budgetTotal", "impressions", "clicks", "winRate", "reach"],
        "customerIds": [], "filters": {"creativeTypeIds": [11, 14]}, "searchField": "",
        "requestType": 1, "reportAggregated": "0", "timezoneId": 11, "timezoneName": "UTC",
        "order": "desc", "sortBy": "impressions", "noOfEntries": 50, "pageNo": 1}))
    spec.update(startDate=today_ms() - 30 * DAY_MS, endDate=today_ms() - 1000)
    response = client.execute(**spec)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert set(data) == {"total", "data", "totalRecords"}
    rows = data["data"]
    assert 0 < len(rows) <= 50
    assert {r["gender"] for r in rows} == {"Female"}
    assert {r["deviceType"] for r in rows} <= {"Mobile", "Connected TV"}
    impressions = [r["impressions"] for r in rows]
    assert impressions == sorted(impressions, reverse=True)
    assert all(isinstance(r["campaignId"], int) and len(r["date"]) == 10 for r in rows)
    assert data["total"]["campaignId"] is None
    assert data["total"]["impressions"] > 0


def test_columns_and_other_422s(client: Client) -> None:
    invalid = {"startDate": 1670410001000, "endDate": 1675766802000,  # the spec's sample
               "dimensions": "[{\"filter\":\"campaign\"}]", "requestType": 1}
    response = client.execute(**invalid)
    assert response.status_code == 422
    assert response.json() == {"success": False, "errorObjects": [
        {"error": "Please select columns for report creation", "field": "columns"}]}
    base = report_body(today_ms() - 7 * DAY_MS, today_ms() - 1, ["campaign"])
    for change in ({"columns": ["nope"]}, {"dimensions": "[{\"filter\":\"nope\"}]"},
                   {"dimensions": "campaign"}, {"timezoneId": 99999}, {"sortBy": "-nope"},
                   {"noOfEntries": 1001}, {"endDate": base["startDate"] - 1}):
        answer = client.execute(**{**base, **change})
        assert answer.status_code == 422, change
        assert answer.json()["success"] is False
    assert client.execute(**{**base, "dimensions": [{"filter": "campaign"}]}).status_code == 400


def test_window_limits(client: Client) -> None:
    start = dt.date(2026, 1, 15)
    begin = local_ms(start, "UTC")
    three = local_ms(dt.date(2026, 4, 15), "UTC")
    year = local_ms(dt.date(2027, 1, 15), "UTC")
    gender = report_body(begin, three - 1, ["campaign", "gender"], request_type=2)
    assert client.execute(**gender).status_code == 200
    refused = client.execute(**{**gender, "endDate": three})
    assert refused.status_code == 422
    assert "3 months" in refused.json()["errorObjects"][0]["error"]
    campaign = report_body(begin, year - 1, ["campaign"], request_type=2)
    assert client.execute(**campaign).status_code == 200
    assert client.execute(**{**campaign, "endDate": year}).status_code == 422


def test_daily_report_pages_match_the_counts(emu: EmulatorProcess, client: Client) -> None:
    start = int(dt.datetime.fromisoformat(
        emu.tap_config["start_date"].replace("Z", "+00:00")).timestamp() * 1000)
    body = report_body(start, today_ms() + DAY_MS - 1000, ["campaign"], sort="+campaignId")
    rows, total = all_rows(client, body, size=97)
    keys = [(r["date"], r["campaignId"]) for r in rows]
    assert len(keys) == len(set(keys)) == emu.counts()["campaign_daily_report"]
    assert sums(rows) == totals(total)
    assert all(r["impressions"] > 0 for r in rows)


@pytest.mark.parametrize("dims", [[], ["gender"], ["campaign", "gender"], ["deviceType", "os"],
                                  ["creative"], ["ioName", "country", "state"],
                                  ["creativeType", "age", "income_group"]])
def test_totals_agree_across_dimension_sets_and_buckets(client: Client, dims: list[str]) -> None:
    start, end = today_ms() - 40 * DAY_MS, today_ms() - 1000
    reference = client.execute(**report_body(start, end, ["campaign"], request_type=2))
    want = totals(reference.json()["data"]["total"])
    for request_type in (1, 2, 3, 4):
        rows, total = all_rows(client, report_body(start, end, dims, request_type=request_type,
                                                   sort="+impressions"))
        assert totals(total) == want
        assert sums(rows) == want


def test_totals_add_up_across_windows(client: Client) -> None:
    start, middle, end = (today_ms() - 50 * DAY_MS, today_ms() - 20 * DAY_MS,
                          today_ms() - 1000)
    whole = client.execute(**report_body(start, end, ["gender"], request_type=2))
    first = client.execute(**report_body(start, middle - 1000, ["gender"], request_type=2))
    second = client.execute(**report_body(middle, end, ["gender"], request_type=2))
    parts = [totals(r.json()["data"]["total"]) for r in (first, second)]
    # Each total is rounded to 4 places: the parts' sum may differ from the whole's in the
    # last place (dataCost 2306.9356 against 2306.9357 on one day's data).
    assert totals(whole.json()["data"]["total"]) == pytest.approx(
        {k: parts[0][k] + parts[1][k] for k in SUMS}, abs=1.5e-4, rel=0)


def _dst_day(zone: str) -> dt.date:
    """A day in the last 150 with a DST change in ``zone``."""
    tz = ZoneInfo(zone)
    day = dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=3)
    for _ in range(150):
        nxt = day + dt.timedelta(days=1)
        if dt.datetime(day.year, day.month, day.day, 12, tzinfo=tz).utcoffset() != \
                dt.datetime(nxt.year, nxt.month, nxt.day, 12, tzinfo=tz).utcoffset():
            return nxt
        day -= dt.timedelta(days=1)
    pytest.skip(f"no DST change in {zone} in the last 150 days")


@pytest.mark.parametrize(("zone", "tz_id"), [("US/Eastern", 29), ("Australia/Sydney", 502),
                                             ("Asia/Kolkata", 501)])
def test_local_days_of_the_report_timezone(client: Client, zone: str, tz_id: int) -> None:
    day = _dst_day(zone) if zone != "Asia/Kolkata" else dt.date.today() - dt.timedelta(days=9)
    first, last = day - dt.timedelta(days=2), day + dt.timedelta(days=2)
    start, end = local_ms(first, zone), local_ms(last + dt.timedelta(days=1), zone) - 1000
    rows, _ = all_rows(client, report_body(start, end, [], tz_id=tz_id, tz_name=zone,
                                          sort="+date"))
    by_date = {r["date"]: r for r in rows}
    assert sorted(by_date) == [(first + dt.timedelta(days=k)).isoformat() for k in range(5)]
    lo, hi = local_ms(day, zone), local_ms(day + dt.timedelta(days=1), zone)
    if zone != "Asia/Kolkata":
        assert hi - lo in {23 * 3600_000, 25 * 3600_000}
    exact = client.execute(**report_body(lo, hi - 1000, [], request_type=2)).json()["data"]
    assert by_date[day.isoformat()]["impressions"] == exact["total"]["impressions"]
    shifted = client.execute(**report_body(lo + 3600_000, hi + 3600_000 - 1000, [],
                                           request_type=2)).json()["data"]
    assert shifted["total"]["impressions"] != exact["total"]["impressions"]


def test_metadata_timezones_and_saved_reports(client: Client) -> None:
    meta = client.get("/api/v3/ra/report/dimension-metrics/detail").json()["data"]
    keys = {m["key"] for group in meta["metrics"] for items in group.values() for m in items}
    assert {"impressions", "clicks", "CTR", "spent", "mediaSpent", "dataCost", "eCPM", "eCPC",
            "VCR", "reach", "winRate"} <= keys
    dims = {d["key"] for group in meta["dimensions"] for items in group.values() for d in items}
    assert {"campaign", "campaignId", "gender", "deviceType", "country", "state"} <= dims
    zones = client.get("/api/v3/master/timezones").json()["data"]
    names = {z["name"]: z["id"] for z in zones["data"]}
    assert names["US/Eastern"] == 29
    assert names["UTC"] == 11
    assert zones["totalRecords"] == len(zones["data"])
    saved = client.get("/api/v3/ra/reports/list", pageNo=-1).json()["data"]["data"][0]
    run = client.execute(id=saved["id"], pageNo=1, noOfEntries=10)
    assert run.status_code == 200, run.text
    assert client.execute(id=99999).status_code == 422
