"""tap-amperity: the Amperity API and Profile API as Singer streams."""

from __future__ import annotations

import time
import typing as t

from singer_sdk import typing as th
from typing_extensions import override

from taps.amperity import streams
from taps.amperity.client import CONTROL_PLANE_VERSION, PROFILE_API_VERSION, UNSTABLE_VERSION
from taps.shared.auth import (
    RefreshingBearerAuth,
    StaticBearerAuth,
    TokenEndpoint,
    TokenGrant,
    parse_token_response,
)
from taps.shared.errors import ConfigurationError
from taps.shared.tap import ResilientTap, TapRuntime, common_properties, run_cli

if t.TYPE_CHECKING:
    from singer_sdk.streams import Stream


class TapAmperity(ResilientTap):
    """Singer tap for Amperity.

    Extracts `audit_events`, `workflow_runs`, `ingest_jobs`, `campaigns`, `segments` and
    (with `include_campaign_drafts`) `campaign_drafts` from the Amperity API, and
    `profile_indexes` with their `profiles` from the Profile API. Authenticates with the
    tenant ID and either an access token or OAuth client credentials (client ID and client
    secret, exchanged for tokens at the token endpoint). All three come from the Amperity UI
    under Settings > Security > API keys, in the key's menu: Copy tenant ID, Get token, Get
    OAuth credentials; the key needs the DataGrid Operator type for the Amperity API and
    Profile API Data Access for the profile streams.
    """

    # --about (JSON, text and Markdown) prints __doc__ verbatim: one paragraph, no indentation.
    __doc__ = " ".join((__doc__ or "").split())

    name = "tap-amperity"
    auth_modes: t.ClassVar[tuple[tuple[str, tuple[str, ...]], ...]] = (
        ("OAuth client credentials", ("client_id", "client_secret")),
        ("access token", ("access_token",)),
    )
    budget_settings: t.ClassVar[dict[str, tuple[str, int]]] = {
        "api": ("max_requests_per_minute", 600),  # Amperity API: 10 requests/second
        "profile": ("profile_max_requests_per_minute", 120_000),  # Profile API: 2000/second
    }

    config_jsonschema = th.PropertiesList(
        th.Property("tenant", th.StringType,
                    description="Tenant ID (Settings > Security > API keys > Copy tenant ID); "
                                "sent as the Amperity-Tenant header."),
        th.Property("access_token", th.StringType, secret=True,
                    description="Access token generated in the Amperity UI "
                                "(API key > Get token)."),
        th.Property("client_id", th.StringType,
                    description="OAuth client ID (API key > Get OAuth credentials)."),
        th.Property("client_secret", th.StringType, secret=True,
                    description="OAuth client secret; used with client_id instead of "
                                "access_token."),
        th.Property("token_url", th.StringType,
                    description="OAuth token endpoint shown with the client credentials "
                                "(default: <api_url>/v0/oauth2/token)."),
        th.Property("include_campaign_drafts", th.BooleanType, default=False,
                    description="Also extract campaign drafts (an unstable API that may change "
                                "without notice)."),
        th.Property("profiles_changed_indexes_only", th.BooleanType, default=False,
                    description="Skip the profiles of an index whose updated_at is older than "
                                "the last run's bookmark (indexes are rebuilt as a whole)."),
        th.Property("workflow_lookback_days", th.IntegerType(minimum=0), default=7,
                    description="Days before the bookmark to re-read workflow runs, so runs "
                                "that changed state are updated."),
        th.Property("ingest_lookback_days", th.IntegerType(minimum=0), default=1,
                    description="Days before the bookmark to re-read ingest jobs, so jobs still "
                                "running at the last sync are updated."),
        th.Property("ingest_window_days", th.IntegerType(minimum=1, maximum=7), default=7,
                    description="Width of each ingest-jobs request window (at most 7 days)."),
        th.Property("page_size", th.IntegerType(minimum=1, maximum=1000), default=1000,
                    description="Records per page for the Amperity API (limit)."),
        th.Property("profile_page_size", th.IntegerType(minimum=1, maximum=1000), default=1000,
                    description="Profiles per page for the Profile API (limit)."),
        th.Property("api_version", th.StringType, default=CONTROL_PLANE_VERSION,
                    description="api-version header for the Amperity API."),
        th.Property("profile_api_version", th.StringType, default=PROFILE_API_VERSION,
                    description="api-version header for the Profile API."),
        th.Property("campaign_drafts_api_version", th.StringType, default=UNSTABLE_VERSION,
                    description="api-version header for campaign drafts."),
        th.Property("profile_max_requests_per_minute", th.IntegerType(minimum=1), default=120_000,
                    description="Request budget for the Profile API (documented: 2000/second "
                                "per tenant, sandboxes included)."),
        *common_properties(requests_per_minute=600, api_url="https://app.amperity.com/api"),
        additional_properties=False,
    ).to_dict()

    @override
    def discover_streams(self) -> list[Stream]:
        classes: list[type[Stream]] = [
            streams.AuditEvents, streams.WorkflowRuns, streams.IngestJobs, streams.Campaigns,
            streams.Segments, streams.ProfileIndexes, streams.Profiles,
        ]
        if self.config.get("include_campaign_drafts"):
            classes.append(streams.CampaignDrafts)
        return [cls(tap=self) for cls in classes]

    @property
    def token_url(self) -> str:
        """The OAuth token endpoint."""
        default = f"{str(self.config['api_url']).rstrip('/')}/v0/oauth2/token"
        return str(self.config.get("token_url") or default)

    @override
    def make_authenticator(self, runtime: TapRuntime) -> t.Any:
        if self.config.get("client_id") and self.config.get("client_secret"):
            endpoint = TokenEndpoint(
                policy=runtime.policy,
                settings_hint="client_id, client_secret, tenant and token_url",
                timeout_seconds=float(self.config.get("request_timeout_seconds", 300)),
                budget=runtime.budget("api"),
            )

            def login() -> TokenGrant:
                body = endpoint.post(
                    self.token_url,
                    data={"grant_type": "client_credentials",
                          "client_id": str(self.config["client_id"]),
                          "client_secret": str(self.config["client_secret"])},
                    headers={"X-Amperity-Tenant": str(self.config["tenant"])},
                )
                try:
                    return parse_token_response(body, now=time.monotonic(),
                                                default_ttl_seconds=3600)
                except ValueError as exc:
                    raise ConfigurationError(f"{exc}: check token_url") from None

            return RefreshingBearerAuth(login=login, clock=time.monotonic)
        return StaticBearerAuth(str(self.config.get("access_token", "")))

    @override
    def preflight(self) -> None:
        super().preflight()
        if not self.config.get("tenant"):
            msg = ("Missing setting tenant (TAP_AMPERITY_TENANT): the tenant ID from Settings > "
                   "Security > API keys > Copy tenant ID.")
            raise ConfigurationError(msg)
        if self.runtime.authenticator.can_refresh:
            _ = self.runtime.authenticator.token  # log in now: bad credentials fail first


def main() -> None:
    """Console script ``tap-amperity``."""
    run_cli(TapAmperity)


if __name__ == "__main__":
    main()
