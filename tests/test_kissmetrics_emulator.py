"""The Kissmetrics emulator over real sockets: contract, auth, Core lists, the Query API v2."""

from __future__ import annotations

import datetime as dt
import time
import typing as t
from zoneinfo import ZoneInfo

import pytest
import requests

from emulators.process import EmulatorProcess

CORE_STREAMS = ("accounts", "products", "reports", "events", "properties", "metrics")
RUNNABLE = {"people_search_v2", "people_search_v3"}


@pytest.fixture(scope="module")
def emu() -> t.Iterator[EmulatorProcess]:
    with EmulatorProcess("kissmetrics", "--seed", "5", "--scale", "300", "--query-polls", "2",
                         "--results-limit-cap", "7", "--problem-reports") as emulator:
        yield emulator


def hdrs(emu: EmulatorProcess, token: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token or emu.tap_config['api_token']}",
            "Accept": "application/json"}


def core(emu: EmulatorProcess, path: str, **params: t.Any) -> requests.Response:
    return requests.get(emu.tap_config["core_api_url"] + path, headers=hdrs(emu), params=params,
                        timeout=10)


def core_all(emu: EmulatorProcess, path: str, limit: int = 7) -> list[dict]:
    """Follow rel=next until it is missing (Kissmetrics' own scripts)."""
    url: str | None = f"{emu.tap_config['core_api_url']}{path}?limit={limit}"
    records: list[dict] = []
    while url:
        body = requests.get(url, headers=hdrs(emu), timeout=10).json()
        records += body["data"]
        url = next((x["href"] for x in body["links"] if x["rel"] == "next"), None)
    return records


def reports(emu: EmulatorProcess) -> list[dict]:
    return core_all(emu, "/reports", limit=100)


def run(emu: EmulatorProcess, report: dict, start: str, end: str) -> requests.Response:
    url = f"{emu.tap_config['query_api_url']}/products/{report['product_id']}/reports/{report['id']}/run"
    return requests.post(url, json={"start_date": start, "end_date": end}, headers=hdrs(emu),
                         timeout=10)


def poll(emu: EmulatorProcess, status_url: str, limit: int = 20) -> list[requests.Response]:
    answers = []
    for _ in range(limit):
        answer = requests.get(status_url, headers=hdrs(emu), timeout=10)
        answers.append(answer)
        if answer.status_code != 200:
            break
    return answers


def results(emu: EmulatorProcess, results_url: str, limit: int = 50) -> tuple[list, int]:
    """Advance by the rows received until pagination.total (the cap-proof way)."""
    rows: list = []
    total = None
    while total is None or len(rows) < total:
        body = requests.get(results_url, params={"limit": limit, "offset": len(rows)},
                            headers=hdrs(emu), timeout=10).json()
        total = body["pagination"]["total"]
        rows += body["data"]
        if not body["data"]:
            break
    return rows, total or 0


def window(day: dt.date, zone: str) -> tuple[str, str]:
    tz = ZoneInfo(zone)
    start = dt.datetime(day.year, day.month, day.day, tzinfo=tz)
    end = dt.datetime.fromtimestamp((start + dt.timedelta(days=1)).timestamp() - 1, tz)
    return start.isoformat(), end.isoformat()


def complete(emu: EmulatorProcess, report: dict, start: str, end: str) -> list:
    answer = run(emu, report, start, end)
    assert answer.status_code == 202, answer.text
    final = poll(emu, answer.headers["Location"])[-1]
    assert final.status_code == 201
    return results(emu, final.headers["Location"], limit=1000)[0]


# Contract ---------------------------------------------------------------------------------

def test_first_line_and_clean_exit() -> None:
    emulator = EmulatorProcess("kissmetrics", "--seed", "2").start()
    info = emulator.info
    assert set(info) == {"vendor", "base_url", "control_url", "tap_config", "auth"}
    assert info["vendor"] == "kissmetrics"
    assert info["base_url"].startswith("http://127.0.0.1:")
    root = info["base_url"].removesuffix("/core")
    assert info["control_url"] == root + "/_emulator"
    config = info["tap_config"]
    assert set(config) == {"core_api_url", "query_api_url", "api_token", "start_date",
                           "request_timeout_seconds", "export_bucket", "export_endpoint_url",
                           "aws_access_key_id", "aws_secret_access_key", "export_region"}
    assert config["core_api_url"] == info["base_url"]
    assert config["query_api_url"] == root + "/v2"
    assert config["request_timeout_seconds"] == 5
    assert config["export_endpoint_url"].startswith("http://127.0.0.1:")
    assert info["auth"]["token"] == {"api_token": config["api_token"]}
    assert core(emulator, "/accounts").ok
    assert emulator.stop() == 0


