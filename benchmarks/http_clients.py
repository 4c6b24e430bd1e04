"""CPU per page fetch: requests (what the SDK's hooks are built on) against lighter clients.

Fetches the same Amperity page over one keep-alive connection with ``requests.Session``
(requests' own adapter, and the taps' ``LeanAdapter`` of ``taps/shared/transport.py``),
``urllib3.PoolManager`` and ``http.client``, and prints CPU microseconds per request (the
process's own time, so the emulator's share is left out) and what that is per record.

    .venv/bin/python benchmarks/http_clients.py --requests 2000 --page-size 10
"""

from __future__ import annotations

import argparse
import http.client
import time
import typing as t
from urllib.parse import urlsplit

import requests
import urllib3

from emulators.process import EmulatorProcess
from taps.shared.transport import use_lean_transport


def per_request_cpu(fetch: t.Callable[[], bytes], count: int) -> float:
    """CPU seconds per call of ``fetch`` (after a few warm-up calls)."""
    for _ in range(20):
        fetch()
    started = time.process_time()
    for _ in range(count):
        fetch()
    return (time.process_time() - started) / count


def main() -> None:
    """Measure each client and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--page-size", type=int, default=10)
    options = parser.parse_args()
    with EmulatorProcess("amperity", "--seed", "1", "--scale", "1000",
                         "--rate-limit", "1000000/1") as emulator:
        config = emulator.tap_config
        url = f"{config['api_url']}/campaigns?limit={options.page_size}"
        headers = {"Authorization": f"Bearer {config['access_token']}",
                   "Amperity-Tenant": config["tenant"], "api-version": "2024-04-01"}
        session = requests.Session()
        session.trust_env = False  # as the taps' sessions where no proxy is set
        lean = requests.Session()
        lean.trust_env = False
        use_lean_transport(lean)
        pool = urllib3.PoolManager()
        parts = urlsplit(url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port)

        def with_requests() -> bytes:
            return session.get(url, headers=headers, timeout=30).content

        def with_lean() -> bytes:
            return lean.get(url, headers=headers, timeout=30).content

        def with_urllib3() -> bytes:
            return pool.request("GET", url, headers=headers, timeout=30).data

        def with_http_client() -> bytes:
            connection.request("GET", f"{parts.path}?{parts.query}", headers=headers)
            return connection.getresponse().read()

        print(f"{'client':<16} {'CPU µs/request':>15} {'µs/record':>10}  "
              f"({options.requests} requests, {options.page_size} records per page)")
        results = {}
        for name, fetch in (("requests", with_requests), ("requests, lean", with_lean),
                            ("urllib3", with_urllib3),
                            ("http.client", with_http_client)):
            results[name] = per_request_cpu(fetch, options.requests)
            print(f"{name:<16} {results[name] * 1e6:>15.0f} "
                  f"{results[name] * 1e6 / options.page_size:>10.1f}")
        for name in ("requests", "requests, lean"):
            saved = results[name] - results["http.client"]
            print(f"{name} costs {saved * 1e6:.0f} µs more per request than http.client: "
                  f"{saved * 1e6 / options.page_size:.2f} µs per record at "
                  f"{options.page_size:,} records per page")


if __name__ == "__main__":
    main()
