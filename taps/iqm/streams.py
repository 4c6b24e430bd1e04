"""IQM list streams: full table (no modified-since filter is documented), largest pages."""

from __future__ import annotations

import typing as t

from singer_sdk.pagination import SinglePagePaginator
from typing_extensions import override

from taps.iqm.client import IQMStream, PageSizeRefusedError
from taps.shared.pages import PageNumberPaginator

if t.TYPE_CHECKING:
    import requests
    from singer_sdk.helpers.types import Context, Record
    from singer_sdk.streams.rest import HTTPRequest, PageContext

#: "The maximum data size per page is 1K rows" (REST API reference).
MAX_PAGE_SIZE = 1000
#: Smallest page tried when an endpoint refuses the page size (422 "Invalid page size").
MIN_PAGE_SIZE = 50


class IQMPaginator(PageNumberPaginator):
    """1-based pages; a total that disagrees with what was read is a warning, not a failure.

    IQM's own examples carry inconsistent totals (``totalRecords: 2, filteredRecords: 50``),
    so the end comes from an empty or short page, a page without new ids, or the total.
    """

    @override
    def check_complete(self, response: requests.Response) -> None:
        if self.total is not None and len(self.ids) < self.total:
            self.shortfall = (self.total, len(self.ids))


class IQMListStream(IQMStream):
    """A list read page by page; each record once per run (a moved record is not repeated)."""

    primary_keys: t.ClassVar[tuple[str, ...]] = ("id",)
    replication_key = None
    #: The endpoint's largest page (500 on cmp/basic/list, the documented maximum).
    max_page_size: t.ClassVar[int] = MAX_PAGE_SIZE
    #: Page-size parameter, where the page fields go, and the stable order sent.
    size_param: t.ClassVar[str] = "noOfEntries"
    in_body: t.ClassVar[bool] = True
    sort_by: t.ClassVar[str] = ""
    #: Extra request fields (JSON body or query).
    extra: t.ClassVar[dict[str, t.Any]] = {}

    @property
    def page_size(self) -> int:
        """``page_size`` capped at the endpoint's maximum (and at what it accepted)."""
        configured = int(self.config.get("page_size") or self.max_page_size)
        return min(configured, self.max_page_size, getattr(self, "_accepted_size", configured))

    @override
    def get_records(self, context: Context | None) -> t.Iterable[dict[str, t.Any]]:
        self._seen: set[t.Any] = set()
        self._paginator: PageNumberPaginator | None = None
        while True:
            try:
                yield from super().get_records(context)
                break
            except PageSizeRefusedError:
                # Only the first page can be refused (the size never changes mid-stream);
                # halve it and start again, down to a floor.
                if self._seen or self.page_size <= MIN_PAGE_SIZE:
                    raise
                refused = self.page_size
                self._accepted_size = max(refused // 2, MIN_PAGE_SIZE)
                self.logger.warning("%s refused %d rows per page: reading pages of %d", self.path,
                                    refused, self._accepted_size)
        shortfall = getattr(self._paginator, "shortfall", None)
        if shortfall:
            self.logger.warning("%s: IQM reported %d records but %d distinct ones were read",
                                self.name, *shortfall)

    @override
    def get_new_paginator(self) -> PageNumberPaginator | SinglePagePaginator:
        self._paginator = IQMPaginator(
            page_base=1, page_size=self.page_size, records_path=self.records_path,
            total_path=(*self.records_path[:-1], "filteredRecords"), size_path=None,
            id_key=self.primary_keys[0], page_param="pageNo", size_param=self.size_param,
            in_body=self.in_body, base_setting="page_size")
        return self._paginator

    @override
    def get_http_request(self, *, page: PageContext) -> HTTPRequest:
        request = super().get_http_request(page=page)
        fields = {**self.extra, **({"sortBy": self.sort_by} if self.sort_by else {})}
        if self.in_body:
            request.data = {**(request.data if isinstance(request.data, dict) else {}),
                            **fields}
        else:
            request.params.update(fields)
        if self._paginator is not None:
            self._paginator.apply(request, page.next_page_token)
        return request

    @override
    def prepare_request_payload(self, context: Context | None,
                                next_page_token: t.Any) -> dict | None:
        return {} if self.in_body else None

    @override
    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        row = super().post_process(row, context) or row
        key = row.get(self.primary_keys[0])
        if key in self._seen:
            return None  # moved to a later page while we read: already emitted
        self._seen.add(key)
        return row


class Campaigns(IQMListStream):
    """Campaigns of the workspace (and of its customers: ``isAllOwIds``)."""

    name = "campaigns"
    path = "/api/v3/cmp/basic/list"
    http_method = "POST"
    primary_keys = ("campaignId",)
    max_page_size = 500
    sort_by = "+campaignId"
    extra: t.ClassVar[dict[str, t.Any]] = {"isAllOwIds": True}


class InsertionOrders(IQMListStream):
    """Insertion orders (``ioBasicDetailsList``)."""

    name = "insertion_orders"
    path = "/api/v3/cmp/io/basic/list"
    http_method = "POST"
    records_path = ("data", "ioBasicDetailsList")
    primary_keys = ("ioId",)
    sort_by = "+ioId"
    extra: t.ClassVar[dict[str, t.Any]] = {"isAllOwIds": True}


class Creatives(IQMListStream):
    """Creatives (``filteredList``)."""

    name = "creatives"
    path = "/api/v3/crt/creatives/list"
    http_method = "POST"
    records_path = ("data", "filteredList")
    primary_keys = ("creativeId",)
    sort_by = "+creativeId"
    extra: t.ClassVar[dict[str, t.Any]] = {"allOwIds": True}


class Audiences(IQMListStream):
    """Audiences, detailed list (``audienceList``)."""

    name = "audiences"
    path = "/api/v3/audience/list"
    http_method = "POST"
    records_path = ("data", "audienceList")
    primary_keys = ("audienceId",)
    sort_by = "+audienceId"


class Conversions(IQMListStream):
    """Conversions (pixels and postbacks): ``GET`` with ``pageNo`` and ``limit``."""

    name = "conversions"
    path = "/api/v3/conversion/list"
    size_param = "limit"
    in_body = False
    sort_by = "+id"


class SavedReports(IQMListStream):
    """Saved report definitions: one request, ``pageNo=-1`` (no pagination)."""

    name = "saved_reports"
    path = "/api/v3/ra/reports/list"
    in_body = False
    sort_by = "+id"
    extra: t.ClassVar[dict[str, t.Any]] = {"pageNo": -1}

    @override
    def get_new_paginator(self) -> SinglePagePaginator:
        return SinglePagePaginator()


LIST_STREAMS: tuple[type[IQMListStream], ...] = (
    Campaigns, InsertionOrders, Creatives, Audiences, Conversions, SavedReports)
