"""The taps' console scripts: start-up's imports run without the garbage collector.

Importing a tap (the SDK, requests, jsonschema, ...) makes about 300,000 objects that live
as long as the process and almost no garbage, yet the collector walks them again and again
meanwhile: 40-50 ms of a 0.29 s import. It is switched off for the imports alone and on
again before the tap runs (whose sync then freezes what start-up made:
``taps.shared.tap.settle_garbage_collector``).
"""

from __future__ import annotations

import gc
import importlib


def run(module: str) -> None:
    """Import ``module`` with the collector off, then run its ``main()`` with it on."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        main = importlib.import_module(module).main
    finally:
        if was_enabled:
            gc.enable()
    main()


def adnuntius() -> None:
    """Console script ``tap-adnuntius``."""
    run("taps.adnuntius.tap")


def amperity() -> None:
    """Console script ``tap-amperity``."""
    run("taps.amperity.tap")


def iqm() -> None:
    """Console script ``tap-iqm``."""
    run("taps.iqm.tap")


def kissmetrics() -> None:
    """Console script ``tap-kissmetrics``."""
    run("taps.kissmetrics.tap")
