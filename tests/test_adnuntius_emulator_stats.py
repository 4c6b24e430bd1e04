"""The Adnuntius emulator's /v1/stats and its control endpoints (counts, mutate, scale)."""

from __future__ import annotations

import datetime as dt
import json
import time
import typing as t
from decimal import Decimal

import pytest
import requests

from emulators.process import EmulatorProcess

ALL_STATES = {"includeActive": "true", "includeInactive": "true", "includeHidden": "true"}
INTS = ("impressions", "rendered", "visibles", "viewables", "clicks", "uniqueUsers")
NESTED = {"groupBy": "ORDER", "aggregateTo": "LINE_ITEM", "all": "lineItem"}


@pytest.fixture(scope="module")
def emu() -> t.Iterator[EmulatorProcess]:
    with EmulatorProcess("adnuntius", "--seed", "6", "--scale", "80",
                         "--rate-limit", "100000/1") as emulator:
        yield emulator


def stats(emu: EmulatorProcess, start: dt.datetime, end: dt.datetime, **params: str) -> dict:
    response = requests.get(emu.base_url + "/v1/stats", params={
        "context": emu.tap_config["network"], "startDate": _iso(start), "endDate": _iso(end),
        **params}, headers={"Authorization": f"Bearer {emu.tap_config['api_key']}"}, timeout=30)
    assert response.status_code == 200, response.text
    return json.loads(response.text, parse_float=Decimal)


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def first_day(emu: EmulatorProcess) -> dt.datetime:
    return dt.datetime.fromisoformat(emu.tap_config["start_date"].replace("Z", "+00:00"))


def _sum(chunks: list[dict], name: str) -> t.Any:
    if name == "cost":
        return sum((c["cost"]["amount"] for c in chunks), Decimal(0))
    return sum(c[name] for c in chunks)


def line_item_chunks(body: dict) -> list[dict]:
    return [inner for outer in body["chunks"] for inner in outer["chunks"]]


def test_nested_shape_and_totals_agree(emu: EmulatorProcess) -> None:
    start = first_day(emu)
    body = stats(emu, start, start + dt.timedelta(days=10), **NESTED)
    assert body["chunks"], "some line items deliver in the first ten days"
    for outer in body["chunks"]:
        assert set(outer) == {"order", "chunks", "totals"}
        assert {"id", "name", "labels", "source", "url"} <= set(outer["order"])
        for name in (*INTS, "cost"):
            assert _sum(outer["chunks"], name) == (outer["totals"][name] if name != "cost"
                                                   else outer["totals"]["cost"]["amount"])
        for inner in outer["chunks"]:
            assert set(inner["lineItem"]) == {"id", "name", "labels", "source", "url"}
            assert inner["impressions"] >= inner["rendered"] >= inner["visibles"] \
                >= inner["viewables"]
            assert 0 <= inner["ctr"] < 1
            assert inner["cost"]["currency"] == "NOK"
    items = line_item_chunks(body)
    for name in INTS:
        assert _sum(items, name) == body["totals"][name]
    assert _sum(items, "cost") == body["totals"]["cost"]["amount"]


def test_flat_shape_matches_the_nested_one(emu: EmulatorProcess) -> None:
    start = first_day(emu) + dt.timedelta(days=3)
    end = start + dt.timedelta(days=2)
    nested = stats(emu, start, end, **NESTED)
    flat = stats(emu, start, end, groupBy="LINE_ITEM", all="lineItem")
    assert all(set(c) - set(INTS) >= {"lineItem", "cost", "eCpm"} for c in flat["chunks"])
    assert {c["lineItem"]["id"]: c["impressions"] for c in flat["chunks"]} == \
        {c["lineItem"]["id"]: c["impressions"] for c in line_item_chunks(nested)}
    assert flat["totals"] == nested["totals"]
    by_order = stats(emu, start, end, groupBy="ORDER")
    assert [c["order"]["id"] for c in by_order["chunks"]] == \
        [c["order"]["id"] for c in nested["chunks"]]


