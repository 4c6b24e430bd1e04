"""The framework's HTTP behaviour every vendor inherits, driven over real sockets."""

from __future__ import annotations

import base64
import json
import statistics
import time
import typing as t

import pytest
import requests

from emulators.process import EmulatorProcess

CONTROL = {"api-version": "2024-04-01", "Amperity-Tenant": "acme"}
PROFILE = {**CONTROL, "api-version": "2025-07-31"}


@pytest.fixture(scope="module")
def emulator() -> t.Iterator[EmulatorProcess]:
    with EmulatorProcess("amperity", "--seed", "8", "--scale", "120",
                         "--rate-limit", "100000/1") as emu:
        yield emu


def auth(emulator: EmulatorProcess, base: dict[str, str] = CONTROL) -> dict[str, str]:
    return {**base, "Authorization": f"Bearer {emulator.tap_config['access_token']}"}


def test_small_pages_answer_in_a_few_milliseconds(emulator: EmulatorProcess) -> None:
    """TCP_NODELAY on accepted sockets: no ~40 ms delayed-ACK stall per keep-alive response."""
    session = requests.Session()
    url, hdrs = emulator.base_url + "/segments", auth(emulator)
    session.get(url, params={"limit": 5}, headers=hdrs, timeout=5).raise_for_status()
    timings = []
    for _ in range(20):
        started = time.perf_counter()
        response = session.get(url, params={"limit": 5}, headers=hdrs, timeout=5)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    assert statistics.median(timings) < 15, f"median {statistics.median(timings):.1f} ms"


def craft(state: t.Any) -> str:
    raw = json.dumps(state, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def first_token(emulator: EmulatorProcess, path: str, hdrs: dict[str, str]) -> str:
    body = requests.get(emulator.base_url + path, params={"limit": 2}, headers=hdrs,
                        timeout=5).json()
    return body["next_token"]


BAD_TOKENS = [
    craft({"k": "sg"}),  # our kind, nothing else
    craft({"k": "sg", "lo": 0, "hi": 120, "o": "ten", "p": 0, "f": {}}),  # offset not an int
    craft({"k": "sg", "lo": 0, "hi": 120, "o": 1.5, "p": 0, "f": {}}),
    craft({"k": "sg", "lo": 0, "hi": 120, "o": True, "p": 0, "f": {}}),
    craft({"k": "sg", "lo": 0, "hi": 10**9, "o": 0, "p": 0, "f": {}}),  # beyond the data
    craft({"k": "sg", "lo": 0, "hi": 120, "o": -3, "p": 0, "f": {}}),
    craft({"k": "sg", "lo": 0, "hi": 120, "o": 0, "p": 0, "f": []}),
    craft({"k": "ae", "lo": 0, "hi": 120, "o": 0, "p": 0, "f": {}}),  # another list's token
    craft([1, 2, 3]),
    craft("sg"),
    "!!!not-base64!!!",
    "e30",  # {}
    base64.urlsafe_b64encode(b"\xff\xfe garbage").decode(),
]


@pytest.mark.parametrize("token", BAD_TOKENS)
def test_malformed_tokens_are_400_in_the_vendors_envelope(emulator: EmulatorProcess,
                                                          token: str) -> None:
    response = requests.get(emulator.base_url + "/segments", params={"next_token": token},
                            headers=auth(emulator), timeout=5)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    assert set(response.json()) == {"status", "message"}


def test_profile_tokens_are_bound_to_their_index(emulator: EmulatorProcess) -> None:
    hdrs = auth(emulator, PROFILE)
    token = first_token(emulator, "/indexes/idx-web/profiles", hdrs)
    assert requests.get(emulator.base_url + "/indexes/idx-web/profiles",
                        params={"next_token": token}, headers=hdrs, timeout=5).ok
    other = requests.get(emulator.base_url + "/indexes/idx-loyalty/profiles",
                         params={"next_token": token}, headers=hdrs, timeout=5)
    assert other.status_code == 400
    assert {"status", "message", "request_id", "trace_id"} == set(other.json())
    state = json.loads(base64.urlsafe_b64decode(token + "=="))
    for crafted in ({**state, "f": {"no_such_field": "x"}}, {**state, "f": {"city": 3}},
                    {**state, "hi": state["hi"] + 10**6}):
        response = requests.get(emulator.base_url + "/indexes/idx-web/profiles",
                                params={"next_token": craft(crafted)}, headers=hdrs, timeout=5)
        assert response.status_code == 400, crafted
        assert response.json()["status"] == 400


def test_workflow_tokens_with_foreign_filters_are_400(emulator: EmulatorProcess) -> None:
    hdrs = auth(emulator)
    token = first_token(emulator, "/workflow/runs", hdrs)
    state = json.loads(base64.urlsafe_b64decode(token + "=="))
    response = requests.get(emulator.base_url + "/workflow/runs",
                            params={"next_token": craft({**state, "f": {"city": "x"}})},
                            headers=hdrs, timeout=5)
    assert response.status_code == 400


def page_all(emulator: EmulatorProcess, path: str, hdrs: dict[str, str],
             **params: t.Any) -> tuple[list[dict], int]:
    records, token, pages = [], None, 0
    while True:
        query = {**params, **({"next_token": token} if token else {})}
        response = requests.get(emulator.base_url + path, params=query, headers=hdrs, timeout=5)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["data"]) <= params["limit"]
        records += body["data"]
        pages += 1
        token = body.get("next_token")
        if not token:
            return records, pages
        assert pages < 500


