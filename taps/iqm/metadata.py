"""Report metadata the tap ships: the documented dimension and metric keys and their types.

The full key list is only available live (``GET /api/v3/ra/report/dimension-metrics/detail``,
example-only in the spec); these are the keys IQM's docs, OpenAPI examples and Power BI
connector show (research 7.1, 7.2). Discovery types a report's schema from them; at sync
time the tap checks a report's keys against the live list.
"""

from __future__ import annotations

import typing as t

INT, NUM, STR = "integer", "number", "string"
TIME = "date-time"
ANY = "any"

#: Dimension key -> (its id fields, for the primary key and the sort; every output field).
#: GUESS for the demographic/technology/location id field names beyond deviceTypeId.
DIMENSIONS: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    "campaign": (("campaignId",), {
        "campaignId": INT, "campaignName": STR, "campaign": STR, "status": STR, "campaignType": STR,
        "campaignTimezone": STR, "startTime": TIME, "endTime": TIME, "budgetTypeId": INT,
        "budgetCompletion": NUM, "budgetPacing": ANY, "budgetMappingSpent": NUM,
        "budgetMappingDataCost": NUM}),
    "ioName": (("ioId",), {"ioId": INT, "ioName": STR, "ioBudget": NUM, "ioBudgetTypeId": INT}),
    "creative": (("creativeId",), {"creativeId": INT, "creativeName": STR}),
    "creativeType": (("creativeTypeId",), {"creativeTypeId": INT, "creativeType": STR}),
    "gender": (("genderId",), {"gender": STR, "genderId": INT}),
    "age": (("ageId",), {"age": STR, "ageId": INT}),
    "income_group": (("incomeGroupId",), {"incomeGroup": STR, "incomeGroupId": INT}),
    "os": (("osId",), {"os": STR, "osId": INT}),
    "deviceType": (("deviceTypeId",), {"deviceType": STR, "deviceTypeId": INT}),
    "country": (("countryId",), {"country": STR, "countryId": INT}),
    "state": (("stateId",), {"state": STR, "stateId": INT}),
    "zip5": (("zip5",), {"zip5": STR}),
}
DIMENSIONS["campaignId"] = DIMENSIONS["campaign"]
DIMENSIONS["device_type"] = DIMENSIONS["deviceType"]  # both keys appear in the docs

#: Documented metric keys and their JSON types (counts are integers, the rest numbers).
METRICS: dict[str, str] = {
    **dict.fromkeys(("impressions", "clicks", "reach", "bidImpressions", "startCount",
                     "firstCount", "midCount", "thirdCount", "completeCount"), INT),
    **dict.fromkeys(("dailyBudget", "totalBudget", "budgetDay", "budgetTotal", "maxBid", "CTR",
                     "VCR", "winRate", "frequency", "spent", "dataCost", "mediaSpent",
                     "prebidCost", "eCPM", "eCPC", "eCPCV", "totalECPM", "totalECPC",
                     "audioVideoViewed"), NUM),
}
#: Output fields of every documented dimension (also valid as columns, as the docs show).
DIMENSION_FIELDS: dict[str, str] = {f: kind for _, fields in DIMENSIONS.values()
                                    for f, kind in fields.items()}
DEFAULT_COLUMNS = ("impressions", "clicks", "CTR", "spent", "mediaSpent", "dataCost", "eCPM",
                   "eCPC", "VCR", "reach", "winRate")
REQUEST_TYPES = {1: "daily", 3: "weekly", 4: "monthly"}


def json_type(kind: str, description: str) -> dict[str, t.Any]:
    """A nullable JSON-schema property of ``kind``."""
    if kind == TIME:
        return {"type": ["string", "null"], "format": "date-time", "description": description}
    if kind == ANY:
        return {"type": ["boolean", "number", "string", "null"], "description": description}
    return {"type": [kind, "null"], "description": description}


def live_keys(detail: t.Any) -> tuple[set[str], set[str]]:
    """(metric keys, dimension keys) from ``dimension-metrics/detail``'s ``data``.

    Its lists hold single-key objects, each a group label over a list of entries with ``key``.
    """
    found: dict[str, set[str]] = {"metrics": set(), "dimensions": set()}
    data = detail.get("data") if isinstance(detail, dict) else None
    for kind, keys in found.items():
        for group in (data or {}).get(kind) or []:
            for entries in (group.values() if isinstance(group, dict) else ()):
                for entry in entries if isinstance(entries, list) else ():
                    if isinstance(entry, dict) and isinstance(entry.get("key"), str):
                        keys.add(entry["key"])
    return found["metrics"], found["dimensions"]
