"""The IQM emulator over real sockets: contract, auth, workspace, lists, limits, faults."""

from __future__ import annotations

import http.client
import json
import time
import typing as t
from urllib.parse import urlsplit

import pytest
import requests

from emulators.iqm.testing import Client, basic
from emulators.process import EmulatorProcess

FAST = ("--rate-limit", "100000/60")
#: path, method, list key, page-size field, maximum
LISTS = [
    ("/api/v3/cmp/basic/list", "POST", "data", "noOfEntries", 500, "campaigns"),
    ("/api/v3/cmp/io/basic/list", "POST", "ioBasicDetailsList", "noOfEntries", 1000,
     "insertion_orders"),
    ("/api/v3/crt/creatives/list", "POST", "filteredList", "noOfEntries", 1000, "creatives"),
    ("/api/v3/audience/list", "POST", "audienceList", "noOfEntries", 1000, "audiences"),
    ("/api/v3/conversion/list", "GET", "data", "limit", 1000, "conversions"),
    ("/api/v3/ra/reports/list", "GET", "data", "limit", 1000, "saved_reports"),
]
ID_FIELD = {"data": None, "ioBasicDetailsList": "ioId", "filteredList": "creativeId",
            "audienceList": "audienceId"}


@pytest.fixture(scope="module")
def emu() -> t.Iterator[EmulatorProcess]:
    with EmulatorProcess("iqm", "--seed", "5", "--scale", "120", *FAST) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def client(emu: EmulatorProcess) -> Client:
    return Client(emu)


def call(client: Client, path: str, method: str, size_field: str, page: int, size: int,
         ow_id: t.Any = None) -> requests.Response:
    if method == "GET":
        return client.get(path, ow_id, pageNo=page, **{size_field: size})
    return client.post(path, {"pageNo": page, size_field: size}, ow_id)


def row_id(row: dict[str, t.Any]) -> int:
    return next(row[k] for k in ("campaignId", "ioId", "creativeId", "audienceId", "id")
                if k in row)


# Contract ---------------------------------------------------------------------------------

def test_first_line_and_clean_exit() -> None:
    emulator = EmulatorProcess("iqm", "--seed", "2").start()
    info = emulator.info
    assert set(info) == {"vendor", "base_url", "control_url", "tap_config", "auth"}
    assert info["vendor"] == "iqm"
    assert info["base_url"].startswith("http://127.0.0.1:")
    assert info["control_url"] == info["base_url"] + "/_emulator"
    config = info["tap_config"]
    assert set(config) == {"api_url", "client_id", "client_secret", "username", "password",
                           "start_date", "request_timeout_seconds", "max_requests_per_minute"}
    assert config["api_url"] == info["base_url"]
    assert config["request_timeout_seconds"] == 5
    assert config["max_requests_per_minute"] == 20  # the documented default
    assert {"client", "password", "other_workspace"} <= set(info["auth"])
    assert info["auth"]["password"]["ow_id"] != info["auth"]["other_workspace"]["ow_id"]
    assert Client(emulator).get("/api/v3/cmp/basic/list").status_code == 405
    assert emulator.stop() == 0


def test_same_seed_same_data() -> None:
    rows = []
    for _ in range(2):
        with EmulatorProcess("iqm", "--seed", "9", "--scale", "30", *FAST) as emulator:
            rows.append(Client(emulator).post("/api/v3/cmp/basic/list", {}).json())
    assert rows[0] == rows[1]


# Auth -------------------------------------------------------------------------------------

@pytest.mark.parametrize("form", ["mixed", "enveloped", "raw"])
def test_token_response_forms_and_refresh(form: str) -> None:
    with EmulatorProcess("iqm", "--token-response", form, *FAST) as emulator:
        client = Client(emulator)
        cfg = emulator.tap_config
        login = client.token(grant_type="password", username=cfg["username"],
                             password=cfg["password"]).json()
        refreshed = client.token(grant_type="refresh_token", refresh_token=client.refresh)
        assert refreshed.status_code == 200
        body = refreshed.json()
        enveloped = {"mixed": (True, False), "enveloped": (True, True), "raw": (False, False)}
        assert ("data" in login, "data" in body) == enveloped[form]
        tokens = body.get("data", body)
        assert set(tokens) >= {"access_token", "refresh_token", "expires_in", "token_type",
                               "scope"}
        assert ("owId" in tokens) == (form == "enveloped")
        assert login.get("data", login).get("owId") in (None, 200001)
        assert tokens["refresh_token"] == client.refresh  # the examples repeat it
        client.access = tokens["access_token"]
        assert client.post("/api/v3/cmp/basic/list", {}).status_code == 200


