"""A sync reading ahead gives large freed blocks back to the system, whichever thread read them."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

#: Three worker threads and the main thread each make and free three 12 MB bodies (a large
#: day, as a read-ahead worker reads one); prints the MiB still resident afterwards.
SCRIPT = textwrap.dedent("""
    import os, sys, threading
    from taps.shared.prefetch import settle_allocator

    def resident():
        pages = int(open("/proc/self/statm").read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20

    def read_days():
        for _ in range(3):
            body = bytes(12 * 2**20)
            del body

    if sys.argv[1] == "settled":
        settle_allocator()
    before = resident()
    workers = [threading.Thread(target=read_days) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    read_days()
    print(resident() - before)
""")


def _kept_mib(mode: str) -> float:
    run = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True,
                         text=True, check=True)
    return float(run.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; glibc only")
def test_large_blocks_freed_on_worker_threads_leave_nothing_resident() -> None:
    unsettled = _kept_mib("unsettled")
    if unsettled < 20:
        pytest.skip(f"this C library keeps no freed block ({unsettled:.1f} MiB): not glibc")
    assert _kept_mib("settled") < 5  # glibc alone kept 36-48 MiB here
