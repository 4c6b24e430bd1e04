"""The SDK's standard tap tests for tap-adnuntius, against its emulator.

``get_tap_test_class`` builds the tap when this module is imported (to list the streams),
so the emulator starts at import and stops when the test session ends.
"""

from __future__ import annotations

import atexit

from singer_sdk.testing import SuiteConfig, get_tap_test_class

from emulators.process import EmulatorProcess
from taps.adnuntius.tap import TapAdnuntius

EMULATOR = EmulatorProcess("adnuntius", "--seed", "13", "--scale", "30")
EMULATOR.start()
atexit.register(EMULATOR.stop)

TestTapAdnuntius = get_tap_test_class(
    tap_class=TapAdnuntius,
    config={**EMULATOR.tap_config, "max_requests_per_minute": 1200},
    parse_env_config=False,
    suite_config=SuiteConfig(max_records_limit=60, ignore_no_records=False),
)