def test_a_window_is_the_sum_of_its_days_and_half_hours(emu: EmulatorProcess) -> None:
    start = first_day(emu) + dt.timedelta(days=5)
    whole = stats(emu, start, start + dt.timedelta(days=3), **NESTED)["totals"]
    days = [stats(emu, start + dt.timedelta(days=k), start + dt.timedelta(days=k + 1),
                  **NESTED)["totals"] for k in range(3)]
    for name in INTS:
        assert whole[name] == sum(d[name] for d in days)
    assert whole["cost"]["amount"] == sum(d["cost"]["amount"] for d in days)
    hour = start + dt.timedelta(hours=19)
    halves = [stats(emu, hour + dt.timedelta(minutes=30 * k),
                    hour + dt.timedelta(minutes=30 * (k + 1)), **NESTED)["totals"]
              for k in range(2)]
    joined = stats(emu, hour, hour + dt.timedelta(hours=1), **NESTED)["totals"]
    assert joined["impressions"] == halves[0]["impressions"] + halves[1]["impressions"]


def test_daily_grouping_and_order_filter(emu: EmulatorProcess) -> None:
    start = first_day(emu) + dt.timedelta(days=1)
    end = start + dt.timedelta(days=7)
    nested = stats(emu, start, end, **NESTED)
    order = nested["chunks"][0]
    daily = stats(emu, start, end, groupBy="daily", orderId=order["order"]["id"],
                  currency="NOK")
    assert daily["totals"]["impressions"] == order["totals"]["impressions"]
    assert all({"startDate", "endDate", "impressions"} <= set(c) for c in daily["chunks"])
    assert sum(c["impressions"] for c in daily["chunks"]) == daily["totals"]["impressions"]
    ranged = stats(emu, start, end, groupBy="daily", includeChunkRange="true")
    assert len(ranged["chunks"]) == 7
    assert ranged["totals"]["impressions"] == nested["totals"]["impressions"]
    euro = stats(emu, start, end, groupBy="daily", currency="EUR")
    assert euro["totals"]["cost"]["currency"] == "EUR"
    assert euro["totals"]["cost"]["amount"] < ranged["totals"]["cost"]["amount"]


def test_stats_are_deterministic_per_seed() -> None:
    def sample(seed: str) -> dict:
        with EmulatorProcess("adnuntius", "--seed", seed, "--scale", "30") as emulator:
            start = first_day(emulator)
            return stats(emulator, start, start + dt.timedelta(days=4), **NESTED)
    assert sample("9") == sample("9")
    assert sample("9") != sample("10")


def test_bad_stats_requests_get_translatable_400s(emu: EmulatorProcess) -> None:
    url, hdrs = emu.base_url + "/v1/stats", {"Authorization": f"Bearer {emu.tap_config['api_key']}"}
    for params in ({}, {"startDate": "yesterday", "endDate": "2026-01-01T00:00:00Z"},
                   {"startDate": "2026-01-02T00:00:00Z", "endDate": "2026-01-01T00:00:00Z"},
                   {"startDate": "2026-01-01T00:00:00Z", "endDate": "2026-01-02T00:00:00Z",
                    "currency": "XYZ"}):
        response = requests.get(url, params={"context": "acme_media", **params}, headers=hdrs,
                                timeout=5)
        assert response.status_code == 400
        assert set(response.json()) == {"type", "code", "text", "params"}


# Counts and mutations ---------------------------------------------------------------------

def _list_all(emu: EmulatorProcess, path: str) -> list[dict]:
    records, page = [], 0
    while True:
        body = requests.get(emu.base_url + f"/v1/{path}", params={
            "context": "acme_media", "page": page, "pageSize": 50, **ALL_STATES},
            headers={"Authorization": f"Bearer {emu.tap_config['api_key']}"}, timeout=10).json()
        records += body["results"]
        if len(body["results"]) < 50:
            return records
        page += 1


PATHS = {"advertisers": "advertisers", "orders": "orders", "line_items": "lineitems",
         "creatives": "creatives", "sites": "sites", "ad_units": "adunits",
         "earnings_accounts": "earningsaccounts", "site_groups": "sitegroups", "teams": "teams",
         "tiers": "tiers", "users": "users", "segments": "segments"}


def test_counts_cover_every_stream_and_match_a_sync(emu: EmulatorProcess) -> None:
    counts = emu.counts()
    assert set(counts) == {*PATHS, "line_item_daily_stats"}
    for stream, path in PATHS.items():
        assert len({r["id"] for r in _list_all(emu, path)}) == counts[stream], stream
    day, today = first_day(emu), dt.datetime.now(dt.timezone.utc)
    pairs = 0
    while day <= today:
        pairs += len(line_item_chunks(stats(emu, day, day + dt.timedelta(days=1), **NESTED)))
        day += dt.timedelta(days=1)
    assert pairs == counts["line_item_daily_stats"] > 0