def test_filtered_workflow_runs_page_through_every_match(emulator: EmulatorProcess) -> None:
    hdrs = auth(emulator)
    everything, _ = page_all(emulator, "/workflow/runs", hdrs, limit=1000)
    failed = [r["id"] for r in everything if r["state"] == "failed"]
    assert len(failed) > 4
    first = requests.get(emulator.base_url + "/workflow/runs",
                         params={"state": "failed", "limit": 2}, headers=hdrs, timeout=5).json()
    assert len(first["data"]) == 2
    assert "next_token" in first
    paged, pages = page_all(emulator, "/workflow/runs", hdrs, state="failed", limit=2)
    assert [r["id"] for r in paged] == failed
    assert pages > 2
    total = requests.get(emulator.base_url + "/workflow/runs",
                         params={"state": "failed", "limit": 2, "with_total": "true"},
                         headers=hdrs, timeout=5).json()["total"]
    assert total == len(failed)


def test_filtered_profiles_page_through_every_match(emulator: EmulatorProcess) -> None:
    hdrs = auth(emulator, PROFILE)
    path = "/indexes/idx-stores/profiles"
    everything, _ = page_all(emulator, path, hdrs, limit=1000)
    city = everything[0]["attributes"]["city"]
    matches = [p["id"] for p in everything if p["attributes"]["city"] == city]
    assert len(matches) > 5
    paged, pages = page_all(emulator, path, hdrs, limit=5, **{"filter[city]": city})
    assert [p["id"] for p in paged] == matches
    assert pages >= len(matches) / 5


def test_campaigns_filter_on_the_data_template(emulator: EmulatorProcess) -> None:
    hdrs = auth(emulator)
    everything, _ = page_all(emulator, "/campaigns", hdrs, limit=1000)
    example, = page_all(emulator, "/campaigns", hdrs, limit=7,
                        destination_data_template_id="ptg-2QLLqXBEq")[:1]
    assert 0 < len(example) < len(everything)
    assert {c["id"] for c in example} < {c["id"] for c in everything}
    assert page_all(emulator, "/campaigns", hdrs, limit=7,
                    destination_data_template_id="ptg-none")[0] == []


@pytest.mark.parametrize("path", ["/segments", "/campaigns", "/audit-events", "/workflow/runs"])
def test_unstable_api_version_includes_the_stable_endpoints(emulator: EmulatorProcess,
                                                            path: str) -> None:
    hdrs = {**auth(emulator), "api-version": "unstable"}
    assert requests.get(emulator.base_url + path, headers=hdrs, timeout=5).status_code == 200
    drafts = requests.get(emulator.base_url + "/campaign-drafts", headers=hdrs, timeout=5)
    assert drafts.status_code == 200


@pytest.mark.parametrize(("path", "params"), [
    ("/segments", {"with_total": "yes"}),
    ("/segments", {"with_total": "1"}),
    ("/segments", {"with_total": ["true", "true"]}),
    ("/ingest/jobs", {"with_total": "maybe", "created_from": "2026-01-01",
                      "created_to": "2026-01-02"}),
    ("/workflow/runs", {"ended_from": "Y"}),
    ("/workflow/runs", {"ended_to": "2026-13-45"}),
    ("/workflow/runs", {"created_from": "yesterday"}),
    ("/workflow/runs/wf-20260101-00001-abcdef", {"view": "AAA"}),
])
def test_bad_parameter_values_are_400(emulator: EmulatorProcess, path: str,
                                      params: dict[str, t.Any]) -> None:
    response = requests.get(emulator.base_url + path, params=params, headers=auth(emulator),
                            timeout=5)
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"status", "message"}


