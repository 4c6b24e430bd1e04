"""Static IQM tables: timezones, report dimensions and metrics, dimension value tables.

Sources: MCP-master ``getTimezones`` (ids 29, 423, 149, 420, 421), research 1.5 (11 UTC, 21
US/Mountain, 433 US/Pacific), MCP-reports ``getDimensionAndMetricDetails`` (example only: the
groups, ids 1, 2, 5, 34, 35 and the field names) and research 7.1 (the keys seen in the docs).
"""

from __future__ import annotations

import typing as t

#: id -> (name, label). GUESS: the ids from 500 on (the docs give no id for those zones).
TIMEZONES: dict[int, tuple[str, str]] = {
    11: ("UTC", "UTC"),
    21: ("US/Mountain", "US/Mountain"),
    29: ("US/Eastern", "US/Eastern"),
    149: ("Africa/Addis_Ababa", "Africa/Addis Ababa"),
    420: ("US/Alaska", "US/Alaska"),
    421: ("US/Arizona", "US/Arizona"),
    423: ("US/Central", "US/Central"),
    433: ("US/Pacific", "US/Pacific"),
    500: ("Europe/London", "Europe/London"),  # GUESS
    501: ("Asia/Kolkata", "Asia/Kolkata"),  # GUESS: a half-hour offset
    502: ("Australia/Sydney", "Australia/Sydney"),  # GUESS: southern-hemisphere DST
    503: ("Pacific/Honolulu", "Pacific/Honolulu"),  # GUESS
}
TIMEZONE_IDS = {name: tz_id for tz_id, (name, _) in TIMEZONES.items()}

#: Dimension values: key -> [(id, label)]. Ids in the docs' style (gender 10200002, device
#: type 20300001, os 20200001, income 10300002, country 30100001); GUESS: the labels and the
#: ids the docs do not show.
VALUES: dict[str, list[tuple[int, str]]] = {
    "gender": [(10200001, "Male"), (10200002, "Female"), (10200003, "Unknown")],
    "age": [(10100001, "18-24"), (10100002, "25-34"), (10100003, "35-44"), (10100004, "45+")],
    "income_group": [(10300001, "Under $50K"), (10300002, "$50K-$100K"),
                     (10300003, "Over $100K")],
    "os": [(20200001, "Android"), (20200002, "iOS"), (20200003, "Windows")],
    "deviceType": [(20300001, "Mobile"), (20300002, "Desktop"), (20300003, "Connected TV"),
                   (20300004, "Tablet")],
    "country": [(30100001, "United States"), (30100002, "Canada")],
    "state": [(30200001, "California"), (30200002, "New York"), (30200003, "Texas"),
              (30200004, "Florida"), (30200005, "Ontario")],
}
#: Cell-level dimension key -> (values table, label field, id field).
CELL_DIMENSIONS: dict[str, tuple[str, str, str]] = {
    "gender": ("gender", "gender", "genderId"),
    "age": ("age", "age", "ageId"),
    "income_group": ("income_group", "incomeGroup", "incomeGroupId"),
    "os": ("os", "os", "osId"),
    "deviceType": ("deviceType", "deviceType", "deviceTypeId"),
    "device_type": ("deviceType", "deviceType", "deviceTypeId"),  # both keys are documented
    "country": ("country", "country", "countryId"),
    "state": ("state", "state", "stateId"),
}
CAMPAIGN_DIMENSIONS = ("campaign", "campaignId", "ioName", "creativeType")
CREATIVE_DIMENSION = "creative"

#: Integer metrics the engine adds up, in vector order; then spent, mediaSpent, dataCost
#: in micro-dollars.
COUNTS = ("impressions", "clicks", "bidImpressions", "reach", "startCount", "completeCount")
MONEY = ("spent", "mediaSpent", "dataCost")
DERIVED = ("CTR", "VCR", "winRate", "eCPM", "eCPC", "eCPCV", "totalECPM", "totalECPC")
#: Campaign attributes that are valid columns (the docs' example asks for them).
CAMPAIGN_COLUMNS = ("dailyBudget", "totalBudget", "budgetDay", "budgetTotal", "maxBid",
                    "campaignId", "campaignName", "startTime", "endTime")

