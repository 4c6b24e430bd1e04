"""The Adnuntius emulator over real sockets: contract, auth, lists, objects, stats, limits."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import time
import typing as t
from urllib.parse import urlsplit

import pytest
import requests

from emulators.process import EmulatorProcess

LISTS = {"advertisers": "advertisers", "orders": "orders", "lineitems": "line_items",
         "creatives": "creatives", "sites": "sites", "adunits": "ad_units",
         "earningsaccounts": "earnings_accounts", "sitegroups": "site_groups", "teams": "teams",
         "tiers": "tiers", "users": "users", "segments": "segments"}
ALL_STATES = {"includeActive": "true", "includeInactive": "true", "includeHidden": "true"}


@pytest.fixture(scope="module")
def emu() -> t.Iterator[EmulatorProcess]:
    with EmulatorProcess("adnuntius", "--seed", "4", "--scale", "120",
                         "--rate-limit", "100000/1") as emulator:
        yield emulator


def key_headers(emu: EmulatorProcess) -> dict[str, str]:
    return {"Authorization": f"Bearer {emu.tap_config['api_key']}"}


def get(emu: EmulatorProcess, path: str, token: str | None = None, *, context: bool = True,
        **params: t.Any) -> requests.Response:
    hdrs = {"Authorization": f"Bearer {token}"} if token else key_headers(emu)
    query = {"context": emu.tap_config["network"], **params} if context else params
    return requests.get(emu.base_url + path, params=query, headers=hdrs, timeout=10)


def login(emu: EmulatorProcess, creds: dict[str, str], *, form: bool = False,
          **extra: str) -> requests.Response:
    body = {"grant_type": "password", "scope": "ng_api", "username": creds["username"],
            "password": creds["password"], **extra}
    url = emu.base_url + "/authenticate"
    if form:
        return requests.post(url, data=body, params={"context": "acme_media"}, timeout=5)
    return requests.post(url, json=body, timeout=5)


def refresh(emu: EmulatorProcess, token: str) -> requests.Response:
    return requests.post(emu.base_url + "/authenticate", json={
        "grant_type": "refresh_token", "scope": "ng_api", "refresh_token": token}, timeout=5)


def page_all(emu: EmulatorProcess, path: str, *, size: int = 7, base: int = 0,
             **params: t.Any) -> tuple[list[dict], int]:
    records, page, total = [], base, None
    while True:
        body = get(emu, path, page=page, pageSize=size, **params).json()
        total = body["totalCount"]
        records += body["results"]
        if len(body["results"]) < size:
            return records, total
        page += 1


def is_translatable(body: t.Any) -> bool:
    return set(body) == {"type", "code", "text", "params"} and body["type"] == "ErrorMessage"


# Contract ---------------------------------------------------------------------------------

def test_first_line_and_clean_exit() -> None:
    emulator = EmulatorProcess("adnuntius", "--seed", "2").start()
    info = emulator.info
    assert set(info) == {"vendor", "base_url", "control_url", "tap_config", "auth"}
    assert info["vendor"] == "adnuntius"
    assert info["base_url"].startswith("http://127.0.0.1:")
    assert info["base_url"].endswith("/api")
    assert info["control_url"] == info["base_url"].removesuffix("/api") + "/_emulator"
    config = info["tap_config"]
    assert set(config) == {"api_url", "network", "api_key", "start_date", "request_timeout_seconds"}
    assert config["api_url"] == info["base_url"]
    assert config["request_timeout_seconds"] == 5
    assert {"api_key", "password", "two_factor"} <= set(info["auth"])
    assert set(info["auth"]["password"]) == {"username", "password"}
    assert get(emulator, "/v1/lineitems").ok
    assert emulator.stop() == 0


# Auth -------------------------------------------------------------------------------------

def test_password_login_json_and_form_with_string_expiry(emu: EmulatorProcess) -> None:
    for form in (False, True):
        response = login(emu, emu.auth["password"], form=form)
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
        assert body["expires_in"] == "3600"
        assert body["token_type"] == "bearer"
        assert get(emu, "/v1/orders", body["access_token"]).ok


def test_refresh_rotates_and_the_old_refresh_token_is_refused(emu: EmulatorProcess) -> None:
    first = login(emu, emu.auth["password"]).json()
    second = refresh(emu, first["refresh_token"])
    assert second.status_code == 200
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"]
    assert rotated["access_token"] != first["access_token"]
    assert get(emu, "/v1/orders", rotated["access_token"]).ok
    again = refresh(emu, first["refresh_token"])
    assert again.status_code == 401
    assert is_translatable(again.json())
    assert refresh(emu, rotated["refresh_token"]).ok


def test_wrong_password_and_missing_or_bad_credentials_get_json_401s(emu: EmulatorProcess) -> None:
    wrong = login(emu, {**emu.auth["password"], "password": "nope"})
    assert wrong.status_code == 401
    assert is_translatable(wrong.json())
    for response in (requests.get(emu.base_url + "/v1/orders", params={"context": "acme_media"},
                                  timeout=5),
                     get(emu, "/v1/orders", "not-a-token")):
        assert response.status_code == 401
        assert is_translatable(response.json())


@pytest.mark.parametrize(("user", "scope"), [("two_factor", "TWO_FACTOR_AUTH"),
                                             ("forced_two_factor", "FORCED_TWO_FACTOR_AUTH")])
def test_two_factor_user_gets_the_step_up_401(emu: EmulatorProcess, user: str, scope: str) -> None:
    response = login(emu, emu.auth[user])
    assert response.status_code == 401
    body = response.json()
    assert body["scope"] == scope
    assert body["access_token"]
    assert "refresh_token" not in body
    assert get(emu, "/v1/orders", body["access_token"]).status_code == 401


def test_two_factor_code_completes_the_login(emu: EmulatorProcess) -> None:
    temporary = login(emu, emu.auth["two_factor"]).json()["access_token"]
    url = emu.base_url + "/authenticate/2fa"
    hdrs = {"Authorization": f"Bearer {temporary}"}
    assert requests.post(url, json={"code": "000000x"}, headers=hdrs, timeout=5).status_code == 401
    done = requests.post(url, json={"code": emu.auth["two_factor"]["code"]}, headers=hdrs,
                         timeout=5)
    assert done.ok
    assert get(emu, "/v1/orders", done.json()["access_token"]).ok


def test_api_key_as_bearer_and_auth_token_query(emu: EmulatorProcess) -> None:
    key = emu.tap_config["api_key"]
    assert get(emu, "/v1/advertisers", key).ok
    by_query = requests.get(emu.base_url + "/v1/advertisers",
                            params={"context": "acme_media", "auth_token": key}, timeout=5)
    assert by_query.ok
    token = login(emu, emu.auth["password"]).json()["access_token"]
    assert requests.get(emu.base_url + "/v1/stats/", params={
        "context": "acme_media", "auth_token": token, "startDate": "2026-01-01T00:00:00Z",
        "endDate": "2026-01-02T00:00:00Z"}, timeout=5).ok


def test_context_is_required_and_unknown_networks_are_refused(emu: EmulatorProcess) -> None:
    missing = get(emu, "/v1/orders", context=False)
    assert missing.status_code == 400
    assert is_translatable(missing.json())
    unknown = requests.get(emu.base_url + "/v1/orders", params={"context": "nosuchnet"},
                           headers=key_headers(emu), timeout=5)
    assert unknown.status_code == 403
    body = unknown.json()
    assert is_translatable(body)
    assert body["params"] == {"context": "nosuchnet"}
    assert "{{context}}" in body["text"]


def test_token_ttl_expires_access_tokens() -> None:
    with EmulatorProcess("adnuntius", "--token-ttl", "1") as emulator:
        grant = login(emulator, emulator.auth["password"]).json()
        assert grant["expires_in"] == "1"
        assert get(emulator, "/v1/tiers", grant["access_token"]).ok
        time.sleep(1.3)
        expired = get(emulator, "/v1/tiers", grant["access_token"])
        assert expired.status_code == 401
        assert is_translatable(expired.json())
        assert refresh(emulator, grant["refresh_token"]).ok


# Lists ------------------------------------------------------------------------------------

def test_envelope_and_hidden_excluded_by_default(emu: EmulatorProcess) -> None:
    body = get(emu, "/v1/lineitems", pageSize=5).json()
    assert set(body) == {"page", "pageSize", "totalCount", "results"}
    assert (body["page"], body["pageSize"]) == (0, 5)
    default, total_default = page_all(emu, "/v1/lineitems")
    everything, total_all = page_all(emu, "/v1/lineitems", **ALL_STATES)
    assert total_all == 120 == len({r["id"] for r in everything})
    assert len(default) == total_default < total_all
    assert {r["objectState"] for r in default} == {"ACTIVE", "INACTIVE"}
    hidden = [r for r in everything if r["objectState"] == "HIDDEN"]
    assert hidden
    assert len(hidden) + total_default == total_all
    only_hidden, _ = page_all(emu, "/v1/lineitems", includeActive="false",
                              includeInactive="false", includeHidden="true")
    assert {r["id"] for r in only_hidden} == {r["id"] for r in hidden}
    bare = requests.get(emu.base_url + "/v1/lineitems?context=acme_media&includeHidden"
                        "&pageSize=1", headers=key_headers(emu), timeout=5).json()
    assert bare["totalCount"] == total_all


@pytest.mark.parametrize("base", [0, 1])
def test_paging_for_both_page_bases(base: int) -> None:
    with EmulatorProcess("adnuntius", "--scale", "50", "--page-base", str(base),
                         "--rate-limit", "100000/1") as emulator:
        records, total = page_all(emulator, "/v1/orders", size=4, base=base, **ALL_STATES)
        assert len(records) == total == len({r["id"] for r in records})
        first = get(emulator, "/v1/orders", page=base, pageSize=4, **ALL_STATES).json()
        assert first["page"] == base
        below = get(emulator, "/v1/orders", page=base - 1, pageSize=4, **ALL_STATES).json()
        assert [r["id"] for r in below["results"]] == [r["id"] for r in first["results"]]
        beyond = get(emulator, "/v1/orders", page=base + 99, pageSize=4).json()
        assert beyond["results"] == []
        assert beyond["totalCount"] > 0


def test_vectorised_ids_filter_by_and_where(emu: EmulatorProcess) -> None:
    everything, _ = page_all(emu, "/v1/lineitems", size=200, **ALL_STATES)
    some = [everything[3]["id"], everything[10]["id"].upper(), "nosuchid"]
    picked = get(emu, "/v1/lineitems", id=";".join(some), **ALL_STATES).json()
    assert [r["id"] for r in picked["results"]] == [everything[3]["id"], everything[10]["id"]]
    name = everything[5]["name"]
    exact = get(emu, "/v1/lineitems", filterBy="name", filterByValue=name, **ALL_STATES).json()
    assert [r["name"] for r in exact["results"]] == [name]
    like = get(emu, "/v1/lineitems", filterBy="name", filterByLike="SKYSCRAPER",
               pageSize=500, **ALL_STATES).json()["results"]
    assert like
    assert all("skyscraper" in r["name"].lower() for r in like)
    order_id = everything[0]["order"]["id"]
    by_ref = get(emu, "/v1/lineitems", filterBy="order", filterByValue=order_id, pageSize=500,
                 **ALL_STATES).json()["results"]
    assert {r["order"]["id"] for r in by_ref} == {order_id}
    assert len(by_ref) == sum(r["order"]["id"] == order_id for r in everything)


def _where(emu: EmulatorProcess, condition: str) -> list[dict]:
    return get(emu, "/v1/lineitems", where=condition, pageSize=500, **ALL_STATES).json()["results"]


def _epoch(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_where_operators_on_scalars_and_timestamps(emu: EmulatorProcess) -> None:
    everything, _ = page_all(emu, "/v1/lineitems", size=200, **ALL_STATES)
    states = {r["id"]: r["executionState"] for r in everything}
    running = _where(emu, "executionState=RUNNING")
    assert {r["id"] for r in running} == {i for i, s in states.items() if s == "RUNNING"}
    assert len(_where(emu, "executionState!=RUNNING")) == len(everything) - len(running)
    both = _where(emu, "executionState in RUNNING,ENDED")
    assert {r["executionState"] for r in both} <= {"RUNNING", "ENDED"}
    assert len(both) + len(_where(emu, "executionState not in RUNNING,ENDED")) == len(everything)
    assert len(_where(emu, "objectState in ACTIVE,INACTIVE")) == len(page_all(
        emu, "/v1/lineitems")[0])
    ordered = sorted(everything, key=lambda r: _epoch(r["updateTime"]))
    pivot = ordered[len(ordered) // 2]["updateTime"]
    after = _where(emu, f"updateTime>={pivot}")
    before = _where(emu, f"updateTime<{pivot}")
    assert len(after) + len(before) == len(everything)
    assert all(_epoch(r["updateTime"]) >= _epoch(pivot) for r in after)
    assert len(_where(emu, f"updateTime>{pivot}")) + len(_where(emu, f"updateTime<={pivot}")) \
        == len(everything)
    assert len(_where(emu, "updateTime>400 days ago")) == len(everything)
    assert _where(emu, "updateTime>1 days later") == []
    recent = _where(emu, "updateTime>=10 days ago;executionState=RUNNING")
    assert all(r["executionState"] == "RUNNING" for r in recent)
    assert len(_where(emu, "endDate is null")) + len(_where(emu, "endDate is not null")) \
        == len(everything)
    bad = get(emu, "/v1/lineitems", where="nosuchfield=1")
    assert bad.status_code == 400
    assert is_translatable(bad.json())


def test_order_by_both_directions(emu: EmulatorProcess) -> None:
    up = get(emu, "/v1/advertisers", orderBy="name", orderByDirection="ASCENDING",
             pageSize=500).json()["results"]
    down = get(emu, "/v1/advertisers", orderBy="name", orderByDirection="DESCENDING",
               pageSize=500).json()["results"]
    names = [r["name"].lower() for r in up]
    assert names == sorted(names)
    assert [r["name"] for r in down] == [r["name"] for r in up][::-1]
    newest = get(emu, "/v1/advertisers", orderBy="updateTime", orderByDirection="DESCENDING",
                 pageSize=500).json()["results"]
    times = [_epoch(r["updateTime"]) for r in newest]
    assert times == sorted(times, reverse=True)


def test_objects_have_references_money_and_the_docs_time_formats(emu: EmulatorProcess) -> None:
    item = get(emu, "/v1/lineitems", pageSize=1).json()["results"][0]
    assert set(item["order"]) == {"id", "name", "url"}
    assert item["order"]["url"] == f"/api/v1/orders/{item['order']['id']}"
    assert set(item["bidSpecification"]["cpm"]) == {"currency", "amount"}
    assert get(emu, f"/v1/orders/{item['order']['id']}").json()["advertiser"]["id"]
    creative = get(emu, "/v1/creatives", pageSize=1).json()["results"][0]
    assert get(emu, f"/v1/lineitems/{creative['lineItem']['id']}").ok
    unit = get(emu, "/v1/adunits", pageSize=1).json()["results"][0]
    site = get(emu, f"/v1/sites/{unit['site']['id']}").json()
    assert get(emu, f"/v1/earningsaccounts/{site['earningsAccount']['id']}").ok
    stamps = [r["updateTime"] for r in page_all(emu, "/v1/creatives", size=300)[0]]
    lengths = {len(s) for s in stamps}
    assert {17, 20, 24} <= lengths  # no seconds, seconds, milliseconds


# Single objects -----------------------------------------------------------------------------

def test_get_head_and_options(emu: EmulatorProcess) -> None:
    everything, _ = page_all(emu, "/v1/orders", size=200, **ALL_STATES)
    hidden = next(r for r in everything if r["objectState"] == "HIDDEN")
    assert get(emu, f"/v1/orders/{hidden['id']}").json() == hidden
    missing = get(emu, "/v1/orders/doesnotexist1234")
    assert missing.status_code == 404
    assert is_translatable(missing.json())
    url = emu.base_url + "/v1/orders/"
    params, hdrs = {"context": "acme_media"}, key_headers(emu)
    assert requests.head(url + hidden["id"], params=params, headers=hdrs, timeout=5).status_code \
        == 200
    assert requests.head(url + "doesnotexist1234", params=params, headers=hdrs,
                         timeout=5).status_code == 404
    assert requests.options(emu.base_url + "/v1/orders", headers=hdrs, timeout=5).status_code \
        == 200
    assert requests.options(emu.base_url + "/v1/stats", timeout=5).status_code == 200
    assert requests.options(emu.base_url + "/v1/nosuchthing", headers=hdrs,
                            timeout=5).status_code == 404
    assert get(emu, "/v1/nosuchthing").status_code == 404


# Rate limit and faults ------------------------------------------------------------------------

def test_429_per_token_with_retry_after_from_the_window() -> None:
    with EmulatorProcess("adnuntius", "--rate-limit", "3/2") as emulator:
        key = emulator.tap_config["api_key"]
        token = login(emulator, emulator.auth["password"]).json()["access_token"]
        statuses = [get(emulator, "/v1/tiers", key).status_code for _ in range(3)]
        refused = get(emulator, "/v1/tiers", key)
        assert statuses == [200, 200, 200]
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] in {"1", "2"}
        assert refused.headers["Content-Type"].startswith("text/plain")
        assert f"wait {refused.headers['Retry-After']} second" in refused.text
        assert get(emulator, "/v1/tiers", token).ok  # another token: another window
        time.sleep(int(refused.headers["Retry-After"]))
        assert get(emulator, "/v1/tiers", key).ok


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_status_faults(status: int) -> None:
    with EmulatorProcess("adnuntius", "--faults", f"{status}=1") as emulator:
        response = get(emulator, "/v1/orders")
        assert response.status_code == status
        if status == 429:
            assert response.headers["Retry-After"] == "1"
        else:
            assert is_translatable(response.json())
        assert emulator.stats()["by_fault"][str(status)] == 1


def _raw(url: str, hdrs: dict[str, str]) -> tuple[int, dict[str, str], bytes, str | None]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
    conn.request("GET", f"{parts.path}?{parts.query}", headers=hdrs)
    response = conn.getresponse()
    try:
        body, error = response.read(), None
    except http.client.IncompleteRead as exc:
        body, error = exc.partial, "IncompleteRead"
    conn.close()
    return response.status, dict(response.getheaders()), body, error


def test_reset_truncate_and_slow_faults() -> None:
    with EmulatorProcess("adnuntius", "--faults", "reset=1") as emulator:
        url = emulator.base_url + "/v1/lineitems?context=acme_media"
        _, hdrs, body, error = _raw(url, key_headers(emulator))
        assert error == "IncompleteRead"
        assert 0 < len(body) < int(hdrs["content-length"])
        emulator.set_faults("truncate=1")
        assert _raw(url, key_headers(emulator))[3] == "IncompleteRead"
        status, hdrs, body, error = _raw(url, key_headers(emulator))
        assert (status, error) == (200, None)
        assert "content-length" not in {k.lower() for k in hdrs}
        with pytest.raises(json.JSONDecodeError):
            json.loads(body)
        emulator.set_faults("slow=1")
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.get(url, headers=key_headers(emulator),
                         timeout=emulator.tap_config["request_timeout_seconds"])
