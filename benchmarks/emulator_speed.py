"""How fast each emulator serves its hot lists, with no tap: records/s per vendor and stream.

    .venv/bin/python benchmarks/emulator_speed.py                    # every vendor
    .venv/bin/python benchmarks/emulator_speed.py --vendor amperity --scale 200000

Each emulator runs as a process (``EmulatorProcess``) at a large ``--scale`` with its rate
limit lifted; one keep-alive ``requests`` session pulls every page of a list twice, decoding
each page with msgspec only as far as paging needs. ``cold`` is the first pull (pages built),
``warm`` the second (the same pages again, as when a second tap reads the same emulator).
Besides wall-clock records/s, each line gives records per CPU second of the emulator process
(from /proc): on a machine shared with other work that figure is the steadier one. Figures
are printed, never asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
import typing as t
from pathlib import Path

import msgspec
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emulators.iqm.testing import Client, report_body  # noqa: E402
from emulators.process import EmulatorProcess  # noqa: E402

#: Lifted limits (requests per window): the emulator must not throttle the loop.
NO_LIMIT = "1000000/1"
DECODE = msgspec.json.Decoder()
#: A pull: yields the number of records of each page it fetched.
Pull = t.Callable[[], t.Iterator[int]]


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(pull: Pull, pid: int) -> tuple[int, int, float, float]:
    """(records, requests, seconds, emulator CPU seconds) of one complete pull."""
    started, cpu_started = time.perf_counter(), cpu_seconds(pid)
    records = requests_made = 0
    for count in pull():
        records += count
        requests_made += 1
    return (records, requests_made, time.perf_counter() - started,
            cpu_seconds(pid) - cpu_started)


def report(emu: EmulatorProcess, vendor: str, stream: str, pull: Pull) -> None:
    """Pull twice and print one line per pull."""
    assert emu.proc is not None
    for label in ("cold", "warm"):
        records, requests_made, seconds, cpu = timed(pull, emu.proc.pid)
        rate = records / seconds if seconds else 0.0
        per_cpu = f"{records / cpu:>14,.0f}" if cpu else f"{'>' + format(records * 100, ','):>14}"
        print(f"{vendor:<12} {stream:<24} {label:<5} {records:>9} {requests_made:>6} "
              f"{seconds:>8.2f} {rate:>11,.0f} {per_cpu}", flush=True)


def amperity(scale: int) -> None:
    """audit_events, workflow_runs and profiles, 1000 per page."""
    with EmulatorProcess("amperity", "--seed", "1", "--scale", str(scale), "--no-short-pages",
                         "--rate-limit", NO_LIMIT) as emu:
        cfg, session = emu.tap_config, requests.Session()

        def cursor(path: str, version: str) -> Pull:
            headers = {"Authorization": f"Bearer {cfg['access_token']}",
                       "Amperity-Tenant": cfg["tenant"], "api-version": version}

            def pull() -> t.Iterator[int]:
                params: dict[str, t.Any] = {"limit": 1000}
                while True:
                    answer = session.get(cfg["api_url"] + path, params=params,
                                         headers=headers, timeout=60)
                    answer.raise_for_status()
                    body = DECODE.decode(answer.content)
                    yield len(body["data"])
                    if not body.get("next_token"):
                        return
                    params = {"limit": 1000, "next_token": body["next_token"]}
            return pull

        report(emu, "amperity", "audit_events", cursor("/audit-events", "2024-04-01"))
        report(emu, "amperity", "workflow_runs", cursor("/workflow/runs", "2024-04-01"))
        report(emu, "amperity", "profiles", cursor("/indexes/idx-loyalty/profiles", "2025-07-31"))


def adnuntius(scale: int) -> None:
    """line_items (1000 per page) and 30 days of stats as tap-adnuntius asks for them."""
    with EmulatorProcess("adnuntius", "--seed", "1", "--scale", str(scale),
                         "--rate-limit", NO_LIMIT) as emu:
        cfg, session = emu.tap_config, requests.Session()
        headers = {"Authorization": f"Bearer {cfg['api_key']}"}
        url = cfg["api_url"] + "/v1"

        def line_items() -> t.Iterator[int]:
            page, seen = 0, 0
            while True:
                answer = session.get(f"{url}/lineitems", headers=headers, timeout=60, params={
                    "context": cfg["network"], "pageSize": 1000, "page": page})
                answer.raise_for_status()
                body = DECODE.decode(answer.content)
                seen += len(body["results"])
                yield len(body["results"])
                if not body["results"] or seen >= body["totalCount"]:
                    return
                page += 1

        def stats() -> t.Iterator[int]:
            today = dt.datetime.now(dt.timezone.utc).replace(hour=0, minute=0, second=0,
                                                            microsecond=0)
            for back in range(30, -1, -1):
                start = today - dt.timedelta(days=back)
                answer = session.get(f"{url}/stats", headers=headers, timeout=120, params={
                    "context": cfg["network"], "all": "lineItem", "groupBy": "ORDER",
                    "aggregateTo": "LINE_ITEM", "includeAll": "false",
                    "startDate": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "endDate": (start + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")})
                answer.raise_for_status()
                yield sum(len(order["chunks"]) for order in
                          DECODE.decode(answer.content)["chunks"])

        report(emu, "adnuntius", "line_items", line_items)
        report(emu, "adnuntius", "line_item_daily_stats", stats)


def iqm(scale: int) -> None:
    """Campaigns (500 per page) and the campaign report over 90 days (1000 rows per page)."""
    with EmulatorProcess("iqm", "--seed", "3", "--scale", str(scale),
                         "--rate-limit", "100000000/60") as emu:
        client = Client(emu)

        def campaigns() -> t.Iterator[int]:
            page, seen = 1, 0
            while True:
                answer = client.post("/api/v3/cmp/basic/list", {"pageNo": page,
                                                                "noOfEntries": 500})
                answer.raise_for_status()
                data = DECODE.decode(answer.content)["data"]
                seen += len(data["data"])
                yield len(data["data"])
                if not data["data"] or seen >= data["totalRecords"]:
                    return
                page += 1

        def reports() -> t.Iterator[int]:
            today = dt.datetime.now(dt.timezone.utc).replace(hour=0, minute=0, second=0,
                                                            microsecond=0)
            start = int((today - dt.timedelta(days=89)).timestamp() * 1000)
            end = int((today + dt.timedelta(days=1)).timestamp() * 1000) - 1000
            page, seen = 1, 0
            while True:
                answer = client.execute(**report_body(start, end, ["campaign"], page=page,
                                                      sort="+campaignId"))
                answer.raise_for_status()
                data = DECODE.decode(answer.content)["data"]
                seen += len(data["data"])
                yield len(data["data"])
                if not data["data"] or seen >= data["totalRecords"]:
                    return
                page += 1

        report(emu, "iqm", "campaigns", campaigns)
        report(emu, "iqm", "campaign_daily_report", reports)


def kissmetrics(scale: int) -> None:
    """Report results of one people_search_v2 report over 30 local days, 1000 per page."""
    with EmulatorProcess("kissmetrics", "--seed", "1", "--scale", str(scale),
                         "--query-polls", "1") as emu:
        cfg, session = emu.tap_config, requests.Session()
        headers = {"Authorization": f"Bearer {cfg['api_token']}"}
        listing = DECODE.decode(session.get(f"{cfg['core_api_url']}/reports", headers=headers,
                                            params={"limit": 100}, timeout=60).content)
        chosen = next(r for r in listing["data"] if r["report_type"] == "people_search_v2")
        now = dt.datetime.now(dt.timezone.utc)
        window = {"start_date": (now - dt.timedelta(days=30)).isoformat(),
                  "end_date": now.isoformat()}
        run_url = (f"{cfg['query_api_url']}/products/{chosen['product_id']}/reports/"
                   f"{chosen['id']}/run")

        def results() -> t.Iterator[int]:
            status = session.post(run_url, json=window, headers=headers, timeout=60)
            answer = session.get(status.headers["Location"], headers=headers, timeout=60)
            while answer.status_code == 200:
                answer = session.get(status.headers["Location"], headers=headers, timeout=60)
            results_url, seen = answer.headers["Location"], 0
            while True:
                page = session.get(results_url, headers=headers, timeout=60,
                                   params={"limit": 1000, "offset": seen})
                page.raise_for_status()
                body = DECODE.decode(page.content)
                seen += len(body["data"])
                yield len(body["data"])
                if not body["data"] or seen >= body["pagination"]["total"]:
                    return

        report(emu, "kissmetrics", "report_results", results)


VENDORS: dict[str, t.Callable[[int], None]] = {
    "amperity": amperity, "adnuntius": adnuntius, "iqm": iqm, "kissmetrics": kissmetrics}
DEFAULT_SCALES = {"amperity": 200_000, "adnuntius": 20_000, "iqm": 2_000,
                  "kissmetrics": 20_000}


def main() -> None:
    """Parse arguments and measure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vendor", action="append", choices=sorted(VENDORS))
    parser.add_argument("--scale", type=int, help="emulator --scale (default per vendor)")
    options = parser.parse_args()
    print(f"{'vendor':<12} {'stream':<24} {'pull':<5} {'records':>9} {'reqs':>6} "
          f"{'seconds':>8} {'records/s':>11} {'per emu CPU s':>14}")
    for vendor in options.vendor or list(VENDORS):
        VENDORS[vendor](options.scale or DEFAULT_SCALES[vendor])


if __name__ == "__main__":
    main()
