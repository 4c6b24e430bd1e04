"""What the taps log: no routine noise, and a fatal error as one line at ERROR."""

from __future__ import annotations

import logging
import os
import sys

#: Messages logged on every run that nobody acts on: shown at DEBUG only.
NOISE_PREFIXES = (
    "Stream is assumed to be unsorted",  # SDK, per unsorted stream (documented in the README)
    "Skipping parse of env var settings",  # SDK, whenever settings come from a file
    "An unhandled error occurred while syncing",  # SDK; the one-line error follows
)
NOISY_LOGGERS = ("singer_sdk",)


class _DemoteNoise(logging.Filter):
    """Let a known routine message through only when DEBUG output is on."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith(NOISE_PREFIXES):
            return True
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


_FILTER = _DemoteNoise()


def quiet_known_noise(*logger_names: str) -> None:
    """Attach the noise filter to these loggers and the known noisy ones (idempotent).

    Filters do not inherit: each stream's child logger is named here too.
    """
    for name in (*NOISY_LOGGERS, *logger_names):
        target = logging.getLogger(name)
        if _FILTER not in target.filters:
            target.addFilter(_FILTER)


def report_fatal(tap_name: str, text: str, *, closed_output: bool = False) -> None:
    """Log ``<tap>: error: <text>`` once at ERROR, so Meltano shows it at any log level."""
    if not logging.getLogger().handlers:  # failed before the SDK set up logging
        _sdk_console_logging(tap_name)
    logging.getLogger(tap_name).error("%s: error: %s", tap_name, text)
    if closed_output:
        # Nothing more can reach the reader; keep the interpreter's exit from failing again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _sdk_console_logging(tap_name: str) -> None:
    """The SDK's own console logging (its format, or SINGER_SDK_LOG_CONFIG's JSON)."""
    try:
        from singer_sdk._logging import _setup_console_logging  # noqa: PLC0415
        from singer_sdk.plugin_base import _plugin_log_level  # noqa: PLC0415

        _setup_console_logging(log_level=_plugin_log_level(plugin_name=tap_name))
    except (ImportError, TypeError):  # a private SDK helper moved: plain lines will do
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logging.getLogger().addHandler(handler)