def test_seed_makes_data_deterministic() -> None:
    with EmulatorProcess("kissmetrics", "--seed", "9") as a, \
            EmulatorProcess("kissmetrics", "--seed", "9") as b:
        assert a.tap_config["api_token"] == b.tap_config["api_token"]
        ids = [r["id"] for r in core(a, "/events", limit=50).json()["data"]]
        assert ids == [r["id"] for r in core(b, "/events", limit=50).json()["data"]]
        assert a.counts() == b.counts()


# Auth -------------------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"},
                                     {"Authorization": "Basic abc"}])
def test_missing_or_wrong_token_gets_401_in_the_meta_envelope(
        emu: EmulatorProcess, headers: dict[str, str]) -> None:
    for url in (emu.tap_config["core_api_url"] + "/products",
                emu.tap_config["query_api_url"] + "/queries/x/status"):
        answer = requests.get(url, headers=headers, timeout=5)
        assert answer.status_code == 401
        assert set(answer.json()) == {"meta"}
        assert answer.json()["meta"]["status"] == 401


# Core lists -------------------------------------------------------------------------------

def test_wrapped_lists_page_with_links_and_link_header(emu: EmulatorProcess) -> None:
    counts = emu.counts()
    answer = core(emu, "/products", limit=1, offset=1)
    body = answer.json()
    assert set(body) == {"data", "pagination", "links"}
    assert body["pagination"] == {"total": counts["products"], "offset": 1, "limit": 1}
    rels = {x["rel"]: x["href"] for x in body["links"]}
    assert set(rels) == {"first", "last", "prev", "next"}
    assert rels["next"].endswith("limit=1&offset=2")
    assert rels["last"].endswith(f"offset={counts['products'] - 1}")
    assert all(x["href"].startswith("http://127.0.0.1:") for x in body["links"])
    header = answer.headers["Link"]
    assert f'<{rels["next"]}>; rel="next"; templated="false"' in header
    for stream in CORE_STREAMS:
        records = core_all(emu, f"/{stream}")
        assert len(records) == counts[stream]
        assert len({r["id"] for r in records}) == len(records)
    last = core(emu, "/events", limit=5, offset=counts["events"] - 2).json()
    assert len(last["data"]) == 2
    assert "next" not in {x["rel"] for x in last["links"]}
    first = core(emu, "/events").json()
    assert first["pagination"]["limit"] == 20
    assert "prev" not in {x["rel"] for x in first["links"]}


def test_limit_is_capped_so_advance_by_rows_received(emu: EmulatorProcess) -> None:
    body = core(emu, "/events", limit=1000).json()
    assert body["pagination"]["limit"] == 100
    assert len(body["data"]) == 100


def test_nested_lists_details_and_fields(emu: EmulatorProcess) -> None:
    products = core_all(emu, "/products")
    assert {p["timezone"] for p in products} >= {"US/Pacific"}
    nested = []
    for account in core_all(emu, "/accounts"):
        nested += core_all(emu, f"/accounts/{account['id']}/products")
    assert sorted(p["id"] for p in nested) == sorted(p["id"] for p in products)
    for stream in ("reports", "events", "properties", "metrics"):
        per_product = []
        for product in products:
            rows = core_all(emu, f"/products/{product['id']}/{stream}")
            assert {r["product_id"] for r in rows} <= {product["id"]}
            per_product += rows
        assert len(per_product) == emu.counts()[stream]
    event = core(emu, "/events").json()["data"][0]
    assert isinstance(event["index"], int)
    assert "total" in event
    detail = core(emu, f"/events/{event['id']}").json()
    assert detail == event  # details are bare objects
    report = reports(emu)[0]
    assert {x["rel"] for x in report["links"]} == {"self", "run", "run_v2", "product", "account"}
    assert core(emu, "/events/00000000-0000-1000-8000-000000000000").status_code == 404
    assert core(emu, "").json()["data"]["name"] == "KISSmetrics API"


