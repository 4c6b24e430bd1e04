"""Write orchestration/tenants.meltano.yml (one extractor per tenant) from tenants.yml.

``--check`` writes nothing and exits 1 when the file is missing or out of date (CI, tests).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "orchestration"))

from vendor_pipelines.tenants import (  # noqa: E402
    PLUGINS_FILE,
    TenantsError,
    load_tenants,
    render_plugins,
)


def main(argv: list[str] | None = None) -> int:
    """Generate, or with ``--check`` compare."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the file is stale")
    parser.add_argument("--project", type=Path, default=ROOT, help="Meltano project root")
    args = parser.parse_args(argv)
    try:
        text = render_plugins(load_tenants(args.project))
    except (TenantsError, OSError) as exc:
        print(f"tenants: error: {exc}", file=sys.stderr)
        return 2
    target = args.project / PLUGINS_FILE
    current = target.read_text() if target.exists() else None
    if args.check:
        if current != text:
            print(f"tenants: {PLUGINS_FILE} is out of date: run scripts/tenants.py",
                  file=sys.stderr)
            return 1
        return 0
    if current != text:
        target.write_text(text)
        print(f"tenants: wrote {PLUGINS_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
