"""Adnuntius list streams: ``GET /api/v1/<resource>`` in pages, incremental on ``updateTime``."""

from __future__ import annotations

import typing as t

from typing_extensions import override

from taps.adnuntius.client import AdnuntiusStream
from taps.shared.pages import PageNumberPaginator
from taps.shared.timestamps import iso_utc, to_datetime

if t.TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterable

    from singer_sdk.helpers.types import Context, Record

#: The three state flags together: HIDDEN (deleted) objects arrive instead of vanishing.
STATE_FLAGS = {"includeActive": "true", "includeInactive": "true", "includeHidden": "true"}


class AdnuntiusListStream(AdnuntiusStream):
    """A list resource: every state, page by page, each object once per run.

    The API documents no modified-since filter, so by default every object is read and those
    with ``updateTime`` before the bookmark are dropped here; ``server_side_update_filter``
    sends ``where=updateTime>=<bookmark>`` instead. Reference objects stay as they are and
    their ids are copied beside them (``joins``).
    """

    records_path = ("results",)
    primary_keys = ("id",)
    replication_key = "updateTime"
    is_sorted = False  # the API's default order is undocumented
    #: Join id -> the reference fields (first present wins) it is copied from.
    joins: t.ClassVar[dict[str, tuple[str, ...]]] = {}

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        bookmark = self.get_context_state(context).get("replication_key_value")
        self._since: dt.datetime | None = to_datetime(bookmark) if bookmark else None
        self._seen: set[str] = set()
        self._time_fields = [name for name, spec in self.schema["properties"].items()
                             if spec.get("format") == "date-time"]
        self._join_fields = (*self.joins.items(), ("network_id", ("network",)))
        return super().get_records(context)

    @override
    def get_new_paginator(self) -> PageNumberPaginator:
        self._paginator = PageNumberPaginator(page_base=int(self.config.get("page_base", 0)),
                                              page_size=int(self.config.get("page_size", 100)))
        return self._paginator

    @override
    def get_url_params(self, context: Context | None, next_page_token: t.Any) -> dict[str, t.Any]:
        params = super().get_url_params(context, next_page_token)
        params.update(STATE_FLAGS)
        params.update(self._paginator.fields(next_page_token))
        if self._since is not None and self.config.get("server_side_update_filter"):
            params["where"] = f"updateTime>={iso_utc(self._since)}"
        return params

    @override
    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        identifier = row.get("id")
        if identifier in self._seen:
            return None  # moved to a later page while we read: already emitted
        self._seen.add(identifier)
        for name in self._time_fields:
            try:
                row[name] = iso_utc(row.get(name))
            except ValueError:
                self.logger.warning("%s %s: unreadable %s %r kept as is", self.name,
                                    identifier, name, row.get(name))
        if self._since is not None and row.get("updateTime"):
            try:
                if to_datetime(row["updateTime"]) < self._since:
                    return None
            except ValueError:
                pass
        for join, fields in self._join_fields:
            found = None
            for field in fields:  # the first reference that carries an id
                ref = row.get(field)
                if isinstance(ref, dict) and (found := ref.get("id")):
                    break
            row[join] = found or None
        return row


class Advertisers(AdnuntiusListStream):
    """Advertisers; the owning team is ``team`` or (newer docs) ``ownerTeam``."""

    name = "advertisers"
    path = "/v1/advertisers"
    joins: t.ClassVar[dict[str, tuple[str, ...]]] = {"team_id": ("team", "ownerTeam")}


class Orders(AdnuntiusListStream):
    """Orders of advertisers."""

    name = "orders"
    path = "/v1/orders"
    joins: t.ClassVar[dict[str, tuple[str, ...]]] = {
        "advertiser_id": ("advertiser",), "team_id": ("team",),
        "salesperson_user_id": ("salespersonUser",), "ad_ops_user_id": ("adOpsUser",),
    }


class LineItems(AdnuntiusListStream):
    """Line items (``lineitems``) of orders."""

    name = "line_items"
    path = "/v1/lineitems"
    joins: t.ClassVar[dict[str, tuple[str, ...]]] = {"order_id": ("order",),
                                                     "tier_id": ("tier",)}


class Creatives(AdnuntiusListStream):
    """Creatives of line items."""

    name = "creatives"
    path = "/v1/creatives"
    joins: t.ClassVar[dict[str, tuple[str, ...]]] = {"line_item_id": ("lineItem",),
                                                     "layout_id": ("layout",)}


class Sites(AdnuntiusListStream):
    """Sites (inventory)."""

    name = "sites"
    path = "/v1/sites"
    joins: t.ClassVar[dict[str, tuple[str, ...]]] = {
        "earnings_account_id": ("earningsAccount",), "site_group_id": ("siteGroup",)}


class AdUnits(AdnuntiusListStream):
    """Ad units (``adunits``) of sites."""

    name = "ad_units"
    path = "/v1/adunits"
    joins: t.ClassVar[dict[str, tuple[str, ...]]] = {"site_id": ("site",)}


class EarningsAccounts(AdnuntiusListStream):
    """Earnings accounts (``earningsaccounts``) of publishers."""

    name = "earnings_accounts"
    path = "/v1/earningsaccounts"


class SiteGroups(AdnuntiusListStream):
    """Site groups (``sitegroups``)."""

    name = "site_groups"
    path = "/v1/sitegroups"


class Teams(AdnuntiusListStream):
    """Teams."""

    name = "teams"
    path = "/v1/teams"


class Tiers(AdnuntiusListStream):
    """Tiers (line-item priorities)."""

    name = "tiers"
    path = "/v1/tiers"


class Users(AdnuntiusListStream):
    """Users of the network."""

    name = "users"
    path = "/v1/users"


class Segments(AdnuntiusListStream):
    """Audience segments."""

    name = "segments"
    path = "/v1/segments"


LIST_STREAMS: tuple[type[AdnuntiusListStream], ...] = (
    Advertisers, Orders, LineItems, Creatives, Sites, AdUnits, EarningsAccounts, SiteGroups,
    Teams, Tiers, Users, Segments,
)
