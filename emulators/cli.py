"""``tap-emulator VENDOR ...``: serve a vendor's API locally (contract in the README)."""

from __future__ import annotations

import argparse
import importlib
import sys

from emulators.framework.faults import FaultPlan, parse_faults
from emulators.framework.server import SLOW_EXTRA_SECONDS, serve

#: Vendor -> module with ``BASE_PATH`` and ``build(args)``.
VENDORS: dict[str, str] = {
    "adnuntius": "emulators.adnuntius.api",
    "amperity": "emulators.amperity.api",
    "iqm": "emulators.iqm.api",
    "kissmetrics": "emulators.kissmetrics.api",
}


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(prog="tap-emulator", description=__doc__)
    parser.add_argument("vendor", choices=sorted(VENDORS))
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=int, default=200,
                        help="records per list resource and profiles per index")
    parser.add_argument("--latency-ms", type=int, default=0,
                        help="each answer goes out this long after its request arrived")
    parser.add_argument("--faults", default="", help="e.g. 429=0.1,reset=0.02,truncate=0.05")
    parser.add_argument("--rate-limit", default=None,
                        help="N/SECONDS (default: the vendor's documented limit)")
    parser.add_argument("--token-ttl", type=int, default=3600,
                        help="lifetime of issued access tokens, seconds")
    parser.add_argument("--no-short-pages", action="store_true",
                        help="always fill pages to the requested limit")
    parser.add_argument("--api-version-error-status", type=int, choices=(400, 401), default=400,
                        help="status for a missing or unsupported api-version (Amperity)")
    parser.add_argument("--page-base", type=int, choices=(0, 1), default=0,
                        help="number of the first page of page-numbered lists (Adnuntius)")
    parser.add_argument("--token-response", choices=("enveloped", "raw", "mixed"),
                        default="mixed",
                        help="token answer form: {success, data} or raw OAuth; mixed = login "
                             "enveloped, refresh raw, as the docs show them (IQM)")
    parser.add_argument("--bare-lists", action="store_true",
                        help="lists as whole bare JSON arrays, as the docs draw them (Kissmetrics)")
    parser.add_argument("--query-polls", type=int, default=3,
                        help="status polls that answer 'not completed' before a query is done")
    parser.add_argument("--results-limit-cap", type=int, default=1000,
                        help="largest page of query results the server returns (Kissmetrics)")
    parser.add_argument("--problem-reports", action="store_true",
                        help="add a report whose query never completes and one that fails")
    return parser


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, build the vendor app and serve it."""
    args = build_parser().parse_args(argv)
    try:
        faults = FaultPlan(args.seed, parse_faults(args.faults))
        vendor = importlib.import_module(VENDORS[args.vendor])
        api = vendor.build(args)
    except ValueError as exc:
        sys.stderr.write(f"tap-emulator: error: {exc}\n")
        sys.exit(2)
    # A slow fault outlasts the request timeout the emulator's own tap_config sets.
    timeout = api.first_line("")["tap_config"]["request_timeout_seconds"]
    serve(api, port=args.port, base_path=vendor.BASE_PATH, faults=faults,
          latency_ms=args.latency_ms, slow_seconds=timeout + SLOW_EXTRA_SECONDS)


if __name__ == "__main__":
    main()
