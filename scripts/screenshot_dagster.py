"""Screenshot the asset graph of a running Dagster UI with headless Chromium.

    bash scripts/orchestrate.sh --port 3000 &      # the demo's dagster dev
    .venv/bin/python scripts/screenshot_dagster.py --url http://127.0.0.1:3000

Needs Debian's chromium (``apt-get install -y chromium``). The first-visit community dialog
is marked as seen through Dagster's GraphQL API first, so it does not cover the graph.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The code location's one asset group (orchestration/vendor_pipelines/assets.py).
GRAPH_PATH = "/locations/vendor_pipelines/asset-groups/meltano"
#: A PNG of the UI's empty frame or of a loading spinner is far smaller than this.
MIN_PNG_BYTES = 40_000


def wait_for(url: str, timeout: float) -> None:
    """Until the webserver answers ``/server_info``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=5):  # noqa: S310
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def mark_intro_seen(url: str) -> None:
    """``mutation { setNuxSeen }``: the dialog every new Dagster home shows once."""
    request = urllib.request.Request(  # noqa: S310
        f"{url}/graphql", data=json.dumps({"query": "mutation { setNuxSeen }"}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        json.load(response)


def screenshot(url: str, out: Path, width: int, height: int, budget_ms: int) -> None:
    """Chromium, headless, after ``budget_ms`` of virtual time for the graph to render."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        sys.exit("screenshot: chromium not found (apt-get install -y chromium)")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                        "--hide-scrollbars", f"--user-data-dir={profile}",
                        f"--window-size={width},{height}", f"--virtual-time-budget={budget_ms}",
                        f"--screenshot={out}", url],
                       check=True, capture_output=True, timeout=120)


def main() -> int:
    """Wait for the UI, dismiss its dialog, take the screenshot, check its size."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:3000")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "dagster-asset-graph.png")
    parser.add_argument("--width", type=int, default=1500)
    parser.add_argument("--height", type=int, default=1150)
    parser.add_argument("--budget-ms", type=int, default=20_000)
    args = parser.parse_args()
    url = args.url.rstrip("/")
    wait_for(url, timeout=120)
    mark_intro_seen(url)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    screenshot(url + GRAPH_PATH, args.out, args.width, args.height, args.budget_ms)
    size = args.out.stat().st_size
    if size < MIN_PNG_BYTES:
        print(f"screenshot: {args.out} is only {size} bytes: the graph did not render",
              file=sys.stderr)
        return 1
    print(f"screenshot: wrote {args.out} ({size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
