"""Regenerate each tap's settings table in README.md from ``--about --format=markdown``.

.venv/bin/python scripts/readme_settings.py          # rewrite README.md
.venv/bin/python scripts/readme_settings.py --check  # exit 1 if README.md is stale
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
TAPS = ["tap-amperity"]
#: SDK built-in settings, documented once in the SDK's own docs rather than per tap.
BUILT_IN = re.compile(r"^\| (stream_maps|stream_map_config|faker_config|flattening_|batch_config)")


def settings_table(tap: str) -> str:
    """The tap's own settings, as the SDK renders them."""
    about = subprocess.run([str(Path(sys.executable).parent / tap), "--about",
                            "--format=markdown"], capture_output=True, text=True, check=True)
    lines = about.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| Setting"))
    table = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        if not BUILT_IN.match(line):
            table.append(line)
    return "\n".join(table)


def render(text: str) -> str:
    """README text with every tap's table between its markers replaced."""
    for tap in TAPS:
        begin, end = f"<!-- settings:{tap}:begin -->", f"<!-- settings:{tap}:end -->"
        pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
        text = pattern.sub(f"{begin}\n{settings_table(tap)}\n{end}", text)
    return text


def main() -> int:
    """Rewrite README.md, or with --check report whether it is up to date."""
    current = README.read_text()
    fresh = render(current)
    if "--check" in sys.argv:
        if fresh != current:
            print("README.md settings tables are stale: run scripts/readme_settings.py")
            return 1
        return 0
    README.write_text(fresh)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
