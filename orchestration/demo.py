"""``dagster dev`` on the demo: one emulator per tenant of tenants.yml, Postgres storage.

Started by ``scripts/orchestrate.sh``. Every tenant of ``orchestration/tenants.yml`` gets an
emulator of its vendor (the demo's settings from ``scripts/demo.py``, a seed per tenant),
and its ``TENANT_<VENDOR>_<TENANT>__*`` variables point at it. Meltano runs in the ``demo``
environment with its state and warehouse in the database ``vendor_pipelines_demo``;
Dagster's runs, events and schedules are in ``vendor_pipelines_demo_dagster``. Ctrl-C stops
``dagster dev`` and every emulator.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts"), str(ROOT / "orchestration")]

from demo import TAPS  # noqa: E402  (scripts/demo.py: the demo's emulator arguments)
from meltano_warehouse import tap_env  # noqa: E402
from vendor_pipelines.tenants import load_tenants  # noqa: E402

from emulators.process import EmulatorProcess  # noqa: E402

DAGSTER = ROOT / ".venv-dagster" / "bin" / "dagster"
MELTANO_PYTHON = ROOT / ".venv-meltano" / "bin" / "python"
HOME = ROOT / "output" / "dagster-home"
MELTANO_DB, DAGSTER_DB = "vendor_pipelines_demo", "vendor_pipelines_demo_dagster"
CREATE_DATABASE = """
import sys, psycopg
con = psycopg.connect('postgresql://postgres@127.0.0.1:5432/postgres', autocommit=True)
for name in sys.argv[1:]:
    if not con.execute('select 1 from pg_database where datname = %s', [name]).fetchone():
        con.execute(f'create database {name}')
"""


def emulator_args(vendor: str, seed: int) -> list[str]:
    """The demo's arguments for ``vendor``, with this tenant's seed."""
    args = next(list(args) for name, _, args in TAPS if name == vendor)
    args[args.index("--seed") + 1] = str(seed)
    return args


def demo_env(emulators: dict[tuple[str, str], EmulatorProcess]) -> dict[str, str]:
    """The shell's variables, minus Meltano/tap ones, plus the tenants' and the storage's."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("TAP_", "TENANT_", "MELTANO_", "DAGSTER_"))}
    for (vendor, tenant), emulator in emulators.items():
        env |= tap_env(f"tenant-{vendor}-{tenant}-", emulator.tap_config)
    meltano_url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{MELTANO_DB}"
    return env | {
        "MELTANO_ENVIRONMENT": "demo",
        "MELTANO_DATABASE_URI": meltano_url,
        "TARGET_POSTGRES_SQLALCHEMY_URL": meltano_url,
        "DAGSTER_HOME": str(HOME),
        "DAGSTER_POSTGRES_URL": f"postgresql+psycopg2://postgres@127.0.0.1:5432/{DAGSTER_DB}",
        "DAGSTER_COMPUTE_LOG_DIR": str(HOME / "logs"),
        "DAGSTER_ARTIFACT_DIR": str(HOME / "artifacts"),
    }


def main() -> int:
    """Start the emulators, then ``dagster dev`` until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=3000, help="Dagster UI port")
    args = parser.parse_args()
    # A handler (not SIG_IGN, which a shell's `&` sets) so that dagster dev, which inherits
    # the default, can be stopped with SIGINT; SIGTERM stops the demo the same way.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    subprocess.run([str(MELTANO_PYTHON), "-c", CREATE_DATABASE, MELTANO_DB, DAGSTER_DB],  # noqa: S603
                   check=True)
    HOME.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "orchestration" / "dagster.yaml", HOME / "dagster.yaml")
    tenants = [(pipeline.vendor, name) for pipeline in load_tenants(ROOT).pipelines
               for name in pipeline.tenants]
    with ExitStack() as stack:
        emulators = {(vendor, tenant): stack.enter_context(
                         EmulatorProcess(vendor, *emulator_args(vendor, 7 + index)))
                     for index, (vendor, tenant) in enumerate(tenants)}
        for (vendor, tenant), emulator in emulators.items():
            print(f"tenant {vendor}/{tenant}: emulator at {emulator.base_url}")
        print(f"Dagster UI: http://127.0.0.1:{args.port} (Ctrl-C stops it and the emulators)",
              flush=True)
        command = [str(DAGSTER), "dev", "-w", str(ROOT / "orchestration" / "workspace.yaml"),
                   "-h", "127.0.0.1", "-p", str(args.port)]
        env = demo_env(emulators)
        # The tables first, in one process: dagster dev's webserver, daemon and code server
        # would otherwise race to create them on a new database (UniqueViolation on pg_type).
        subprocess.run([str(DAGSTER), "instance", "migrate"], cwd=ROOT, env=env,  # noqa: S603
                       check=True, capture_output=True)
        dagster = subprocess.Popen(command, cwd=ROOT, env=env)  # noqa: S603
        while True:
            try:
                return dagster.wait()
            except KeyboardInterrupt:
                # dagster dev stops its webserver, daemon and code server on SIGINT (Ctrl-C
                # in a terminal sends it to both of us; a SIGTERM to this process does not).
                dagster.send_signal(signal.SIGINT)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    raise SystemExit(main())
