"""The base tap: per-run runtime (budgets, auth, retry policy), redaction, clear CLI errors."""

from __future__ import annotations

import abc
import logging
import sys
import typing as t
from functools import cached_property

import requests
from singer_sdk import Tap
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.singerlib import SingerMessageType
from typing_extensions import override

from taps.shared.errors import ConfigurationError
from taps.shared.ratelimit import RateBudget
from taps.shared.redaction import install_log_redaction, redact, register_secrets
from taps.shared.retry import BackoffPolicy

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from singer_sdk.singerlib import Message

logger = logging.getLogger(__name__)


class BufferedMsgSpecWriter(MsgSpecWriter):
    """msgspec encoding, written in 64 KiB blocks and flushed at every non-RECORD message.

    The SDK's writers flush after every record (a system call each). Here RECORDs before a
    STATE are always written out before that STATE, so a crash can only lose records whose
    bookmark was never emitted: at-least-once delivery holds.
    """

    block_bytes = 64 * 1024

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        """Start with an empty block."""
        super().__init__(*args, **kwargs)
        self._block = bytearray()

    def flush(self) -> None:
        """Write out the pending block."""
        if self._block:
            sys.stdout.buffer.write(self._block)
            self._block.clear()
        sys.stdout.flush()

    @override
    def write_message(self, message: Message) -> None:
        self._block += self.format_message(message)
        if message.type != SingerMessageType.RECORD or len(self._block) >= self.block_bytes:
            self.flush()


class TapRuntime:
    """What every stream of one tap run shares: rate budgets, one authenticator, the policy."""

    def __init__(
        self,
        *,
        policy: BackoffPolicy,
        budgets_per_minute: dict[str, float],
        make_authenticator: Callable[[TapRuntime], t.Any],
    ) -> None:
        """Budgets and the authenticator are created on first use."""
        self.policy = policy
        self.budgets_per_minute = budgets_per_minute
        self._budgets: dict[str, RateBudget] = {}
        self._make_authenticator = make_authenticator
        self.host_reached = False

    def budget(self, name: str) -> RateBudget:
        """The shared budget called ``name``."""
        if name not in self._budgets:
            self._budgets[name] = RateBudget(name, self.budgets_per_minute[name])
        return self._budgets[name]

    @cached_property
    def authenticator(self) -> t.Any:
        """One authenticator per process: one login shared by every stream."""
        return self._make_authenticator(self)


def common_properties(*, requests_per_minute: int, api_url: str) -> list[th.Property]:
    """Settings every tap in this project has, with the same names and meanings."""
    return [
        th.Property("api_url", th.StringType, default=api_url,
                    description="Base URL of the API (change it to use a local emulator)."),
        th.Property("start_date", th.DateTimeType,
                    description="Earliest record time to extract on the first run (ISO-8601)."),
        th.Property("user_agent", th.StringType,
                    description="User-Agent header sent with every request."),
        th.Property("max_requests_per_minute", th.IntegerType, default=requests_per_minute,
                    description="Request budget shared by all streams of one run, spread "
                                "evenly over each second."),
        th.Property("max_retries", th.IntegerType, default=8,
                    description="Retries of a failed request (429, 5xx, reset, timeout, "
                                "truncated body) before the run fails."),
        th.Property("max_wait_seconds", th.IntegerType, default=300,
                    description="Longest single wait between retries, including a server's "
                                "Retry-After."),
        th.Property("backoff_base_milliseconds", th.IntegerType, default=1000,
                    description="First retry wait when the server gives none; doubles on "
                                "each retry, with jitter."),
        th.Property("request_timeout_seconds", th.IntegerType, default=300,
                    description="Seconds to wait for a response before retrying."),
    ]


class ResilientTap(Tap):
    """A tap with one runtime per run, secrets redacted from logs, and a preflight check."""

    message_writer_class = BufferedMsgSpecWriter
    #: The distribution every tap ships in (for --version and --about).
    package_name = "vendor-taps"

    #: Rate budgets: name -> (setting, default requests per minute).
    budget_settings: t.ClassVar[dict[str, tuple[str, int]]] = {
        "api": ("max_requests_per_minute", 60),
    }

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        """Register secret settings for redaction as soon as the config is known."""
        install_log_redaction()
        super().__init__(*args, **kwargs)
        register_secrets(self.secret_values())

    def secret_values(self) -> list[str]:
        """Values of every setting declared ``secret`` in the config schema."""
        properties = self.config_jsonschema.get("properties", {})
        return [
            str(self.config[name]) for name, spec in properties.items()
            if spec.get("secret") and self.config.get(name)
        ]

    @cached_property
    def runtime(self) -> TapRuntime:
        """The shared runtime, built from the config on first use."""
        policy = BackoffPolicy(
            max_retries=int(self.config.get("max_retries", 8)),
            max_wait_seconds=float(self.config.get("max_wait_seconds", 300)),
            base_seconds=int(self.config.get("backoff_base_milliseconds", 1000)) / 1000,
        )
        budgets = {
            name: float(default if self.config.get(setting) is None else self.config[setting])
            for name, (setting, default) in self.budget_settings.items()
        }
        return TapRuntime(
            policy=policy, budgets_per_minute=budgets, make_authenticator=self.make_authenticator,
        )

    @abc.abstractmethod
    def make_authenticator(self, runtime: TapRuntime) -> t.Any:
        """Build the run's authenticator from the config."""

    def preflight(self) -> None:
        """Check settings before syncing; raise ConfigurationError with a one-line fix."""
        for name, (setting, _default) in self.budget_settings.items():
            if self.runtime.budgets_per_minute[name] <= 0:
                msg = f"{setting} must be a positive number of requests per minute"
                raise ConfigurationError(msg)
        url = str(self.config.get("api_url", ""))
        if not url.startswith(("http://", "https://")):
            msg = f"api_url must be an http(s) URL, got {url!r}"
            raise ConfigurationError(msg)

    @override
    def sync_all(self) -> None:
        self.preflight()
        super().sync_all()


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, (FatalAPIError, RetriableAPIError)):
        text = str(exc)
    elif isinstance(exc, requests.RequestException):
        text = f"network error after all retries ({type(exc).__name__}): {exc}"
    else:
        text = f"unexpected {type(exc).__name__}: {exc} (rerun with LOGLEVEL=DEBUG for details)"
    return redact(" ".join(text.split()))


def run_cli(tap_class: type[Tap]) -> None:
    """Console-script entry point: the SDK CLI, with failures reported as one clear line."""
    install_log_redaction()
    try:
        tap_class.cli()
    except Exception as exc:
        logger.debug("Failure details", exc_info=True)
        sys.stdout.flush()
        sys.stderr.write(f"{tap_class.name}: error: {_one_line(exc)}\n")
        sys.exit(1)