def test_token_errors(emu: EmulatorProcess, client: Client) -> None:
    cfg = emu.tap_config
    url = f"{cfg['api_url']}/api/v3/ua/oauth/token"
    form = {"grant_type": "password", "username": cfg["username"], "password": cfg["password"]}
    assert requests.post(url, data=form, timeout=5).status_code == 401  # no Basic header
    wrong = requests.post(url, data=form, timeout=5,
                          headers={"Authorization": basic(cfg["client_id"], "nope")})
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")
    bad = client.token(**{**form, "password": "nope"})
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_grant")
    assert client.token(grant_type="refresh_token", refresh_token="x").status_code == 400
    assert client.token(grant_type="client_credentials").status_code == 400
    good = requests.post(url, data=form, timeout=5,
                         headers={"Authorization": basic(cfg["client_id"],
                                                         cfg["client_secret"])})
    assert good.status_code == 200


def test_bearer_required_and_expiry_with_token_ttl() -> None:
    with EmulatorProcess("iqm", "--token-ttl", "1", *FAST) as emulator:
        client = Client(emulator)
        assert client.post("/api/v3/cmp/basic/list", {}).status_code == 200
        time.sleep(1.2)
        expired = client.post("/api/v3/cmp/basic/list", {})
        assert expired.status_code == 401
        assert expired.json() == {"success": False, "errorObjects": [{"error": "Invalid token"}]}
        assert requests.post(client.url + "/api/v3/cmp/basic/list", json={},
                             timeout=5).status_code == 401
        client.access = client.token(grant_type="refresh_token",
                                     refresh_token=client.refresh).json()["access_token"]
        assert client.post("/api/v3/cmp/basic/list", {}).status_code == 200


def test_workspace_header_and_403(emu: EmulatorProcess, client: Client) -> None:
    assert client.get("/api/v3/ua/user/ow-id").json() == {"success": True, "data": 200001}
    other = emu.auth["other_workspace"]
    forbidden = {"/api/v3/cmp/basic/list": "Forbidden!", "/api/v3/audience/list": "Forbidden !"}
    for path, text in forbidden.items():
        for ow in (other["ow_id"], "abc"):
            response = client.post(path, {}, ow)
            assert response.status_code == 403
            assert response.json() == {"success": False, "errorObjects": [{"error": text}]}
        no_header = requests.post(client.url + path, json={}, timeout=5,
                                  headers={"Authorization": f"Bearer {client.access}"})
        assert no_header.status_code == 403
    stranger = Client(emu, username=other["username"], password=other["password"])
    assert stranger.ow_id == other["ow_id"]
    assert stranger.post("/api/v3/cmp/basic/list", {}, 200001).status_code == 403
    own = stranger.post("/api/v3/cmp/basic/list", {}).json()
    assert own["data"] == {"data": [], "totalRecords": 0, "filteredRecords": 0}


# Lists ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "method", "key", "size_field", "maximum", "stream"), LISTS)
def test_every_list_pages_to_its_end(emu: EmulatorProcess, client: Client, path: str,
                                     method: str, key: str, size_field: str, maximum: int,
                                     stream: str) -> None:
    size, page, seen, total = 7, 1, [], None
    while True:
        response = call(client, path, method, size_field, page, size)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["success"] is True
        data = body["data"]
        assert set(data) == {key, "totalRecords", "filteredRecords"}
        total = data["totalRecords"]
        seen += [row_id(r) for r in data[key]]
        if page * size >= total:
            break
        assert len(data[key]) == size
        page += 1
    assert len(seen) == len(set(seen)) == total == emu.counts()[stream]
    assert call(client, path, method, size_field, page + 1, size).json()["data"][key] == []
    assert call(client, path, method, size_field, 1, maximum).status_code == 200
    too_big = call(client, path, method, size_field, 1, maximum + 1)
    assert too_big.status_code == 422
    if key == "audienceList":
        assert too_big.json() == {"success": False, "error": {"message": "Invalid page size"}}
    else:
        assert too_big.json()["errorObjects"][0]["error"] == "Invalid page size"


def test_saved_reports_without_pagination_and_default_orders(client: Client) -> None:
    everything = client.get("/api/v3/ra/reports/list", pageNo=-1, limit=1).json()["data"]
    assert len(everything["data"]) == everything["totalRecords"] > 1
    conversions = client.get("/api/v3/conversion/list", limit=1000).json()["data"]["data"]
    created = [r["created"] for r in conversions]
    assert created == sorted(created, reverse=True)  # -created
    assert client.get("/api/v3/conversion/list", sortBy="-nope").status_code == 422
    campaigns = client.post("/api/v3/cmp/basic/list", {"noOfEntries": 500}).json()
    ids = [r["campaignId"] for r in campaigns["data"]["data"]]
    assert ids == sorted(ids)
    desc = client.post("/api/v3/cmp/basic/list", {"sortBy": "-campaignId"}).json()
    assert desc["data"]["data"][0]["campaignId"] == ids[-1]


