"""The list endpoints: request fields per operation, filters, sorting and pages.

Request schemas follow each operation in the MCP files (field names and types); maxima:
500 on ``cmp/basic/list`` (DOCS campaign-api), 1000 elsewhere (the global "1K rows" cap).
"""

from __future__ import annotations

import typing as t

from emulators.iqm.data import OW_ID
from emulators.iqm.errors import IQMError, page_size

if t.TYPE_CHECKING:
    from emulators.iqm.data import Dataset

I32, I64, BOOL, STR = "int32", "int64", "bool", "str"
LIST_I32 = ("list", I32, False)
UNIQUE_I32 = ("list", I32, True)
PAGING = {"pageNo": I32, "noOfEntries": I32, "sortBy": STR, "searchField": STR,
          "sortCriteriaMap": "strmap"}
ODD_ORDER = ("enum", "SortOrderEnum[id=1, name='asc', symbol='+']",
             "SortOrderEnum[id=2, name='desc', symbol='-']")  # as the specs declare it

#: operation -> (request fields, list key, default size, maximum)
CAMPAIGN_FIELDS = {**PAGING, "campaignIds": LIST_I32, "owIds": LIST_I32, "isAllOwIds": BOOL,
                   "status": ("list", STR, False), "creativeTypeIds": LIST_I32,
                   "ids": LIST_I32, "responseFields": ("list", STR, False),
                   "ioIdsList": LIST_I32, "campaignTypeIds": LIST_I32,
                   "order": ("enum", "asc", "desc")}
IO_FIELDS = {**PAGING, "owIdList": LIST_I32, "ids": UNIQUE_I32, "ioIdList": LIST_I32,
             "ioBudgetTypeIdsList": LIST_I32, "ioStatusIdsList": LIST_I32,
             "isAllOwIds": BOOL, "order": ("enum", "asc", "desc")}
CREATIVE_FIELDS = {**PAGING, "creativeStatusIds": UNIQUE_I32,
                   "platformCreativeTypeIds": UNIQUE_I32, "creativeIds": UNIQUE_I32,
                   "creativeGroupId": I32, "campaignIds": UNIQUE_I32, "owIds": UNIQUE_I32,
                   "allOwIds": BOOL, "includeCreativeSourceDetails": BOOL,
                   "includeOrganizationDetails": BOOL, "includeUserDetails": BOOL,
                   "startTime": I64, "endTime": I64, "order": ODD_ORDER}
AUDIENCE_FIELDS = {**PAGING, "audienceIds": UNIQUE_I32, "audienceTypeIds": UNIQUE_I32,
                   "audienceSubtypeIds": UNIQUE_I32, "dataPartnerIds": UNIQUE_I32,
                   "owIds": UNIQUE_I32, "audienceStatusIds": UNIQUE_I32,
                   "searchFields": ("list", STR, True), "includeGenericAudience": BOOL,
                   "audienceTypeIdsWithAllSubtypes": UNIQUE_I32, "order": ODD_ORDER}
CAMPAIGN_RESPONSE_FIELDS = {"id", "campaignId", "name", "creativeTypeId", "status", "startTime",
                            "endTime", "createdAt", "modifiedAt", "owId", "organizationName",
                            "organizationLogo"}


class Page(t.NamedTuple):
    """Rows of one page plus the totals the envelope reports."""

    rows: list[dict[str, t.Any]]
    total: int
    filtered: int


