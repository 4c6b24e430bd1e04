"""``POST /api/v3/ra/report/execute`` (MCP-reports ``executeReportData``, research 7.2).

Delivery facts are a function of (seed, campaign, UTC day): one integer unit vector per day,
spread over the day's 48 half hours by a fixed profile, within the campaign's run and before
the half hour the emulator started in (GUESS: data does not grow while it runs). A local day
of the report's timezone sums the half hours it covers, so DST days have 23 or 25 hours.
Dimensions below the campaign (gender, device type, creative, ...) split each day's units over
eight fixed cells per campaign with integer shares that add up exactly: every dimension set,
bucket size and window therefore agrees on the totals. Money is kept in micro-dollars.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import typing as t
from collections import OrderedDict
from zoneinfo import ZoneInfo

from emulators.iqm import catalog
from emulators.iqm.data import CREATIVE_TYPE_NAMES, DAY, OW_ID
from emulators.iqm.errors import IQMError, page_size

if t.TYPE_CHECKING:
    from emulators.iqm.data import Dataset

SLOT = 1800
#: GUESS: a diurnal weight per UTC half hour (all positive: every slot of a run delivers).
PROFILE = [1] * 12 + [2] * 6 + [3] * 6 + [4] * 10 + [6] * 10 + [3] * 4
PREFIX = [sum(PROFILE[:k]) for k in range(49)]
CELLS = 8
MAX_ENTRIES = 1000  # "The maximum data size per page is 1K rows" [research 1.2]
MAX_DIMENSIONS = 5  # GUESS: "five top-level dimensions of filtering support" [research 7]
REQUIRED = ("dimensions", "startDate", "endDate", "timezoneId", "requestType",
            "reportAggregated")
Vector = list  # COUNTS, then spent, mediaSpent, dataCost in micro-dollars


class Reports:
    """The report engine of one dataset."""

    def __init__(self, ds: Dataset) -> None:
        """Data ends at the half hour the emulator started in."""
        self.ds = ds
        self.cutoff = int(ds.started // SLOT)
        self._cache: OrderedDict[str, tuple[list[dict[str, t.Any]], dict[str, t.Any]]] = \
            OrderedDict()

    # Facts -------------------------------------------------------------------------------

    def units(self, c: int, day: int) -> tuple[int, ...]:
        """Per-weight metric units of campaign ``c`` on a UTC day."""
        h = self.ds.h(80, c, day)
        imp = 1 + h % 60
        clicks = (h >> 8) % (imp // 15 + 1)
        bids = imp + (h >> 16) % (2 * imp + 1)
        reach = imp - (h >> 24) % (imp // 2 + 1)
        starts = completes = 0
        if self.ds.plan(c).creative_type in {14, 17}:
            starts = imp - (h >> 32) % (imp // 5 + 1)
            completes = starts - (h >> 40) % (starts // 2 + 1)
        return imp, clicks, bids, reach, starts, completes

    def _run_slots(self, c: int) -> tuple[int, int]:
        plan = self.ds.plan(c)
        return plan.start // SLOT, min(-(-plan.end // SLOT), self.cutoff)

    def weight(self, c: int, day: int, lo: int, hi: int) -> int:
        """Profile weight of campaign ``c`` on UTC ``day`` within slots [lo, hi)."""
        plan = self.ds.plan(c)
        if not plan.delivers or (day + plan.skip_offset) % plan.skip_period == 0:
            return 0
        run_lo, run_hi = self._run_slots(c)
        a, b = max(lo, run_lo, day * 48), min(hi, run_hi, day * 48 + 48)
        return PREFIX[b - day * 48] - PREFIX[a - day * 48] if b > a else 0

    def delivering_days(self, first_day: int, last_day: int) -> int:
        """(UTC day, campaign) pairs with impressions in [first_day, last_day] (arithmetic)."""
        total = 0
        for c in range(self.ds.base["campaigns"]):
            plan = self.ds.plan(c)
            if not plan.delivers:
                continue
            run_lo, run_hi = self._run_slots(c)
            lo, hi = max(run_lo, first_day * 48), min(run_hi, (last_day + 1) * 48)
            if hi > lo:
                first, last = lo // 48, (hi - 1) // 48
                off, period = plan.skip_offset, plan.skip_period
                total += last - first + 1 - ((last + off) // period
                                             - (first - 1 + off) // period)
        return total

    # The endpoint ------------------------------------------------------------------------

    def execute(self, body: dict[str, t.Any]) -> dict[str, t.Any]:
        """The ``data`` of one execute call."""
        if body.get("id") is not None:
            body = self._saved(body)
        columns = body.get("columns")
        if not columns:
            raise IQMError(422, "Please select columns for report creation", field="columns")
        for name in REQUIRED:
            if body.get(name) is None:
                raise IQMError(422, f"Please provide {name}.", field=name)  # GUESS: text
        unknown = [c for c in columns if c not in catalog.COLUMN_KEYS]
        if unknown:  # GUESS: status and text
            raise IQMError(422, f"Invalid columns: {', '.join(unknown)}", field="columns")
        dims = _dimensions(body["dimensions"])
        tz_id = body["timezoneId"]
        if tz_id not in catalog.TIMEZONES:
            raise IQMError(422, "Invalid timezone id.", field="timezoneId")  # GUESS
        if body["requestType"] not in {1, 2, 3, 4}:
            raise IQMError(422, "Invalid request type.", field="requestType")  # GUESS
        if str(body["reportAggregated"]) not in {"0", "1", "2"}:
            raise IQMError(422, "Invalid reportAggregated.", field="reportAggregated")
        zone = ZoneInfo(catalog.TIMEZONES[tz_id][0])
        start, end = body["startDate"], body["endDate"]
        _check_window(start, end, zone, [key for key, _ in dims])
        page = max(body.get("pageNo") or 1, 1)  # GUESS: a page below 1 is the first
        size = page_size(body.get("noOfEntries") or 50, MAX_ENTRIES)
        sort = str(body.get("sortBy") or "+impressions")
        key = json.dumps({k: v for k, v in body.items() if k not in {"pageNo", "noOfEntries"}},
                         sort_keys=True, default=str) + f"#{self.ds.version}"
        cached = self._cache.get(key)
        if cached is None:
            rows, total = self._run(body, dims, zone, columns)
            rows = _sorted(rows, sort, body.get("order"), columns)
            cached = self._cache[key] = (rows, total)
            while len(self._cache) > 8:
                self._cache.popitem(last=False)
        rows, total = cached
        return {"total": total, "data": rows[(page - 1) * size:page * size],
                "totalRecords": len(rows)}

    def _saved(self, body: dict[str, t.Any]) -> dict[str, t.Any]:
        """Run a saved report: its definition, paging and sort from the request (GUESS)."""
        index = body["id"] - 1
        if not 0 <= index < self.ds.total("saved_reports"):
            raise IQMError(422, "Report does not exists for the given id")  # getReport 422
        saved = self.ds.saved_report_definition(index)
        merged = {**saved, "startDate": saved["startDate"] * 1000,
                  "endDate": saved["endDate"] * 1000 + 999, "reportAggregated": "0"}
        merged.update({k: body[k] for k in ("pageNo", "noOfEntries", "sortBy", "order")
                       if k in body})
        return merged

    def _campaigns(self, body: dict[str, t.Any]) -> list[int]:
        filters = body.get("filters") or {}
        ids = set(filters.get("campaignIds") or [])
        types = set(filters.get("creativeTypeIds") or [])
        statuses = {str(s).lower() for s in filters.get("campaignStatuses") or []}
        search = str(body.get("searchField") or "").lower()
        customers = body.get("customerIds") or []
        if customers and OW_ID not in customers:
            return []
        chosen = []
        for c in range(self.ds.base["campaigns"]):
            plan = self.ds.plan(c)
            if not plan.delivers or (ids and self.ds.campaign_id(c) not in ids) or (
                    types and plan.creative_type not in types) or (
                    statuses and plan.status not in statuses):
                continue
            # GUESS: searchField matches the campaign id or name (case-insensitive)
            if search and search not in str(self.ds.campaign_id(c)) and \
                    search not in self.ds.campaign(c)["name"].lower():
                continue
            chosen.append(c)
        return chosen

    def _run(self, body: dict[str, t.Any], dims: list[tuple[str, set[int]]], zone: ZoneInfo,
             columns: list[str]) -> tuple[list[dict[str, t.Any]], dict[str, t.Any]]:
        buckets = _buckets(body["startDate"], body["endDate"], zone, body["requestType"])
        cell_dims = [d for d in dims if d[0] in catalog.CELL_DIMENSIONS or d[0] == "creative"]
        acc: dict[tuple, Vector] = {}
        for c in self._campaigns(body):
            plan = self.ds.plan(c)
            parts = [self._campaign_part(c, key) for key, _ in dims]
            if any(p is not None and wanted and p not in wanted
                   for p, (_, wanted) in zip(parts, dims, strict=True)):
                continue
            cells = self._cells(c, dims) if cell_dims else None
            money = (plan.cpm_mills, plan.media_mills, plan.data_mills)
            for b, (_, lo, hi) in enumerate(buckets):
                for day in range(lo // 48, (hi - 1) // 48 + 1):
                    weight = self.weight(c, day, lo, hi)
                    if not weight:
                        continue
                    units = self.units(c, day)
                    if cells is None:
                        _add(acc, (b, *parts), units, weight, money)
                        continue
                    for lo_share, hi_share, total_share, cell_parts in cells:
                        split = [u * hi_share // total_share - u * lo_share // total_share
                                 for u in units]
                        merged = tuple(cp if cp is not None else p
                                       for p, cp in zip(parts, cell_parts, strict=True))
                        _add(acc, (b, *merged), split, weight, money)
        rows, grand = [], [0] * 9
        for key, vector in sorted(acc.items()):
            if not any(vector[:6]):  # GUESS: a row needs some delivery
                continue
            grand = [g + v for g, v in zip(grand, vector, strict=True)]
            row = dict(buckets[key[0]][0])
            for (dim, _), ident in zip(dims, key[1:], strict=True):
                row.update(self._fields(dim, ident))
            row.update(_metrics(vector, columns))
            row.update(self._campaign_columns(row.get("campaignId"), columns))
            row["totalRecords"] = None
            rows.append(row)
        total: dict[str, t.Any] = dict.fromkeys(columns)
        total.update(dict.fromkeys(k for b in buckets[:1] for k in b[0]))
        for dim, _ in dims:
            total.update(dict.fromkeys(self._fields(dim, None)))
        total.update(_metrics(grand, columns))
        total["totalRecords"] = len(rows)
        return rows, total

    def _campaign_part(self, c: int, dim: str) -> int | None:
        if dim in {"campaign", "campaignId"}:
            return self.ds.campaign_id(c)
        if dim == "ioName":
            return self.ds.io_id(self.ds.plan(c).io)
        if dim == "creativeType":
            return self.ds.plan(c).creative_type
        return None

    def _cells(self, c: int, dims: list[tuple[str, set[int]]]) -> list[tuple]:
        """(share from, share to, shares, per-dimension id or None) of each kept cell."""
        shares = [1 + self.ds.h(81, c, k) % 9 for k in range(CELLS)]
        bounds = [sum(shares[:k]) for k in range(CELLS + 1)]
        n = self.ds.base["campaigns"]
        creatives = list(range(c, self.ds.base["creatives"], n))
        cells = []
        for k in range(CELLS):
            parts: list[int | None] = []
            for dim, _ in dims:
                if dim == "creative":
                    parts.append(self.ds.creative_id(creatives[k % len(creatives)]))
                elif dim in catalog.CELL_DIMENSIONS:
                    table = catalog.VALUES[catalog.CELL_DIMENSIONS[dim][0]]
                    salt = sum(map(ord, catalog.CELL_DIMENSIONS[dim][0]))
                    parts.append(table[self.ds.h(82, c, k, salt) % len(table)][0])
                else:
                    parts.append(None)
            if all(p is None or not want or p in want
                   for p, (_, want) in zip(parts, dims, strict=True)):
                cells.append((bounds[k], bounds[k + 1], bounds[-1], parts))
        return cells

    def _fields(self, dim: str, ident: int | None) -> dict[str, t.Any]:
        """The output fields of one dimension value (None: the field names only)."""
        ds = self.ds
        if dim in {"campaign", "campaignId"}:
            keys = ("campaignId", "campaignName", "status", "campaignType", "campaignTimezone",
                    "startTime", "endTime", "budgetPacing")
            if ident is None:
                return dict.fromkeys(keys)
            c = ident - ds.campaign_id(0)
            plan = ds.plan(c)
            return dict(zip(keys, (ident, ds.campaign(c)["name"], plan.status, "cpm",
                                   catalog.TIMEZONES[plan.tz_id][0], plan.start, plan.end,
                                   True), strict=True))
        if dim == "ioName":
            return {"ioId": ident, "ioName": None if ident is None else
                    ds.io_name(ident - ds.io_id(0))}
        if dim == "creativeType":
            return {"creativeTypeId": ident, "creativeType": CREATIVE_TYPE_NAMES.get(ident)}
        if dim == "creative":
            return {"creativeId": ident, "creativeName": None if ident is None else
                    ds.creative_name(ident - ds.creative_id(0))}
        table, label, id_field = catalog.CELL_DIMENSIONS[dim]
        names = dict(catalog.VALUES[table])
        return {label: names.get(ident) if ident is not None else None, id_field: ident}

    def _campaign_columns(self, campaign_id: int | None, columns: list[str]) -> dict:
        """Budget columns from the campaign when the campaign is a dimension, else left out."""
        if campaign_id is None:
            return {}
        c = campaign_id - self.ds.campaign_id(0)
        day, total, max_bid = self.ds.budget(c)
        values = {"dailyBudget": day, "budgetDay": day, "totalBudget": total,
                  "budgetTotal": total, "maxBid": max_bid}
        return {k: values[k] for k in columns if k in values}


def _add(acc: dict, key: tuple, units: t.Sequence[int], weight: int,
         money: tuple[int, int, int]) -> None:
    vector = acc.get(key)
    if vector is None:
        vector = acc[key] = [0] * 9
    for m in range(6):
        vector[m] += units[m] * weight
    imp = units[0] * weight
    vector[6] += imp * money[0]
    vector[7] += imp * money[1]
    vector[8] += imp * money[2]


def _metrics(v: Vector, columns: list[str]) -> dict[str, t.Any]:
    imp, clicks, bids, _, starts, completes = v[:6]
    spent = v[6] / 1e6
    values: dict[str, t.Any] = dict(zip(catalog.COUNTS, v[:6], strict=True))
    values.update({"spent": round(spent, 6), "mediaSpent": round(v[7] / 1e6, 6),
                   "dataCost": round(v[8] / 1e6, 6),
                   "CTR": round(clicks / imp * 100, 6) if imp else 0.0,
                   "VCR": round(completes / starts * 100, 6) if starts else 0.0,
                   "winRate": round(imp / bids * 100, 6) if bids else 0.0,
                   "eCPM": round(spent / imp * 1000, 6) if imp else 0.0,
                   "eCPC": round(spent / clicks, 6) if clicks else 0.0,
                   "eCPCV": round(spent / completes, 6) if completes else 0.0})
    values["totalECPM"], values["totalECPC"] = values["eCPM"], values["eCPC"]
    return {k: values[k] for k in columns if k in values}


def _dimensions(raw: t.Any) -> list[tuple[str, set[int]]]:
    """``dimensions``: a JSON string of ``[{filter, value?}]`` (GUESS: errors 422)."""
    try:
        items = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        items = None
    if not isinstance(items, list) or not all(
            isinstance(i, dict) and isinstance(i.get("filter"), str) for i in items):
        raise IQMError(422, "Invalid dimensions.", field="dimensions")
    if len(items) > MAX_DIMENSIONS:
        raise IQMError(422, f"At most {MAX_DIMENSIONS} dimensions are allowed.",
                       field="dimensions")
    dims = []
    for item in items:
        key, values = item["filter"], item.get("value") or []
        if key not in catalog.DIMENSION_KEYS:
            raise IQMError(422, f"Invalid dimension: {key}", field="dimensions")
        if not isinstance(values, list) or not all(type(v) is int for v in values):
            raise IQMError(422, "Invalid dimension value.", field="dimensions")
        if key not in {d for d, _ in dims}:  # GUESS: a repeated dimension counts once
            dims.append((key, set(values)))
    return dims


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _local_midnight(day: dt.date, zone: ZoneInfo) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=zone).timestamp())


def _check_window(start: int, end: int, zone: ZoneInfo, dims: list[str]) -> None:
    """3 months, 1 year when the only dimension is the campaign [research 7]."""
    if end < start:
        raise IQMError(422, "End date must be after start date.", field="endDate")  # GUESS
    campaign_only = bool(dims) and set(dims) <= {"campaign", "campaignId"}
    months = 12 if campaign_only else 3
    first = dt.datetime.fromtimestamp(start / 1000, zone).date()
    # GUESS: calendar months from the local start day; the end must come before it.
    if end >= _local_midnight(_add_months(first, months), zone) * 1000:
        text = ("1 year for the campaign dimension" if campaign_only else "3 months")
        raise IQMError(422, f"Date range cannot exceed {text}.", field="endDate")


def _buckets(start: int, end: int, zone: ZoneInfo,
             request_type: int) -> list[tuple[dict[str, t.Any], int, int]]:
    """(row date fields, first slot, end slot) per local day, week, month or the window."""
    a, b = start // 1000 // SLOT, end // 1000 // SLOT + 1  # GUESS: widened to half hours
    first = dt.datetime.fromtimestamp(start / 1000, zone).date()
    last = dt.datetime.fromtimestamp(end / 1000, zone).date()
    days = []
    day = first
    while day <= last:
        lo = max(_local_midnight(day, zone) // SLOT, a)
        hi = min(_local_midnight(day + dt.timedelta(days=1), zone) // SLOT, b)
        if hi > lo:
            days.append((day, lo, hi))
        day += dt.timedelta(days=1)
    if request_type == 1:
        return [({"date": d.isoformat()}, lo, hi) for d, lo, hi in days]
    if request_type == 2 or not days:
        return [({}, a, b)]
    groups: dict[tuple, list] = {}
    for d, lo, hi in days:
        # GUESS: weeks run Sunday..Saturday (the docs' example), clipped to the window
        group = (d - dt.timedelta(days=(d.weekday() + 1) % 7) if request_type == 3
                 else d.replace(day=1))
        groups.setdefault((group,), []).append((d, lo, hi))
    out = []
    for members in groups.values():
        label = f"{members[0][0]:%m/%d/%Y} - {members[-1][0]:%m/%d/%Y}"
        out.append(({"dateRange": label}, members[0][1], members[-1][2]))
    return out


def _sorted(rows: list[dict[str, t.Any]], sort: str, order: t.Any,
            columns: list[str]) -> list[dict[str, t.Any]]:
    """Stable: equal values keep the (date, dimension ids) order (GUESS)."""
    field = sort.lstrip("+-").strip()
    descending = sort.startswith("-") or (sort[:1] not in "+-" and str(order) == "desc")
    fields = set(columns) | set(catalog.METRIC_KEYS) | {"date", "dateRange"}
    fields |= set(rows[0]) if rows else set(catalog.DIMENSION_FIELDS)
    if field not in fields:
        raise IQMError(422, "Invalid sortBy value.")
    return sorted(rows, key=lambda r: (r.get(field) is None, r.get(field) or 0)
                  if not isinstance(r.get(field), str) else (False, r[field]),
                  reverse=descending)


__all__ = ["DAY", "Reports"]
