"""The SDK's standard tap tests for tap-amperity, against its emulator.

``get_tap_test_class`` builds the tap when this module is imported (to list the streams),
so the emulator starts at import and stops when the test session ends.
"""

from __future__ import annotations

import atexit

from singer_sdk.testing import SuiteConfig, get_tap_test_class

from emulators.process import EmulatorProcess
from taps.amperity.tap import TapAmperity

EMULATOR = EmulatorProcess("amperity", "--seed", "13", "--scale", "40")
EMULATOR.start()
atexit.register(EMULATOR.stop)

TestTapAmperity = get_tap_test_class(
    tap_class=TapAmperity,
    config=EMULATOR.tap_config,
    parse_env_config=False,
    suite_config=SuiteConfig(max_records_limit=60, ignore_no_records=False),
)
