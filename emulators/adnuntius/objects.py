"""Field sets of each Adnuntius resource (research §6), rendered from (seed, index) on demand.

Each renderer returns the resource's own fields; ``store.Dataset.render`` adds the fields
every domain object carries (research §3: id, url, objectState, create/update time and user,
validationWarnings, network).
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from decimal import Decimal

from emulators.adnuntius.ids import mix

if t.TYPE_CHECKING:
    from emulators.adnuntius.store import Dataset


@dataclass(frozen=True)
class Resource:
    """One collection: URL name, tap stream name, salt for hashing, type name for errors."""

    path: str
    stream: str
    salt: int
    type_name: str


RESOURCES: dict[str, Resource] = {r.path: r for r in (
    Resource("advertisers", "advertisers", 11, "Advertiser"),
    Resource("orders", "orders", 12, "Order"),
    Resource("lineitems", "line_items", 13, "LineItem"),
    Resource("creatives", "creatives", 14, "Creative"),
    Resource("sites", "sites", 15, "Site"),
    Resource("adunits", "ad_units", 16, "AdUnit"),
    Resource("earningsaccounts", "earnings_accounts", 17, "EarningsAccount"),
    Resource("sitegroups", "site_groups", 18, "SiteGroup"),
    Resource("teams", "teams", 19, "Team"),
    Resource("tiers", "tiers", 20, "Tier"),
    Resource("users", "users", 21, "User"),
    Resource("segments", "segments", 22, "Segment"),
)}


def base_counts(scale: int) -> dict[str, int]:
    """Objects per resource; ``scale`` is the number of line items (GUESS: the ratios)."""
    li = max(scale, 1)
    return {"advertisers": max(2, li // 10), "orders": max(3, li // 4), "lineitems": li,
            "creatives": 2 * li, "sites": max(2, li // 20), "adunits": max(4, li // 4),
            "earningsaccounts": max(2, li // 100), "sitegroups": max(2, li // 100),
            "teams": min(50, 2 + li // 100), "tiers": len(TIER_NAMES),
            "users": min(200, 5 + li // 50), "segments": max(3, li // 10)}


COMPANIES = ["Nordlys", "Fjord", "Aurora", "Bergen", "Polar", "Vinter", "Havbris", "Solberg",
             "Granitt", "Elvebakk", "Tindra", "Skog", "Kyst", "Lynx", "Odin", "Saga"]
SECTORS = ["Media", "Motors", "Foods", "Travel", "Energy", "Telecom", "Retail", "Bank"]
SUFFIXES = ["AS", "AB", "ASA", "Group", "Ltd"]
CAMPAIGNS = ["Spring Launch", "Summer Sale", "Back to School", "Black Week", "Christmas",
             "Brand Awareness", "Always On", "Easter Offers"]
FORMATS = ["Desktop Board", "Mobile Split", "Video Preroll", "Native Article", "Skyscraper",
           "Netboard", "Takeover", "Sticky Bottom"]
TIER_NAMES = ["Sponsorship", "Standard", "Programmatic", "House"]
SITE_NAMES = ["nyheter", "sport", "motor", "mat", "reise", "bolig", "okonomi", "kultur"]
PEOPLE = ["Kari Nordmann", "Ola Hansen", "Ingrid Berg", "Lars Johansen", "Sofie Lie",
          "Erik Dahl", "Nora Bakken", "Jonas Haugen"]
CITIES = [("Oslo", "0150", "NO"), ("Bergen", "5003", "NO"), ("Stockholm", "111 52", "SE"),
          ("Copenhagen", "1050", "DK"), ("Helsinki", "00100", "FI")]
SEGMENT_NAMES = ["Sports fans", "Car intenders", "Frequent travellers", "Young families",
                 "Home owners", "Foodies", "Tech enthusiasts", "Investors"]
LABELS = ["premium", "q1", "q2", "q3", "q4", "local", "national", "test"]


def name_of(path: str, i: int, h: int, started_year: int) -> str:
    """The generated name of record ``i`` (unique per resource, by its index)."""
    if path == "advertisers":
        return f"{COMPANIES[h % 16]} {SECTORS[(h >> 4) % 8]} {SUFFIXES[(h >> 8) % 5]} #{i + 1}"
    if path == "orders":
        return f"{CAMPAIGNS[h % 8]} {started_year - (h >> 4) % 2} - order {i + 1}"
    if path == "lineitems":
        return f"{CAMPAIGNS[h % 8]} - {FORMATS[(h >> 4) % 8]} #{i + 1}"
    if path == "creatives":
        return f"{FORMATS[h % 8]} {('A', 'B', 'C')[(h >> 4) % 3]} v{i + 1}"
    if path == "sites":
        return f"{SITE_NAMES[i % 8]}.{COMPANIES[(i // 8) % 16].lower()}{i // 128 or ''}.no"
    if path == "adunits":
        return f"{FORMATS[h % 8]} {('top', 'mid', 'bottom')[(h >> 4) % 3]} {i + 1}"
    if path == "earningsaccounts":
        return f"{COMPANIES[i % 16]} Publishing {i + 1}"
    if path == "sitegroups":
        return f"{SECTORS[i % 8]} sites {i + 1}"
    if path == "teams":
        return f"Team {CITIES[i % 5][0]} {i + 1}"
    if path == "tiers":
        return TIER_NAMES[i] if i < len(TIER_NAMES) else f"Tier {i + 1}"
    if path == "users":
        return PEOPLE[h % 8] if i >= 3 else ("API User", "Two Factor User", "Forced 2FA User")[i]
    return f"{SEGMENT_NAMES[h % 8]} {i + 1}"


def labels_of(path: str, h: int) -> list[str]:
    """Labels of an order or line item (cheap: the stats refs carry them too)."""
    shift = 12 if path == "orders" else 20
    return [LABELS[(h >> shift) % 8]] if (h >> (shift + 3)) % 2 else []


def money(currency: str, amount: Decimal) -> dict[str, t.Any]:
    """A money object (research §3): amounts keep every digit."""
    return {"currency": currency, "amount": amount}


def _amount(h: int, low: int, high: int) -> Decimal:
    """A price with up to six decimals (GUESS: the docs only show that amounts are decimals)."""
    return Decimal(low * 10**6 + h % ((high - low) * 10**6)) / Decimal(10**6)


@dataclass(frozen=True)
class LineItemPlan:
    """When a line item runs and what it costs: shared by the object and its stats."""

    order: int
    start_day: int  # days since the epoch (UTC)
    end_day: int | None  # None: open-ended
    cpm: Decimal
    skip_period: int  # every skip_period-th day of the run has no delivery
    skip_offset: int


def line_item_plan(seed: int, i: int, today: int, orders: int) -> LineItemPlan:
    """Runs start from 150 days ago to 10 days ahead and last 7..66 days (10% open-ended)."""
    h = mix(seed, 13, i, 3)
    start = today - 150 + h % 161
    end = None if (h >> 12) % 10 == 0 else start + 7 + (h >> 16) % 60
    cpm = Decimal(150_000 + (h >> 24) % 4_850_000) / Decimal(10**5)  # 1.5 .. 50 NOK
    return LineItemPlan(mix(seed, 13, i, 4) % orders, start, end, cpm,
                        7 + (h >> 48) % 5, (h >> 52) % 16)


def render_fields(ds: Dataset, path: str, i: int, h: int) -> dict[str, t.Any]:
    """The resource-specific fields of record ``i``."""
    return _RENDERERS[path](ds, i, h)


def _advertiser(ds: Dataset, i: int, h: int) -> dict[str, t.Any]:
    city, post, country = CITIES[(h >> 8) % 5]
    slug = COMPANIES[h % 16].lower()
    team_key = "ownerTeam" if i % 3 == 0 else "team"  # GUESS: both spellings occur
    return {
        "name": ds.name("advertisers", i), "description": f"{SECTORS[(h >> 4) % 8]} advertiser",
        team_key: ds.ref("teams", h % ds.base["teams"]),
        "externalReference": f"CRM-{100000 + i}", "v1Category": f"IAB{1 + (h >> 12) % 26}",
        "category": f"IAB_{1 + (h >> 12) % 26}", "contact": PEOPLE[(h >> 16) % 8],
        "email": f"ads@{slug}{i}.example", "advertiserUrl": f"https://www.{slug}{i}.example",
        "phone": f"+47 {20000000 + h % 79999999}",
        "address": {"addressLine1": f"Storgata {1 + h % 120}", "addressLine2": None,
                    "city": city, "state": None, "postCode": post, "country": country},
        "legalName": f"{COMPANIES[h % 16]} {SECTORS[(h >> 4) % 8]} {SUFFIXES[(h >> 8) % 5]}",
        "type": ("CORPORATE_ENTITY_PRIVATE", "CORPORATE_ENTITY_PUBLIC")[(h >> 20) % 2],
    }


def _order(ds: Dataset, i: int, h: int) -> dict[str, t.Any]:
    start = ds.today - 160 + h % 150
    return {
        "name": ds.name("orders", i), "advertiser": ds.ref("advertisers", ds.order_advertiser(i)),
        "team": ds.ref("teams", (h >> 8) % ds.base["teams"]),
        "labels": labels_of("orders", h), "notes": [],
        "salespersonUser": ds.ref("users", (h >> 16) % ds.base["users"]),
        "adOpsUser": ds.ref("users", (h >> 20) % ds.base["users"]),
        "startDate": ds.day_iso(start), "endDate": ds.day_iso(start + 30 + (h >> 24) % 60),
        "objectives": {"BUDGET": money(ds.currency, _amount(h >> 28, 5000, 500000))},
    }


def _line_item(ds: Dataset, i: int, h: int) -> dict[str, t.Any]:
    plan = ds.plan(i)
    end = plan.end_day
    state = ("ENDED" if end is not None and end < ds.today else
             "READY" if plan.start_day > ds.today else "RUNNING")
    return {
        "name": ds.name("lineitems", i), "order": ds.ref("orders", plan.order),
        "tier": ds.ref("tiers", (h >> 4) % ds.base["tiers"]),
        "startDate": ds.day_iso(plan.start_day),
        "endDate": None if end is None else ds.day_iso(end),
        "objectives": {"IMPRESSION": 10_000 * (1 + (h >> 8) % 500)},
        "bidSpecification": {"cpm": money(ds.currency, plan.cpm)},
        "type": ("SPONSORSHIP", "AUCTION")[(h >> 12) % 2],  # GUESS: AUCTION (UI: "Auction")
        "sponsorshipPercentage": 100 if (h >> 12) % 2 == 0 else None,
        "rateLimits": [{"amount": 3 + (h >> 14) % 5, "periodType": "DAYS", "scope": "PER_USER",
                        "type": "IMPRESSION"}] if (h >> 17) % 3 == 0 else [],
        "deduplicationLevel": ("LINE_ITEM", "CREATIVE")[(h >> 18) % 2],
        "companionAds": False, "extended": False,
        "labels": labels_of("lineitems", h), "notes": [],
        "targeting": {"siteTarget": {"sites": [ds.ref("sites", (h >> 24) % ds.base["sites"])],
                                     "negated": False}} if (h >> 30) % 2 else {},
        "userState": ("APPROVED", "APPROVED", "APPROVED", "PAUSED", "STOPPED")[(h >> 32) % 5],
        "executionState": state,
        "startedRunningDate": None if state == "READY" else ds.day_iso(plan.start_day),
        "smoothed": bool((h >> 36) % 2),
    }


def _creative(ds: Dataset, i: int, h: int) -> dict[str, t.Any]:
    line_item = i // 2 if i < ds.base["creatives"] else h % ds.base["lineitems"]
    width, height = ((980, 300), (300, 250), (320, 250), (728, 90))[(h >> 4) % 4]
    return {
        "name": ds.name("creatives", i), "description": None,
        "lineItem": ds.ref("lineitems", line_item),
        "layout": {"id": f"layout{(h >> 8) % 4}", "name": ("Image", "HTML5", "Video", "Native")
                   [(h >> 8) % 4], "url": f"/api/v1/layouts/layout{(h >> 8) % 4}"},
        "width": width, "height": height, "dimensionType": ("FIXED", "FLEXIBLE")[(h >> 10) % 2],
        "userState": ("APPROVED", "APPROVED", "REQUIRES_REVIEW", "PAUSED")[(h >> 12) % 4],
        "type": "INTERNAL", "constraintsToAssets": {}, "constraintsToText": {},
        "constraintsToUrls": {"destination": f"https://www.example.com/landing/{i}"},
        "targeting": {}, "impressionTrackingUrls": [], "sponsorshipPercentage": None,
        "copyrightStatus": "UNSPECIFIED", "source": "DIRECT", "verifiedSafe": False,
        "overrideFields": [],
    }


def _site(ds: Dataset, i: int, h: int) -> dict[str, t.Any]:
    return {
        "name": ds.name("sites", i), "description": None,
        "siteUrl": f"https://{ds.name('sites', i).split(' (')[0]}",
        "labels": [LABELS[h % 8]] if (h >> 3) % 2 else [],
        "earningsAccount": ds.ref("earningsaccounts", i % ds.base["earningsaccounts"]),
        "siteGroup": ds.ref("sitegroups", (h >> 4) % ds.base["sitegroups"]),
    }


def _ad_unit(ds: Dataset, i: int, h: int) -> dict[str, t.Any]:
    width, height = ((980, 600), (300, 600), (320, 400), (1920, 1080))[(h >> 4) % 4]
    return {
        "name": ds.name("adunits", i), "site": ds.ref("sites", i % ds.base["sites"]),
        "floorPrice": money(ds.currency, _amount(h >> 8, 1, 40)),
        "labels": [], "matchingLabels": [LABELS[(h >> 12) % 8]] if (h >> 15) % 2 else [],
        "width": width, "height": height, "minWidth": width // 2, "minHeight": height // 2,
        "pageSize": 1 + (h >> 16) % 3, "urlAsCategory": bool((h >> 18) % 2), "notes": [],
        "sspConfigurations": [],
    }


def _earnings_account(ds: Dataset, i: int, h: int) -> dict[str, t.Any]:
    city, post, country = CITIES[h % 5]
    return {"name": ds.name("earningsaccounts", i), "description": None, "labels": [],
            "address": {"addressLine1": f"Kirkegata {1 + h % 60}", "addressLine2": None,
                        "city": city, "state": None, "postCode": post, "country": country},
            "revenueShare": Decimal(50 + (h >> 8) % 40) / Decimal(100)}


def _site_group(ds: Dataset, i: int, h: int) -> dict[str, t.Any]:
    return {"name": ds.name("sitegroups", i), "description": f"{SECTORS[i % 8]} inventory",
            "labels": []}


def _team(ds: Dataset, i: int, h: int) -> dict[str, t.Any]:
    teams, sites = ds.base["teams"], ds.base["sites"]
    members = range(i % teams, sites, teams) if i < teams else range(0)
    return {"name": ds.name("teams", i), "labels": [],
            "sites": [ds.ref("sites", j) for j in members]}


def _tier(ds: Dataset, i: int, h: int) -> dict[str, t.Any]:
    return {"name": ds.name("tiers", i), "description": f"Priority {i + 1}",
            "minimumTraffic": None, "maximumTraffic": None}


def _user(ds: Dataset, i: int, h: int) -> dict[str, t.Any]:
    name = ds.name("users", i)
    return {
        "username": ds.username(i), "name": name, "displayName": name.split(" ")[0],
        "locale": ("en", "no", "sv")[h % 3], "externalReference": None,
        "userRoles": {"rolesByNetwork": [{"network": ds.network_ref(),
                                          "roles": [{"role": {"id": "admin", "name": "Admin",
                                                              "url": "/api/v1/roles/admin"}}]}]},
    }


def _segment(ds: Dataset, i: int, h: int) -> dict[str, t.Any]:
    return {"name": ds.name("segments", i), "description": f"Audience segment {i + 1}"}


_RENDERERS: dict[str, t.Callable[[Dataset, int, int], dict[str, t.Any]]] = {
    "advertisers": _advertiser, "orders": _order, "lineitems": _line_item,
    "creatives": _creative, "sites": _site, "adunits": _ad_unit,
    "earningsaccounts": _earnings_account, "sitegroups": _site_group, "teams": _team,
    "tiers": _tier, "users": _user, "segments": _segment,
}
