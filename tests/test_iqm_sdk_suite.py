"""The SDK's standard tap tests for tap-iqm, against its emulator (at a scaled rate limit).

``get_tap_test_class`` builds the tap when this module is imported (to list the streams),
so the emulator starts at import and stops when the test session ends.
"""

from __future__ import annotations

import atexit

from singer_sdk.testing import SuiteConfig, get_tap_test_class

from emulators.process import EmulatorProcess
from taps.iqm.tap import TapIQM

EMULATOR = EmulatorProcess("iqm", "--seed", "13", "--scale", "30", "--rate-limit", "600/60")
EMULATOR.start()
atexit.register(EMULATOR.stop)

TestTapIQM = get_tap_test_class(
    tap_class=TapIQM,
    config={**EMULATOR.tap_config, "max_requests_per_minute": 600},
    parse_env_config=False,
    suite_config=SuiteConfig(max_records_limit=60, ignore_no_records=False),
)
