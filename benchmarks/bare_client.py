"""The fastest client there could be for the latency case: bare ``http.client`` threads.

It sends the same day requests as tap-adnuntius ``line_item_daily_stats`` (one per local
day, ``threads`` at once, each on its own keep-alive connection), reads and decodes each
answer and does nothing else: no records, no state, no budget. Its time is what the
emulator's answers and the transport cost, a floor that no Singer tap can beat.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import threading
import time
import typing as t
from urllib.parse import urlencode, urlsplit

from taps.adnuntius.stats import QUERY

if t.TYPE_CHECKING:
    from emulators.process import EmulatorProcess


def stats_days_seconds(emulator: EmulatorProcess, days: int, threads: int) -> float:
    """Seconds for ``days`` day requests (UTC days up to today), ``threads`` at once."""
    config = emulator.tap_config
    base = urlsplit(emulator.base_url)
    today = dt.datetime.now(dt.timezone.utc).date()
    paths = []
    for back in range(days):
        day = today - dt.timedelta(days=back)
        query = {**QUERY, "startDate": f"{day}T00:00:00Z",
                 "endDate": f"{day + dt.timedelta(days=1)}T00:00:00Z",
                 "context": config.get("network", "")}
        paths.append(f"{base.path.rstrip('/')}/v1/stats?{urlencode(query)}")
    headers = {"Authorization": f"Bearer {config['api_key']}"}
    failures: list[int] = []

    def work(mine: list[str]) -> None:
        connection = http.client.HTTPConnection(base.hostname, base.port, timeout=30)
        for path in mine:
            connection.request("GET", path, headers=headers)
            answer = connection.getresponse()
            json.loads(answer.read())
            if answer.status != 200:
                failures.append(answer.status)

    workers = [threading.Thread(target=work, args=(paths[n::threads],))
               for n in range(threads)]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if failures:
        msg = f"the bare client got {failures[:3]} from the emulator"
        raise RuntimeError(msg)
    return time.monotonic() - started