def test_mutate_touches_hides_and_adds() -> None:
    with EmulatorProcess("adnuntius", "--scale", "40", "--rate-limit", "100000/1") as emulator:
        before = emulator.counts()
        old = {r["id"]: r for r in _list_all(emulator, "lineitems")}
        moment = time.time()
        result = emulator.mutate(4)
        assert result["counts"] == {k: v + 4 if k != "line_item_daily_stats" else v
                                    for k, v in before.items()}
        after = {r["id"]: r for r in _list_all(emulator, "lineitems")}
        assert len(after) == len(old) + 4
        stamp = dt.datetime.fromisoformat(
            max(r["updateTime"] for r in after.values()).replace("Z", "+00:00")).timestamp()
        assert stamp >= moment - 1
        touched = [i for i in old if after[i]["updateTime"] != old[i]["updateTime"]]
        assert len(touched) == 4
        assert sum(after[i]["objectState"] == "HIDDEN" and old[i]["objectState"] != "HIDDEN"
                   for i in touched) <= 2
        assert sum(after[i]["name"].endswith("(edited)") for i in touched) == 2
        added = [r for i, r in after.items() if i not in old]
        assert sum(r["objectState"] == "HIDDEN" for r in added) == 1
        # Added line items deliver nothing today, as /counts assumes.
        today = dt.datetime.now(dt.timezone.utc).replace(hour=0, minute=0, second=0,
                                                         microsecond=0)
        delivered = {c["lineItem"]["id"] for c in line_item_chunks(
            stats(emulator, today, today + dt.timedelta(days=1), **NESTED, includeAll="true"))
            if c["impressions"] > 0}
        assert not delivered & {r["id"] for r in added}


def test_a_hundred_thousand_line_items_start_and_page_at_once() -> None:
    started = time.monotonic()
    with EmulatorProcess("adnuntius", "--scale", "100000", "--rate-limit", "100000/1") as emu:
        counts = emu.counts()
        hdrs = {"Authorization": f"Bearer {emu.tap_config['api_key']}"}
        page = requests.get(emu.base_url + "/v1/lineitems", params={
            "context": "acme_media", "page": 150, "pageSize": 500, **ALL_STATES},
            headers=hdrs, timeout=10).json()
    assert time.monotonic() - started < 10
    assert counts["line_items"] == 100_000
    assert len(page["results"]) == 500


@pytest.mark.parametrize(("path", "params", "status"), [
    ("/v1/lineitems", {"page": "abc"}, 400),
    ("/v1/lineitems", {"pageSize": "0"}, 400),
    ("/v1/lineitems", {"where": "name"}, 400),
    ("/v1/lineitems", {"where": "updateTime>garbage"}, 400),
    ("/v1/lineitems", {"where": "objectives.IMPRESSION>=10000"}, 200),
    ("/v1/lineitems", {"orderBy": "name", "orderByDirection": "SIDEWAYS"}, 400),
    ("/v1/lineitems", {"id": "\u00fc;;;"}, 200),
    ("/v1/users/zz", {}, 404),
    ("/v1/stats", {"startDate": "2026-01-01", "endDate": "2026-01-02", "groupBy": "CREATIVE"}, 400),
    ("/v1/stats", {"startDate": "0001-01-01", "endDate": "9999-12-31"}, 400),
    ("/v1/stats", {"startDate": "2016-01-01", "endDate": "2025-12-31", "groupBy": "daily",
                   "includeChunkRange": "true", "orderId": "nosuch"}, 200),
])
def test_odd_requests_get_vendor_errors_never_500(emu: EmulatorProcess, path: str,
                                                  params: dict[str, str], status: int) -> None:
    response = requests.get(emu.base_url + path, params={"context": "acme_media", **params},
                            headers={"Authorization": f"Bearer {emu.tap_config['api_key']}"},
                            timeout=30)
    assert response.status_code == status
    if status != 200:
        assert set(response.json()) == {"type", "code", "text", "params"}
