"""tap-iqm: IQM's REST API as Singer streams, within its 20 requests per minute."""

from __future__ import annotations

import typing as t

from singer_sdk import typing as th
from typing_extensions import override

from taps.iqm.auth import IQMAuth, make_iqm_auth
from taps.iqm.reports import ReportLookups, ReportSpec, ReportStream, default_report
from taps.iqm.streams import LIST_STREAMS
from taps.shared.errors import ConfigurationError
from taps.shared.tap import ResilientTap, TapRuntime, common_properties, run_cli

if t.TYPE_CHECKING:
    from singer_sdk.streams import Stream

#: "20 requests per minute" (REST API reference): the tap's default budget.
DEFAULT_REQUESTS_PER_MINUTE = 20
REQUIRED = ("client_id", "client_secret", "username", "password")


class TapIQM(ResilientTap):
    """Singer tap for IQM (programmatic advertising).

    Extracts `campaigns`, `insertion_orders`, `creatives`, `audiences`, `conversions` and
    `saved_reports` (full table: IQM documents no modified-since filter) and performance
    reports from the Reports API: `campaign_daily_report` (impressions, clicks, spend, eCPM,
    VCR, reach and win rate per campaign and local day) plus one stream per entry of the
    `reports` setting, incremental on `date` with a look-back. Authenticates with the API
    client IQM issues (`client_id`, `client_secret`) and an IQM login (`username`,
    `password`); the workspace comes from `ow_id` or the login. All requests share one
    budget of `max_requests_per_minute` (IQM allows 20).
    """

    # --about (JSON, text and Markdown) prints __doc__ verbatim: one paragraph, no indentation.
    __doc__ = " ".join((__doc__ or "").split())

    name = "tap-iqm"
    budget_settings: t.ClassVar[dict[str, tuple[str, int]]] = {
        "api": ("max_requests_per_minute", DEFAULT_REQUESTS_PER_MINUTE),
    }

    config_jsonschema = th.PropertiesList(
        th.Property("client_id", th.StringType,
                    description="API client id issued by IQM (support@iqm.com)."),
        th.Property("client_secret", th.StringType, secret=True,
                    description="API client secret, sent as Basic auth to the token endpoint."),
        th.Property("username", th.StringType, description="IQM login e-mail."),
        th.Property("password", th.StringType, secret=True,
                    description="Password of the IQM login."),
        th.Property("ow_id", th.IntegerType(minimum=1),
                    description="Organization Workspace ID sent as X-IAA-OW-ID (default: "
                                "the login's, from the token response or /ua/user/ow-id)."),
        th.Property("customer_ids", th.ArrayType(th.IntegerType),
                    description="Workspace users: customer workspace ids the reports cover "
                                "(customerIds; default: the API's, all)."),
        th.Property("page_size", th.IntegerType(minimum=1),
                    description="Rows per page (default and ceiling: each endpoint's maximum, "
                                "500 for campaigns, 1000 elsewhere)."),
        th.Property("report_timezone", th.StringType, default="UTC",
                    description="Time zone (an IQM time zone name such as UTC or US/Eastern) "
                                "of campaign_daily_report and of reports without timezone."),
        th.Property("report_lookback_days", th.IntegerType(minimum=0), default=3,
                    description="Days before the report bookmark read again each run (data "
                                "lands about an hour late and may be restated)."),
        th.Property("reports", th.ArrayType(th.ObjectType(
            th.Property("name", th.StringType, required=True,
                        description="Stream name (snake_case)."),
            th.Property("dimensions", th.ArrayType(th.StringType), required=True,
                        description="Dimension keys, e.g. campaign, creative, deviceType."),
            th.Property("columns", th.ArrayType(th.StringType), required=True,
                        description="Metric keys, e.g. impressions, clicks, spent."),
            th.Property("request_type", th.IntegerType, default=1,
                        description="1 daily, 3 weekly, 4 monthly."),
            th.Property("timezone", th.StringType,
                        description="IQM time zone name (default: report_timezone)."),
            additional_properties=False,
        )), description="Extra reports, one stream each (campaign_daily_report is always "
                        "there)."),
        th.Property("rate_limit_window_seconds", th.NumberType(minimum=0), default=60,
                    description="IQM's rate window: a 429 (sent without Retry-After) waits "
                                "this long before the retry."),
        *common_properties(requests_per_minute=DEFAULT_REQUESTS_PER_MINUTE,
                           api_url="https://api.iqm.com"),
        additional_properties=False,
    ).to_dict()

    @property
    def min_429_wait_seconds(self) -> float:  # type: ignore[override]
        """A header-less 429 waits the limiter's whole window."""
        return float(self.config.get("rate_limit_window_seconds", 60))

    def report_specs(self) -> list[ReportSpec]:
        """The default report and the configured ones (names must be unique)."""
        zone = str(self.config.get("report_timezone") or "UTC")
        specs = [default_report(zone)]
        specs += [ReportSpec.from_setting(item, zone) for item in self.config.get("reports") or []]
        names = [s.name for s in specs] + [cls.name for cls in LIST_STREAMS]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            msg = f"reports: stream name {', '.join(duplicates)} is already taken"
            raise ConfigurationError(msg)
        return specs

    @override
    def discover_streams(self) -> list[Stream]:
        lookups = ReportLookups()
        return [*(cls(tap=self) for cls in LIST_STREAMS),
                *(ReportStream(self, spec, lookups) for spec in self.report_specs())]

    @override
    def make_authenticator(self, runtime: TapRuntime) -> IQMAuth:
        return make_iqm_auth(self.config, policy=runtime.policy, budget=runtime.budget("api"))

    @override
    def preflight(self) -> None:
        super().preflight()
        missing = [name for name in REQUIRED if not self.config.get(name)]
        if missing:
            names = ", ".join(f"{n} (TAP_IQM_{n.upper()})" for n in missing)
            msg = f"Missing setting {names}: IQM needs an API client and a login."
            raise ConfigurationError(msg)
        auth = self.runtime.authenticator
        _ = auth.ow_id  # log in now: bad credentials fail before any stream starts
        self.logger.info("IQM workspace %s (from %s)", auth.ow_id, auth.ow_id_source)


def main() -> None:
    """Console script ``tap-iqm``."""
    run_cli(TapIQM)


if __name__ == "__main__":
    main()