def test_bare_lists_flag_serves_whole_arrays() -> None:
    with EmulatorProcess("kissmetrics", "--bare-lists", "--scale", "100") as emulator:
        answer = core(emulator, "/properties", limit=3)
        assert isinstance(answer.json(), list)
        assert len(answer.json()) == emulator.counts()["properties"]
        assert "Link" not in answer.headers


# Query API v2 -----------------------------------------------------------------------------

def test_non_runnable_report_gets_the_documented_400(emu: EmulatorProcess) -> None:
    funnel = next(r for r in reports(emu) if r["report_type"] not in RUNNABLE)
    answer = run(emu, funnel, "2015-06-02T20:00:00-04:00", "2015-06-09T19:59:59-04:00")
    assert answer.status_code == 400
    assert answer.json() == {"meta": {"status": 400, "message": "Error initializing report: "
                                      "Only people search reports supported at this time."}}
    other = next(r for r in reports(emu) if r["product_id"] != funnel["product_id"])
    wrong = dict(funnel, id=other["id"])
    assert run(emu, wrong, "2015-06-02T20:00:00-04:00", "2015-06-09T19:59:59-04:00").status_code == 404


def test_lifecycle_run_poll_results_with_a_capped_limit(emu: EmulatorProcess) -> None:
    report = next(r for r in reports(emu) if r["report_type"] == "people_search_v2")
    start = emu.tap_config["start_date"].replace("Z", "+00:00")
    end = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+0000")  # KISSR's form
    answer = run(emu, report, start, end)
    assert answer.status_code == 202
    status_url = answer.headers["Location"]
    root = emu.tap_config["query_api_url"]
    assert status_url.startswith(root + "/queries/")
    assert status_url.endswith("/status")
    assert answer.json()["links"][0]["name"] == "Status"
    assert answer.json()["links"][0]["href"] == status_url
    answers = poll(emu, status_url)
    assert [a.status_code for a in answers] == [200, 200, 201]
    progress = [a.json()["data"]["progress"] for a in answers]
    assert progress == sorted(progress)
    assert progress[0] == 0
    assert progress[-1] == 1
    assert answers[0].json()["data"]["completed"] is False
    results_url = answers[-1].headers["Location"]
    assert {x["name"]: x["href"] for x in answers[-1].json()["links"]}["Results"] == results_url
    # Again: still 201 (the query stays done).
    assert requests.get(status_url, headers=hdrs(emu), timeout=5).status_code == 201
    page = requests.get(results_url, params={"limit": 50}, headers=hdrs(emu), timeout=5).json()
    assert page["pagination"]["limit"] == 7
    assert len(page["data"]) <= 7
    assert {x["rel"] for x in page["links"]} == {"self", "export"}
    rows, total = results(emu, results_url, limit=50)
    assert len(rows) == total > 7
    assert len({r[0] for r in rows}) == total
    assert all(isinstance(r[0], int) and isinstance(r[1], str) for r in rows)
    naive = requests.get(results_url, params={"limit": 50, "offset": 50}, headers=hdrs(emu),
                         timeout=5).json()
    assert naive["data"] == rows[50:57]  # a client advancing by 50 skips rows 7..49


def test_dates_are_local_wall_clock_and_v3_rows_are_objects(emu: EmulatorProcess) -> None:
    products = {p["id"]: p for p in core_all(emu, "/products")}
    seen_date = False
    for report in reports(emu)[:16]:
        if report["report_type"] not in RUNNABLE:
            continue
        zone = products[report["product_id"]]["timezone"]
        today = dt.datetime.now(ZoneInfo(zone)).date()
        start, end = window(today - dt.timedelta(days=2), zone)
        rows = complete(emu, report, start, end)
        for row in rows:
            values = row["columns"] if report["report_type"] == "people_search_v3" else row[2:]
            if report["report_type"] == "people_search_v3":
                assert set(row) == {"identity", "columns"}
            for value in values:
                if isinstance(value, str) and value[:2] == "20" and value[4] == "-":
                    day = dt.datetime.strptime(value, "%Y-%m-%d %H:%M:%S").date()
                    if report["report_type"] == "people_search_v2":
                        assert day == today - dt.timedelta(days=2)
                    seen_date = True
    assert seen_date