#: (group, [(id, key, label, fieldDataType, aggregationType)]). GUESS: ids beyond 1, 2, 5.
_METRIC_GROUPS = [
    ("Budget", [(1, "dailyBudget", "Daily Budget", "currencyUSD", "sum"),
                (2, "totalBudget", "Total Budget", "currencyUSD", "sum"),
                (3, "maxBid", "Max Bid", "currencyUSD", "average")]),
    ("Counts", [(5, "impressions", "Impressions", "number", "sum"),
                (6, "clicks", "Clicks", "number", "sum"),
                (7, "reach", "Reach", "number", "sum"),
                (8, "bidImpressions", "Bid Impressions", "number", "sum")]),
    ("Rates", [(10, "CTR", "CTR", "percentage", "average"),
               (11, "winRate", "Win Rate", "percentage", "average"),
               (12, "VCR", "VCR", "percentage", "average")]),
    ("Spending", [(15, "spent", "Total Spent", "currencyUSD", "sum"),
                  (16, "mediaSpent", "Media Spent", "currencyUSD", "sum"),
                  (17, "dataCost", "Data Cost", "currencyUSD", "sum")]),
    ("Cost", [(20, "eCPM", "eCPM", "currencyUSD", "average"),
              (21, "eCPC", "eCPC", "currencyUSD", "average"),
              (22, "eCPCV", "eCPCV", "currencyUSD", "average"),
              (23, "totalECPM", "Total eCPM", "currencyUSD", "average"),
              (24, "totalECPC", "Total eCPC", "currencyUSD", "average")]),
    ("Video", [(30, "startCount", "Video Start", "number", "sum"),
               (31, "completeCount", "Video 100%", "number", "sum")]),
]
#: (group, groupId, [(id, key, label, fieldDataType, isFilterSupported)]).
_DIMENSION_GROUPS = [
    ("Insertion Order Specifics", 3, [(43, "ioName", "Insertion Order", "text", True)]),
    ("Campaign Specifics", 1, [(1, "campaign", "Campaign", "text", True),
                               (2, "campaignId", "Campaign ID", "text", True)]),
    ("Creative Specifics", 2, [(3, "creative", "Creative", "text", True),
                               (4, "creativeType", "Creative Type", "text", True)]),
    ("Demographics", 10, [(10, "gender", "Gender", "text", True),
                          (11, "age", "Age", "text", True),
                          (12, "income_group", "Income Range", "text", True)]),
    ("Technologies", 20, [(20, "deviceType", "Device Type", "text", True),
                          (21, "os", "Operating System", "text", True)]),
    ("Locations", 29, [(34, "country", "Country", "country", True),
                       (35, "state", "State", "regionCode", True)]),
]
METRIC_KEYS = {key for _, items in _METRIC_GROUPS for _, key, *_ in items}
DIMENSION_KEYS = {key for _, _, items in _DIMENSION_GROUPS for _, key, *_ in items}
DIMENSION_KEYS.add("device_type")  # GUESS: accepted as an alias (both keys are in the docs)
#: Output fields per dimension: a column naming one of these is accepted too (GUESS).
DIMENSION_FIELDS = {"campaignId", "campaignName", "campaign", "status", "campaignType",
                    "campaignTimezone", "startTime", "endTime", "ioId", "ioName", "creativeId",
                    "creativeName", "creativeTypeId", "creativeType",
                    *(f for _, label, id_field in CELL_DIMENSIONS.values()
                      for f in (label, id_field))}
COLUMN_KEYS = METRIC_KEYS | set(CAMPAIGN_COLUMNS) | DIMENSION_KEYS | DIMENSION_FIELDS | {
    "budgetDay", "budgetTotal"}


def dimension_metrics() -> dict[str, t.Any]:
    """``data`` of ``GET /api/v3/ra/report/dimension-metrics/detail`` (the example's shape)."""
    metrics = [{group: [{"id": i, "label": label, "order": n + 1, "fieldDataType": kind,
                         "aggregationType": agg, "description": label,
                         "defaultEnabled": key in {"impressions", "clicks", "spent"},
                         "key": key,
                         "dependentDimensions": [1, 2, 43] if group == "Budget" else None}
                        for n, (i, key, label, kind, agg) in enumerate(items)]}
               for group, items in _METRIC_GROUPS]
    dimensions = [{group: [{"id": i, "label": label, "order": n + 1,
                            "isFilterSupported": filt, "isRowToColumn": False,
                            "isCustomerDependent": group in {"Campaign Specifics",
                                                             "Insertion Order Specifics"},
                            "fieldDataType": kind, "description": label, "groupId": gid,
                            "key": key}
                           for n, (i, key, label, kind, filt) in enumerate(items)]}
                  for group, gid, items in _DIMENSION_GROUPS]
    return {"metrics": metrics, "dimensions": dimensions}