def parse_sort(sort: str | None, order: t.Any, allowed: set[str],
               default: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """``+field``/``-field`` (comma separated), else 422 "Invalid sortBy value." [research]."""
    if not sort or not sort.strip():
        return default
    keys = []
    for raw in sort.split(","):
        part = raw.strip()
        field = part.lstrip("+-")
        if field not in allowed:
            raise IQMError(422, "Invalid sortBy value.")
        descending = part.startswith("-") or (part[:1] not in "+-" and "desc" in str(order))
        keys.append((field, descending))
    return keys


def select(total: int, render: t.Callable[[int], dict[str, t.Any]], *,
           keep: t.Callable[[dict[str, t.Any]], bool] | None, sort: list[tuple[str, bool]],
           id_field: str, first: t.Collection[int] = ()) -> t.Sequence[int]:
    """Indices in answer order: filtered, sorted (id order needs no rendering), prioritised."""
    indices: t.Sequence[int] = range(total)
    if keep is not None:
        indices = [i for i in indices if keep(render(i))]
    for field, descending in reversed(sort):
        if field == id_field:  # ids grow with the index
            indices = indices[::-1] if descending else indices
        else:
            indices = sorted(indices, key=lambda i, f=field: _key(render(i).get(f)),
                             reverse=descending)
    if first:  # "ids": these come first, other records follow (research 1.4)
        wanted = set(first)
        indices = [*(i for i in indices if render(i)[id_field] in wanted),
                   *(i for i in indices if render(i)[id_field] not in wanted)]
    return indices


def _key(value: t.Any) -> tuple:
    return (value is None, str(value).lower() if isinstance(value, str) else value or 0)


def page_of(indices: t.Sequence[int], total: int, render: t.Callable[[int], dict[str, t.Any]],
            page: int, size: int) -> Page:
    """Page ``page`` (1-based) of ``size`` rows."""
    chosen = indices[(page - 1) * size:page * size]
    return Page([render(i) for i in chosen], total, len(indices))


def _matches(text: str, *values: t.Any) -> bool:
    needle = text.strip().lower()
    return not needle or any(needle in str(v).lower() for v in values)


class Lists:
    """Every list endpoint of one dataset (workspace ``OW_ID``; others hold nothing)."""

    def __init__(self, ds: Dataset) -> None:
        """Lists over ``ds``."""
        self.ds = ds

    def campaigns(self, body: dict[str, t.Any], ow_id: int) -> Page:
        """``POST /api/v3/cmp/basic/list`` (noOfEntries default 20, max 500)."""
        size = page_size(_int(body, "noOfEntries", 20), 500)
        page = max(_int(body, "pageNo", 1), 1)  # GUESS: a page below 1 is the first
        ds, total = self.ds, self._total("campaigns", ow_id, body.get("owIds"))
        sort = parse_sort(body.get("sortBy"), body.get("order"),
                          set(ds.campaign(0)) if total else {"campaignId"},
                          [("campaignId", False)])  # GUESS: default order
        filters = {k: set(body.get(k) or []) for k in ("campaignIds", "creativeTypeIds",
                                                       "campaignTypeIds", "ioIdsList")}
        statuses = {str(s).lower() for s in body.get("status") or []}
        search = str(body.get("searchField") or "")
        keep = None
        if any(filters.values()) or statuses or search.strip():
            def keep(r: dict[str, t.Any]) -> bool:
                return ((not filters["campaignIds"] or r["campaignId"] in filters["campaignIds"])
                        and (not filters["creativeTypeIds"]
                             or r["creativeTypeId"] in filters["creativeTypeIds"])
                        and (not filters["campaignTypeIds"]
                             or r["campaignTypeId"] in filters["campaignTypeIds"])
                        and (not filters["ioIdsList"] or r["ioId"] in filters["ioIdsList"])
                        and (not statuses or r["status"] in statuses)
                        and _matches(search, r["campaignId"], r["name"]))
        indices = select(total, ds.campaign, keep=keep, sort=sort, id_field="campaignId",
                         first=body.get("ids") or ())
        fields = set(body.get("responseFields") or []) & CAMPAIGN_RESPONSE_FIELDS

        def render(i: int) -> dict[str, t.Any]:
            row = ds.campaign(i)
            if fields:  # GUESS: "id" is the campaign id
                row = {k: (row["campaignId"] if k == "id" else row[k]) for k in sorted(fields)}
            return row
        return page_of(indices, total, render, page, size)

    def insertion_orders(self, body: dict[str, t.Any], ow_id: int) -> Page:
        """``POST /api/v3/cmp/io/basic/list`` (GUESS: default 20, max 1000)."""
        size = page_size(_int(body, "noOfEntries", 20), 1000)
        page = max(_int(body, "pageNo", 1), 1)
        ds, total = self.ds, self._total("insertion_orders", ow_id, body.get("owIdList"))
        sort = parse_sort(body.get("sortBy"), body.get("order"),
                          {"ioId", "ioName", "ioStartTime", "ioEndTime", "ioTotalBudget"},
                          [("ioId", False)])
        ids, types = set(body.get("ioIdList") or []), set(body.get("ioBudgetTypeIdsList") or [])
        statuses = set(body.get("ioStatusIdsList") or [])
        search = str(body.get("searchField") or "")
        keep = None
        if ids or types or statuses or search.strip():
            def keep(r: dict[str, t.Any]) -> bool:
                return ((not ids or r["ioId"] in ids)
                        and (not types or r["ioBudgetTypeId"] in types)
                        and (not statuses or r["ioStatusId"] in statuses)
                        and _matches(search, r["ioId"], r["ioName"]))
        indices = select(total, ds.insertion_order, keep=keep, sort=sort, id_field="ioId",
                         first=body.get("ids") or ())
        return page_of(indices, total, ds.insertion_order, page, size)

    def creatives(self, body: dict[str, t.Any], ow_id: int) -> Page:
        """``POST /api/v3/crt/creatives/list`` (GUESS: default 20, max 1000)."""
        size = page_size(_int(body, "noOfEntries", 20), 1000)
        page = max(_int(body, "pageNo", 1), 1)
        owners = None if body.get("allOwIds") else body.get("owIds")
        ds, total = self.ds, self._total("creatives", ow_id, owners)
        sort = parse_sort(body.get("sortBy"), body.get("order"),
                          {"creativeId", "creativeName", "createdAt", "modifiedAt",
                           "creativeStatusId", "platformCreativeTypeId"},
                          [("creativeId", False)])
        sets = {k: set(body.get(k) or []) for k in ("creativeStatusIds",
                                                    "platformCreativeTypeIds",
                                                    "creativeIds", "campaignIds")}
        lo, hi = body.get("startTime"), body.get("endTime")
        search = str(body.get("searchField") or "")
        keep = None
        if any(sets.values()) or lo is not None or hi is not None or search.strip():
            def keep(r: dict[str, t.Any]) -> bool:
                # GUESS: the date range filters createdAt
                return ((not sets["creativeStatusIds"]
                         or r["creativeStatusId"] in sets["creativeStatusIds"])
                        and (not sets["platformCreativeTypeIds"]
                             or r["platformCreativeTypeId"] in sets["platformCreativeTypeIds"])
                        and (not sets["creativeIds"] or r["creativeId"] in sets["creativeIds"])
                        and (not sets["campaignIds"] or bool(
                            sets["campaignIds"] & set(r["campaignDetails"]["campaignIds"])))
                        and (lo is None or r["createdAt"] >= lo)
                        and (hi is None or r["createdAt"] <= hi)
                        and _matches(search, r["creativeId"], r["creativeName"]))
        indices = select(total, ds.creative, keep=keep, sort=sort, id_field="creativeId")
        return page_of(indices, total, ds.creative, page, size)

    def audiences(self, body: dict[str, t.Any], ow_id: int) -> Page:
        """``POST /api/v3/audience/list`` (422 "Invalid page size" in its own shape)."""
        size = page_size(_int(body, "noOfEntries", 20), 1000, shape="error")
        page = _int(body, "pageNo", 1)
        if page < 1:  # "page size is negative or page number is invalid" (MCP example)
            page_size(0, 1, shape="error")
        ds, total = self.ds, self._total("audiences", ow_id, body.get("owIds"))
        sort = parse_sort(body.get("sortBy"), body.get("order"),
                          {"audienceId", "audienceName", "createdAt", "audienceStatusId",
                           "audienceTypeId"}, [("audienceId", False)])
        sets = {k: set(body.get(k) or []) for k in ("audienceIds", "audienceTypeIds",
                                                    "audienceStatusIds")}
        search = str(body.get("searchField") or "")
        keep = None
        if any(sets.values()) or search.strip():
            def keep(r: dict[str, t.Any]) -> bool:
                return ((not sets["audienceIds"] or r["audienceId"] in sets["audienceIds"])
                        and (not sets["audienceTypeIds"]
                             or r["audienceTypeId"] in sets["audienceTypeIds"])
                        and (not sets["audienceStatusIds"]
                             or r["audienceStatusId"] in sets["audienceStatusIds"])
                        and _matches(search, r["audienceId"], r["audienceName"]))
        indices = select(total, ds.audience, keep=keep, sort=sort, id_field="audienceId")
        return page_of(indices, total, ds.audience, page, size)

    def conversions(self, query: dict[str, t.Any], ow_id: int) -> Page:
        """``GET /api/v3/conversion/list`` (limit default 20; GUESS: max 1000)."""
        size = page_size(query["limit"], 1000)
        page = max(query["pageNo"], 1)
        ds, total = self.ds, self._total("conversions", ow_id, None)
        sort = parse_sort(query["sortBy"], None, {"id", "name", "created", "status", "type"},
                          [("created", True)])
        sort = [("id", d) if f == "created" else (f, d) for f, d in sort]  # same order
        ids = _int_set(query["conversionIds"])
        types = _int_set(query["typeIds"])  # 1 pixel, 2 postback
        statuses = _int_set(query["statusIds"])  # 1 active, 2 pending
        search = query["searchField"]
        keep = None
        if ids or types or statuses or search.strip():
            def keep(r: dict[str, t.Any]) -> bool:
                return ((not ids or r["id"] in ids)
                        and (not types or (1 if r["type"] == "Pixel" else 2) in types)
                        and (not statuses or (1 if r["status"] == "Active" else 2) in statuses)
                        and _matches(search, r["id"], r["name"]))
        indices = select(total, ds.conversion, keep=keep, sort=sort, id_field="id")
        return page_of(indices, total, ds.conversion, page, size)

    def saved_reports(self, query: dict[str, t.Any], ow_id: int) -> Page:
        """``GET /api/v3/ra/reports/list`` (``pageNo=-1``: no pagination)."""
        ds, total = self.ds, self._total("saved_reports", ow_id, None)
        sort = parse_sort(query["sortBy"], None, {"id", "name", "startDate", "modifyDate"},
                          [("modifyDate", True)])
        sort = [("reportName" if f == "name" else f, d) for f, d in sort]

        def render(i: int) -> dict[str, t.Any]:
            return ds.saved_report(i)

        def sortable(i: int) -> dict[str, t.Any]:
            return {**ds.saved_report(i), "modifyDate": ds.modified("saved_reports", i)}
        search = query["searchField"]
        keep = (lambda r: _matches(search, r["id"], r["reportName"])) if search.strip() else None
        indices = select(total, sortable, keep=keep, sort=sort, id_field="id")
        if query["pageNo"] == -1:
            return Page([render(i) for i in indices], total, len(indices))
        size = page_size(query["limit"], 1000)
        return page_of(indices, total, render, max(query["pageNo"], 1), size)

    def _total(self, stream: str, ow_id: int, owners: t.Any) -> int:
        """Records visible: all in OW_ID unless an owIds filter leaves it out (GUESS)."""
        if ow_id != OW_ID or (owners and OW_ID not in owners):
            return 0
        return self.ds.total(stream)


def _int(body: dict[str, t.Any], name: str, default: int) -> int:
    value = body.get(name)
    return default if value is None else value


def _int_set(raw: str) -> set[int]:
    """A comma-separated id list (GUESS: anything else is a 400)."""
    try:
        return {int(p) for p in raw.split(",") if p.strip()}
    except ValueError:
        raise IQMError(400, "Invalid id list.") from None
