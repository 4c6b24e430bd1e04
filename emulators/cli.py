"""``tap-emulator VENDOR ...``: serve a vendor's API locally (contract in the README)."""

from __future__ import annotations

import argparse
import sys

from emulators.framework.faults import FaultPlan, parse_faults
from emulators.framework.limits import parse_rate
from emulators.framework.server import SLOW_EXTRA_SECONDS, serve

VENDORS = ("adnuntius", "amperity", "iqm", "kissmetrics")


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(prog="tap-emulator", description=__doc__)
    parser.add_argument("vendor", choices=VENDORS)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=int, default=200,
                        help="records per list resource and profiles per index")
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--faults", default="", help="e.g. 429=0.1,reset=0.02,truncate=0.05")
    parser.add_argument("--rate-limit", default=None,
                        help="N/SECONDS (default: the vendor's documented limit)")
    parser.add_argument("--token-ttl", type=int, default=3600,
                        help="lifetime of issued access tokens, seconds")
    parser.add_argument("--no-short-pages", action="store_true",
                        help="always fill pages to the requested limit")
    parser.add_argument("--api-version-error-status", type=int, choices=(400, 401), default=400,
                        help="status for a missing or unsupported api-version (Amperity)")
    return parser


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, build the vendor app and serve it."""
    args = build_parser().parse_args(argv)
    try:
        faults = FaultPlan(args.seed, parse_faults(args.faults))
        if args.vendor != "amperity":
            msg = f"the emulator for {args.vendor} is not implemented yet"
            raise ValueError(msg)
        from emulators.amperity.api import AmperityAPI  # noqa: PLC0415

        rate = parse_rate(args.rate_limit) if args.rate_limit else (10, 1.0)
        api = AmperityAPI(seed=args.seed, scale=args.scale, token_ttl=args.token_ttl,
                          rate_limit=rate, short_pages=not args.no_short_pages,
                          version_error_status=args.api_version_error_status)
        slow = 5 + SLOW_EXTRA_SECONDS  # tap_config's request_timeout_seconds is 5
    except ValueError as exc:
        sys.stderr.write(f"tap-emulator: error: {exc}\n")
        sys.exit(2)
    serve(api, port=args.port, base_path="/api", faults=faults, latency_ms=args.latency_ms,
          slow_seconds=slow)


if __name__ == "__main__":
    main()
