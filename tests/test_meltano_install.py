"""What scripts/setup.sh installs: Meltano's postgres extra and compiled bytecode everywhere."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from generated_blocks import TAPS  # noqa: E402

MELTANO_PYTHON = ROOT / ".venv-meltano" / "bin" / "python"
VENVS = [ROOT / ".venv", ROOT / ".venv-meltano",
         *sorted((ROOT / ".meltano").glob("*/*/venv"))]
#: Modules every tap start imports, in the project's venv and in Meltano's tap venv.
STARTUP = ["singer_sdk", "singer_sdk.streams.rest", "requests", "msgspec", "jsonschema",
           "sqlalchemy", "pendulum"]


@pytest.mark.skipif(not MELTANO_PYTHON.exists(), reason="run scripts/setup.sh")
def test_meltano_has_the_postgres_driver() -> None:
    """MELTANO_DATABASE_URI=postgresql+psycopg://... needs meltano[postgres]."""
    result = subprocess.run([str(MELTANO_PYTHON), "-c", "import psycopg"], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stderr


def _missing_bytecode(python: Path, modules: list[str]) -> list[str]:
    code = (
        "import importlib, importlib.util, os, sys\n"
        "missing = []\n"
        "for name in sys.argv[1:]:\n"
        "    try:\n"
        "        module = importlib.import_module(name)\n"
        "    except ImportError:\n"
        "        continue\n"
        "    path = getattr(module, '__file__', None)\n"
        "    if path and path.endswith('.py') and not os.path.exists("
        "importlib.util.cache_from_source(path)):\n"
        "        missing.append(name)\n"
        "print(' '.join(missing))\n"
    )
    result = subprocess.run([str(python), "-c", code, *modules], capture_output=True, text=True,
                            check=True, env={"PYTHONDONTWRITEBYTECODE": "1"})
    return result.stdout.split()


@pytest.mark.parametrize("venv", VENVS, ids=lambda p: str(p.relative_to(ROOT)))
def test_venv_is_installed_with_bytecode(venv: Path) -> None:
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; "
                           "print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    sources = list(Path(site).rglob("*.py"))
    compiled = {p.parent.parent / (p.name.split(".")[0] + ".py")
                for p in Path(site).rglob("__pycache__/*.pyc")}
    # A few plugin dependencies ship Python 2 files that never compile (nor get imported).
    assert len([s for s in sources if s in compiled]) >= 0.95 * len(sources), venv


@pytest.mark.parametrize("tap", TAPS)
def test_tap_start_up_imports_are_compiled(tap: str) -> None:
    """In the project's venv and in the tap's own Meltano venv (``meltano install``)."""
    pythons = [Path(sys.executable)]
    tap_venv = ROOT / ".meltano" / "extractors" / tap / "venv" / "bin" / "python"
    if MELTANO_PYTHON.exists():
        assert tap_venv.exists(), f"{tap} is not installed by meltano install"
        pythons.append(tap_venv)
    module = f"taps.{tap.removeprefix('tap-')}.tap"
    for python in pythons:
        assert _missing_bytecode(python, [*STARTUP, module]) == [], python