def test_with_total_accepts_both_booleans(emulator: EmulatorProcess) -> None:
    for value, has_total in (("true", True), ("false", False)):
        body = requests.get(emulator.base_url + "/segments", params={"with_total": value},
                            headers=auth(emulator), timeout=5).json()
        assert ("total" in body) is has_total


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("DELETE", "/segments", "GET"),
    ("TRACE", "/ingest/jobs", "GET"),
    ("PUT", "/workflow/runs", "GET, POST"),
    ("GET", "/workflow/runs/wf-1/stop", "POST"),
    ("POST", "/indexes/idx-web/profiles", "GET"),
])
def test_wrong_method_on_a_known_path_is_405(emulator: EmulatorProcess, method: str, path: str,
                                             allow: str) -> None:
    response = requests.request(method, emulator.base_url + path, headers=auth(emulator),
                                timeout=5)
    assert response.status_code == 405
    assert response.headers["Allow"] == allow
    assert response.json()["status"] == 405


@pytest.mark.parametrize("url_path", ["/apii/segments", "/segments", "/api2/segments",
                                      "/api/nothing-here", "/api"])
def test_paths_outside_the_api_are_404(emulator: EmulatorProcess, url_path: str) -> None:
    root = emulator.base_url.removesuffix("/api")
    response = requests.get(root + url_path, headers=auth(emulator), timeout=5)
    assert response.status_code == 404
    assert response.json()["status"] == 404


def test_missing_tenant_header_says_so(emulator: EmulatorProcess) -> None:
    hdrs = {k: v for k, v in auth(emulator).items() if k != "Amperity-Tenant"}
    response = requests.get(emulator.base_url + "/segments", headers=hdrs, timeout=5)
    assert response.status_code == 401
    message = response.json()["message"]
    assert "amperity-tenant" in message.lower()
    assert "None" not in message


def test_workflow_runs_can_be_started_and_stopped(emulator: EmulatorProcess) -> None:
    url = emulator.base_url + "/workflow/runs"
    created = requests.post(url, json={"config_id": "cg-123ABc4DE"}, headers=auth(emulator),
                            timeout=5)
    assert created.status_code == 201
    run = created.json()
    assert run["state"] == "scheduled"
    fetched = requests.get(f"{url}/{run['id']}", headers=auth(emulator), timeout=5).json()
    assert fetched["id"] == run["id"]
    stopped = requests.post(f"{url}/{run['id']}/stop", headers=auth(emulator), timeout=5)
    assert stopped.status_code == 200
    assert requests.post(url, json={"nope": 1}, headers=auth(emulator), timeout=5).status_code == 400
    assert requests.post(f"{url}/wf-x/stop", headers=auth(emulator), timeout=5).status_code == 404


def grant(emulator: EmulatorProcess, *, data: dict[str, str], basic: tuple[str, str] | None = None,
          tenant: str | None = "acme") -> requests.Response:
    return requests.post(emulator.auth["client_credentials"]["token_url"], data=data, auth=basic,
                         headers={"X-Amperity-Tenant": tenant} if tenant else {}, timeout=5)


def test_token_endpoint_accepts_http_basic_client_authentication(emulator: EmulatorProcess) -> None:
    creds = emulator.auth["client_credentials"]
    response = grant(emulator, data={"grant_type": "client_credentials"},
                     basic=(creds["client_id"], creds["client_secret"]))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    token = response.json()["access_token"]
    hdrs = {**CONTROL, "Authorization": f"Bearer {token}"}
    assert requests.get(emulator.base_url + "/segments", headers=hdrs, timeout=5).ok


def test_token_endpoint_errors_follow_rfc_6749(emulator: EmulatorProcess) -> None:
    creds = emulator.auth["client_credentials"]
    form = {"grant_type": "client_credentials", "client_id": creds["client_id"],
            "client_secret": creds["client_secret"]}
    cases = [
        (grant(emulator, data={**form, "client_secret": "wrong"}), 401, "invalid_client"),
        (grant(emulator, data={"grant_type": "client_credentials"}, basic=("x", "y")), 401,
         "invalid_client"),
        (grant(emulator, data={"grant_type": "client_credentials"}), 401, "invalid_client"),
        (grant(emulator, data={**form, "grant_type": "password"}), 400, "unsupported_grant_type"),
        (grant(emulator, data={"client_id": creds["client_id"]}), 400, "invalid_request"),
        (grant(emulator, data=form, basic=(creds["client_id"], creds["client_secret"])), 400,
         "invalid_request"),
        (grant(emulator, data=form, tenant="other"), 401, "invalid_client"),
    ]
    for response, status, error in cases:
        assert response.status_code == status, response.text
        body = response.json()
        assert set(body) == {"error", "error_description"}
        assert body["error"] == error
    assert "WWW-Authenticate" in cases[1][0].headers