def test_timestamp_units_follow_the_examples(client: Client) -> None:
    campaign = client.post("/api/v3/cmp/basic/list", {}).json()["data"]["data"][0]
    assert all(campaign[k] < 10**11 for k in ("startTime", "endTime", "createdAt"))  # seconds
    io = client.post("/api/v3/cmp/io/basic/list", {}).json()["data"]["ioBasicDetailsList"][0]
    assert io["ioStartTime"] > 10**12  # milliseconds
    creative = client.post("/api/v3/crt/creatives/list", {}).json()["data"]["filteredList"][0]
    assert creative["createdAt"] > 10**12
    assert creative["modifiedAt"].endswith(".000+00:00")  # ISO
    conversion = client.get("/api/v3/conversion/list").json()["data"]["data"][0]
    assert conversion["created"] < 10**11


def test_filters_types_and_legacy_lists(client: Client) -> None:
    first = client.post("/api/v3/cmp/basic/list", {}).json()["data"]["data"][0]
    one = client.post("/api/v3/cmp/basic/list", {"campaignIds": [first["campaignId"]]}).json()
    assert one["data"]["filteredRecords"] == 1
    assert one["data"]["totalRecords"] > 1
    assert client.post("/api/v3/cmp/basic/list", {"pageNo": "1"}).status_code == 400
    assert client.post("/api/v3/cmp/basic/list", {"owIds": [1]}).json()["data"][
        "totalRecords"] == 0
    legacy = client.get("/api/v2/cmp/campaigns/list", no_of_entries=3, pgno=1).json()
    assert legacy["statusCode"] == 200
    assert legacy["data"][0]["id"] == str(first["campaignId"])  # ids as strings
    v2 = client.get("/api/v2/cmp/campaigns/data", limit=2).json()
    assert v2["statusCode"] == 200
    assert v2["responseObject"]["data"][0]["id"] == first["campaignId"]


def test_counts_and_mutate() -> None:
    with EmulatorProcess("iqm", "--seed", "3", "--scale", "40", *FAST) as emulator:
        client = Client(emulator)
        before = emulator.counts()
        assert set(before) == {"campaigns", "insertion_orders", "creatives", "audiences",
                               "conversions", "saved_reports", "campaign_daily_report"}
        report = emulator.mutate(2)
        after = report["counts"]
        for stream in ("campaigns", "creatives", "conversions", "saved_reports"):
            assert after[stream] == before[stream] + 2
        assert after["campaign_daily_report"] == before["campaign_daily_report"]
        rows = client.post("/api/v3/cmp/basic/list", {"noOfEntries": 500}).json()["data"]
        assert rows["totalRecords"] == after["campaigns"]
        assert sum("(edited)" in r["name"] for r in rows["data"]) >= 1


# Rate limit and faults -------------------------------------------------------------------

def test_429_at_the_limit_without_retry_after() -> None:
    with EmulatorProcess("iqm", "--rate-limit", "4/2") as emulator:
        assert emulator.tap_config["max_requests_per_minute"] == 120
        client = Client(emulator)  # the token request counts: 1 of 4
        statuses = [client.post("/api/v3/cmp/basic/list", {}).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        refused = client.post("/api/v3/cmp/basic/list", {})
        assert refused.status_code == 429
        assert "retry-after" not in {k.lower() for k in refused.headers}
        assert refused.json()["success"] is False
        time.sleep(2.1)
        assert client.post("/api/v3/cmp/basic/list", {}).status_code == 200
        assert emulator.stats()["max_requests_in_rate_window"] == 4


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_status_faults(status: int) -> None:
    with EmulatorProcess("iqm", *FAST) as emulator:
        client = Client(emulator)
        emulator.set_faults(f"{status}={1}")
        response = client.post("/api/v3/cmp/basic/list", {})
        assert response.status_code == status
        assert response.json()["success"] is False
        if status == 500:
            assert response.json()["errorObjects"][0]["error"] == "server encountered an error !"
        assert emulator.stats()["by_fault"][str(status)] == 1


def _raw(url: str, body: bytes, hdrs: dict[str, str]) -> tuple[int, dict[str, str], bytes,
                                                              str | None]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
    conn.request("POST", parts.path, body=body, headers={**hdrs,
                                                         "Content-Type": "application/json"})
    response = conn.getresponse()
    try:
        data, error = response.read(), None
    except http.client.IncompleteRead as exc:
        data, error = exc.partial, "IncompleteRead"
    conn.close()
    return response.status, dict(response.getheaders()), data, error


def test_reset_truncate_and_slow_faults() -> None:
    with EmulatorProcess("iqm", *FAST) as emulator:
        client = Client(emulator)
        url = client.url + "/api/v3/cmp/basic/list"
        emulator.set_faults("reset=1")
        _, hdrs, body, error = _raw(url, b"{}", client.headers())
        assert error == "IncompleteRead"
        assert 0 < len(body) < int(hdrs["content-length"])
        emulator.set_faults("truncate=1")
        assert _raw(url, b"{}", client.headers())[3] == "IncompleteRead"
        status, hdrs, body, error = _raw(url, b"{}", client.headers())
        assert (status, error) == (200, None)
        with pytest.raises(json.JSONDecodeError):
            json.loads(body)
        emulator.set_faults("slow=1")
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.post(url, json={}, headers=client.headers(),
                          timeout=emulator.tap_config["request_timeout_seconds"])