def test_stuck_and_failing_reports(emu: EmulatorProcess) -> None:
    by_name = {r["name"].split(" query")[0]: r for r in reports(emu) if "emulator" in r["name"]}
    start, end = "2026-01-01T00:00:00+00:00", "2026-01-01T23:59:59+00:00"
    stuck = run(emu, by_name["Stuck"], start, end)
    answers = poll(emu, stuck.headers["Location"], limit=8)
    assert {a.status_code for a in answers} == {200}
    assert all(a.json()["data"]["progress"] < 1 for a in answers)
    results_url = stuck.headers["Location"].replace("/status", "/results")
    assert requests.get(results_url, headers=hdrs(emu), timeout=5).status_code == 409
    failing = run(emu, by_name["Failing"], start, end)
    answers = poll(emu, failing.headers["Location"])
    assert [a.status_code for a in answers] == [200, 200, 500]
    body = answers[-1].json()
    assert body["meta"]["status"] == 500
    assert body["meta"]["message"].startswith("Query failed")
    assert body["data"]["error"]
    assert requests.get(failing.headers["Location"], headers=hdrs(emu), timeout=5).status_code == 500


def test_default_counts_match_the_documented_window_rule() -> None:
    with EmulatorProcess("kissmetrics", "--seed", "8", "--scale", "120",
                         "--query-polls", "0") as emulator:
        products = {p["id"]: p for p in core_all(emulator, "/products")}
        first = dt.date.fromisoformat(emulator.tap_config["start_date"][:10])
        total = 0
        for report in reports(emulator):
            zone = products[report["product_id"]]["timezone"]
            if report["report_type"] == "people_search_v3":
                total += len(complete(emulator, report, *window(first, zone)))
            elif report["report_type"] == "people_search_v2":
                today = dt.datetime.now(ZoneInfo(zone)).date()
                for k in range((today - first).days + 1):
                    total += len(complete(emulator, report,
                                          *window(first + dt.timedelta(days=k), zone)))
        assert total == emulator.counts()["report_results"]
        runs = emulator.stats()["query_runs"]
        assert set(runs.values()) == {1}


def test_faults_hit_run_status_and_results_and_runs_are_counted_once() -> None:
    with EmulatorProcess("kissmetrics", "--seed", "4", "--scale", "60", "--query-polls", "1",
                         "--faults", "500=0.3,truncate=0.1") as emulator:
        report = next(r for r in reports_retrying(emulator)
                      if r["report_type"] == "people_search_v2")
        statuses: dict[str, list[int]] = {"run": [], "status": [], "results": []}

        def call(kind: str, method: str, url: str, **kwargs: t.Any) -> requests.Response | None:
            try:
                answer = requests.request(method, url, headers=hdrs(emulator), timeout=5,
                                          **kwargs)
                answer.json()
            except (requests.RequestException, ValueError):
                statuses[kind].append(-1)  # truncated
                return None
            statuses[kind].append(answer.status_code)
            return answer

        for k in range(10):
            start, end = window(dt.date(2026, 1, 1) + dt.timedelta(days=k), "UTC")
            url = (f"{emulator.tap_config['query_api_url']}/products/{report['product_id']}"
                   f"/reports/{report['id']}/run")
            answer = call("run", "POST", url, json={"start_date": start, "end_date": end})
            if answer is None or answer.status_code != 202:
                continue
            for _ in range(6):
                status = call("status", "GET", answer.headers["Location"])
                if status is not None and status.status_code == 201:
                    for _ in range(4):
                        call("results", "GET", status.headers["Location"])
                    break
        assert all(500 in s for s in statuses.values()), statuses
        stats = emulator.stats()
        # Truncated runs reached the server: they started queries the client never saw.
        assert stats["queries_started"] >= statuses["run"].count(202)
        assert stats["queries_started"] == sum(stats["query_runs"].values())
        assert stats["queries_started"] == statuses["run"].count(202) + statuses["run"].count(-1)
        assert stats["by_fault"]["500"] > 0


def reports_retrying(emulator: EmulatorProcess) -> list[dict]:
    for _ in range(50):
        try:
            answer = requests.get(emulator.tap_config["core_api_url"] + "/reports",
                                  params={"limit": 100}, headers=hdrs(emulator), timeout=5)
            if answer.ok:
                return answer.json()["data"]
        except (requests.RequestException, ValueError):
            pass
        time.sleep(0.01)
    raise AssertionError("no clean reports page")
