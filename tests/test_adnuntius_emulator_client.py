"""The vendor's own Python client (``adnuntius`` 1.27.0, unchanged) against the emulator.

Paging follows the client's example ``test/example_query.py``: pages from 1, ``pageSize``
25, ``while (page - 1) * pageSize < totalCount`` -- so this emulator runs ``--page-base 1``.
"""

from __future__ import annotations

import datetime as dt
import time
import typing as t

import pytest

adnuntius_api = pytest.importorskip("adnuntius.api")
adnuntius_util = pytest.importorskip("adnuntius.util")

from emulators.process import EmulatorProcess  # noqa: E402

TTL = 3


@pytest.fixture(scope="module")
def emu() -> t.Iterator[EmulatorProcess]:
    with EmulatorProcess("adnuntius", "--seed", "3", "--scale", "400", "--page-base", "1",
                         "--token-ttl", str(TTL), "--rate-limit", "100000/1") as emulator:
        yield emulator


def password_api(emu: EmulatorProcess) -> t.Any:
    creds = emu.auth["password"]
    return adnuntius_api.Api(creds["username"], creds["password"], emu.base_url,
                             context=emu.tap_config["network"])


def page_like_the_example(client: t.Any) -> tuple[list[dict], int]:
    page, page_size, total_count, results = 1, 25, None, []
    while total_count is None or (page - 1) * page_size < total_count:
        query_result = client.query({"page": page, "pageSize": page_size})
        if total_count is None:
            total_count = query_result["totalCount"]
        results += query_result["results"]
        page += 1
    return results, total_count


def test_password_login_and_paging_through_three_resources(emu: EmulatorProcess) -> None:
    api = password_api(emu)
    for client in (api.line_items, api.orders, api.advertisers):
        results, total = page_like_the_example(client)
        ids = [r["id"] for r in results]
        assert len(ids) == total == len(set(ids)) > 25
        assert all(r["objectState"] != "HIDDEN" for r in results)
    assert api.refresh_token
    assert api.authorisation["Authorization"].startswith("Bearer ")


def test_get_and_exists(emu: EmulatorProcess) -> None:
    api = password_api(emu)
    first = api.line_items.query({"page": 1, "pageSize": 25})["results"][0]
    assert api.line_items.get(first["id"]) == first
    assert api.line_items.exists(first["id"]) is True
    assert api.line_items.exists("doesnotexist1234") is False  # HEAD 404, OPTIONS probe 200
    with pytest.raises(RuntimeError, match="404"):
        api.api_client("nosuchendpoint").exists("abc")  # the probe 404s: endpoint missing
    with pytest.raises(RuntimeError, match="404"):
        api.orders.get("doesnotexist1234")


def test_daily_stats_per_order_like_the_example(emu: EmulatorProcess) -> None:
    api = password_api(emu)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    orders, _ = page_like_the_example(api.orders)
    seen = 0
    for order in orders[:10]:
        stats = api.stats.query(args={
            "orderId": order["id"],
            "startDate": adnuntius_util.date_to_string(
                adnuntius_util.half_hour(now - dt.timedelta(days=7))),
            "endDate": adnuntius_util.date_to_string(adnuntius_util.half_hour_round_up(now)),
            "currency": "NOK", "groupBy": "daily"})
        impressions = stats["totals"]["impressions"]
        assert impressions == sum(c["impressions"] for c in stats["chunks"])
        seen += impressions
    assert seen > 0


def test_refresh_after_the_patched_safe_age_rotates_tokens(emu: EmulatorProcess,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    api = password_api(emu)
    api.tiers.query({"page": 1, "pageSize": 25})
    logins = emu.stats()["by_path"].get("/api/authenticate", 0)
    first_refresh, first_access = api.refresh_token, api.authorisation["Authorization"]
    # The client refreshes after AUTH_TOKEN_SAFE_EXPIRY_IN_SECS (3000 s); shorten it to 1 s.
    monkeypatch.setattr(adnuntius_api, "AUTH_TOKEN_SAFE_EXPIRY_IN_SECS", 1)
    time.sleep(TTL + 0.3)  # the first access token has expired on the server by now
    assert api.tiers.query({"page": 1, "pageSize": 25})["totalCount"] > 0
    assert api.refresh_token != first_refresh
    assert api.authorisation["Authorization"] != first_access
    second_refresh = api.refresh_token
    time.sleep(1.2)
    assert api.teams.query({"page": 1, "pageSize": 25})["results"]
    assert api.refresh_token not in {first_refresh, second_refresh}
    assert emu.stats()["by_path"]["/api/authenticate"] == logins + 2  # two refreshes, no login


def test_api_key_and_two_factor_users(emu: EmulatorProcess) -> None:
    keyed = adnuntius_api.Api(None, None, emu.base_url, api_key=emu.tap_config["api_key"],
                              context=emu.tap_config["network"])
    assert keyed.segments.query({"page": 1, "pageSize": 25})["results"]
    creds = emu.auth["two_factor"]
    stepped = adnuntius_api.Api(creds["username"], creds["password"], emu.base_url,
                                context=emu.tap_config["network"])
    with pytest.raises(RuntimeError, match="2FA setup failure"):
        stepped.sites.query({"page": 1, "pageSize": 25})
    stepped.two_factor_code_provider = lambda: creds["code"]
    assert stepped.sites.query({"page": 1, "pageSize": 25})["results"]
