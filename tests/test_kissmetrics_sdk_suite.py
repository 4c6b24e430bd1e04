"""The SDK's standard tap tests for tap-kissmetrics, against its emulator.

``get_tap_test_class`` builds the tap when this module is imported (to list the streams),
so the emulator starts at import and stops when the test session ends.
"""

from __future__ import annotations

import atexit

from singer_sdk.testing import SuiteConfig, get_tap_test_class

from emulators.process import EmulatorProcess
from taps.kissmetrics.tap import TapKissmetrics

EMULATOR = EmulatorProcess("kissmetrics", "--seed", "13", "--scale", "20", "--query-polls", "1")
EMULATOR.start()
atexit.register(EMULATOR.stop)

TestTapKissmetrics = get_tap_test_class(
    tap_class=TapKissmetrics,
    # report_results columns vary in type from report to report, which the SDK's attribute
    # tests cannot express: its rows are checked against the schema in test_kissmetrics_e2e.
    config={**EMULATOR.tap_config, "max_requests_per_minute": 12000, "report_ids": [],
            "query_poll_interval_seconds": 0.05, "max_query_poll_interval_seconds": 0.2},
    parse_env_config=False,
    suite_config=SuiteConfig(max_records_limit=60, ignore_no_records=False,
                             ignore_no_records_for_streams=["report_results"]),
)
