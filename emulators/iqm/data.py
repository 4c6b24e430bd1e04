"""One emulated IQM advertiser workspace: objects as functions of (seed, index), plus mutations.

Nothing is generated up front. Ids grow with the index, so index order is id order and
creation order. Timestamps follow the units of each endpoint's documented example (research
1.5): campaigns in epoch seconds, insertion orders in milliseconds, creatives ``createdAt`` in
milliseconds next to an ISO ``modifiedAt``, audiences in milliseconds, conversions and saved
report dates in seconds (their schedule's ``eventEndDate`` in milliseconds).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import typing as t
import uuid
from dataclasses import dataclass

from emulators.framework.rand import mix
from emulators.iqm.catalog import TIMEZONES

OW_ID = 200001  # the docs' login example
OTHER_OW_ID = 200002  # GUESS: a second workspace (another user's), holding no objects
ORGANIZATION = "Acme Advertiser"
DAY = 86400
STREAMS = ("campaigns", "insertion_orders", "creatives", "audiences", "conversions",
           "saved_reports")
CREATIVE_TYPES = (11, 11, 11, 13, 14, 14, 15, 17)  # Image, HTML, Video, Native, Audio
CREATIVE_TYPE_NAMES = {11: "Image", 13: "HTML", 14: "Video", 15: "Native", 17: "Audio"}
CAMPAIGN_TIMEZONES = (11, 29, 29, 423, 433)
WORDS = ("Summer", "Brand", "Retarget", "Launch", "Holiday", "Awareness", "Local", "Promo",
         "Spring", "Always-On", "Search", "Video")
NOUNS = ("Push", "Reach", "Sale", "Wave", "Boost", "Drive", "Test", "Flight")
LOGO = "https://iqm-web-assets-c92d6b6cbde1-stage.s3.amazonaws.com/avatar/AA.png"
CDN = "https://cdn-cfy-p0.iqm.com"


@dataclass(frozen=True)
class Plan:
    """A campaign's run and money (times in epoch seconds)."""

    start: int
    end: int
    created: int
    creative_type: int
    status: str
    io: int
    tz_id: int
    cpm_mills: int  # total CPM in 1/1000 USD; media and data shares below
    media_mills: int
    data_mills: int
    skip_period: int  # one UTC day in every skip_period delivers nothing
    skip_offset: int
    delivers: bool


class Dataset:
    """Every list of the workspace."""

    def __init__(self, *, seed: int, scale: int, started: float) -> None:
        """Sizes from ``scale`` (= campaigns); records are rendered when asked for."""
        self.seed, self.started = seed, started
        scale = max(scale, 1)
        self.base = {"campaigns": scale, "insertion_orders": math.ceil(scale / 5),
                     "creatives": scale + scale // 2, "audiences": math.ceil(scale / 2),
                     "conversions": math.ceil(scale / 4),
                     "saved_reports": math.ceil(scale / 20) + 2}
        self.today = int(started // DAY)
        self.start_day = self.today - 30  # the first line's start_date
        #: Generated times and statuses are relative to midnight UTC of the start day, so
        #: one seed gives the same records all day.
        self.anchor = self.today * DAY
        #: stream -> creation times of records added by /mutate
        self.added: dict[str, list[int]] = {s: [] for s in STREAMS}
        #: (stream, index) -> modification time of edited records
        self.edited: dict[tuple[str, int], int] = {}
        self.version = 0
        self._plans: dict[int, Plan] = {}

    def total(self, stream: str) -> int:
        """Generated plus added records."""
        return self.base[stream] + len(self.added[stream])

    def h(self, salt: int, *values: int) -> int:
        """A deterministic hash of the seed, a salt and values."""
        return mix(self.seed, salt, *values)

    def _created(self, stream: str, i: int) -> int:
        """Creation time (s): increasing with the index, all before the emulator started."""
        if i >= self.base[stream]:
            return self.added[stream][i - self.base[stream]]
        span = 400 * DAY
        step = span // self.base[stream]
        return self.anchor - span - 3600 + i * step + self.h(3, len(stream), i) % max(
            step, 1)

    def _modified(self, stream: str, i: int) -> int:
        edited = self.edited.get((stream, i))
        if edited:
            return edited
        created = self._created(stream, i)
        return created + self.h(4, len(stream), i) % max(self.anchor - 120 - created, 1)

    def _name(self, stream: str, i: int, label: str) -> str:
        h = self.h(5, len(stream), i)
        name = f"{label}-{i + 1} {WORDS[h % len(WORDS)]} {NOUNS[(h >> 8) % len(NOUNS)]}"
        return f"{name} (edited)" if (stream, i) in self.edited else name

    # Campaigns ---------------------------------------------------------------------------

    def plan(self, i: int) -> Plan:
        """Run, status and prices of campaign ``i``; added campaigns are drafts in the future."""
        plan = self._plans.get(i)
        if plan is not None:
            return plan
        h = self.h(10, i)
        now = self.anchor
        if i >= self.base["campaigns"]:
            start = self._created("campaigns", i) + 30 * DAY
            end, status, delivers = start + 30 * DAY, "pending", False
        else:
            start = (self.today - 20 - h % 180) * DAY + (h >> 8) % DAY
            end = start + (10 + (h >> 16) % 290) * DAY
            roll = (h >> 32) % 100
            # GUESS: shares of each status; rejected campaigns never deliver.
            status = ("rejected" if roll < 4 else "deleted" if roll < 9 else
                      "paused" if roll < 17 else "expired" if end <= now else
                      "pending" if start > now else "running")
            delivers = status != "rejected"
        cpm = 1500 + (h >> 40) % 6000
        media = cpm * 7 // 10
        data = (cpm - media) // 2 if (h >> 52) % 3 == 0 else 0
        plan = Plan(start=start, end=end, created=min(self._created("campaigns", i), start),
                    creative_type=CREATIVE_TYPES[(h >> 44) % len(CREATIVE_TYPES)],
                    status=status, io=i % self.base["insertion_orders"],
                    tz_id=CAMPAIGN_TIMEZONES[(h >> 48) % len(CAMPAIGN_TIMEZONES)],
                    cpm_mills=cpm, media_mills=media, data_mills=data,
                    skip_period=7 + (h >> 56) % 5, skip_offset=(h >> 20) % 11,
                    delivers=delivers)
        self._plans[i] = plan
        return plan

    def campaign_id(self, i: int) -> int:
        """Campaign ids."""
        return 261001 + i

    def budget(self, i: int) -> tuple[float, float, float]:
        """(daily budget, total budget, max bid) in USD."""
        h = self.h(11, i)
        day = float(50 + h % 950)
        return day, day * (20 + (h >> 12) % 60), round(self.plan(i).cpm_mills / 1000 + 1, 2)

    def campaign(self, i: int) -> dict[str, t.Any]:
        """A row of ``POST /api/v3/cmp/basic/list`` (the example's fields and units)."""
        plan = self.plan(i)
        io = plan.io
        return {"campaignId": self.campaign_id(i), "name": self._name("campaigns", i, "Campaign"),
                "creativeTypeId": plan.creative_type, "campaignTypeId": 1,
                "status": plan.status, "startTime": plan.start, "endTime": plan.end,
                "createdAt": plan.created,
                "modifiedAt": max(self._modified("campaigns", i), plan.created),
                "owId": OW_ID, "organizationName": ORGANIZATION, "organizationLogo": LOGO,
                "ioId": self.io_id(io), "ioStatusId": self.io_status(io),
                "timezoneId": plan.tz_id, "ioBudgetTypeId": 1 + self.h(20, io) % 2,
                "ioName": self.io_name(io)}

    def legacy_campaign(self, i: int) -> dict[str, t.Any]:
        """A row of ``GET /api/v2/cmp/campaigns/list``: the id is a string (OAS example)."""
        plan = self.plan(i)
        return {"id": str(self.campaign_id(i)), "name": self._name("campaigns", i, "Campaign"),
                "status": plan.status, "owId": OW_ID, "uowId": 981, "advertiser_email": None,
                "advertiser_id": 0, "campaign_type": "CPM",
                "creative_type": CREATIVE_TYPE_NAMES[plan.creative_type], "dsp_id": 0,
                "start_date": plan.start, "end_date": plan.end,
                "creative_type_id": plan.creative_type, "total_budget": self.budget(i)[1]}

    # Insertion orders --------------------------------------------------------------------

    def io_id(self, j: int) -> int:
        """IO ids."""
        return 701 + j

    def io_name(self, j: int) -> str:
        """IO names."""
        return self._name("insertion_orders", j, "IO")

    def io_status(self, j: int) -> int:
        """1 active, 2 expired, 3 deleted (GUESS: shares)."""
        roll = self.h(20, j) >> 8
        return 3 if roll % 20 == 0 else 2 if roll % 4 == 1 else 1

    def insertion_order(self, j: int) -> dict[str, t.Any]:
        """A row of ``POST /api/v3/cmp/io/basic/list`` (times in ms, as the example)."""
        h = self.h(21, j)
        start = self._created("insertion_orders", j) * 1000 + h % 1000
        return {"ioId": self.io_id(j), "ioName": self.io_name(j), "ioStartTime": start,
                "ioEndTime": start + (30 + h % 300) * DAY * 1000,
                "ioTimeZoneId": CAMPAIGN_TIMEZONES[(h >> 10) % len(CAMPAIGN_TIMEZONES)],
                "ioTotalBudget": float((h >> 16) % 100000),
                "ioBudgetDistributionMethodId": 1 + (h >> 30) % 2,
                "ioBudgetTypeId": 1 + self.h(20, j) % 2, "ioStatusId": self.io_status(j),
                "ioTotalImpressions": (h >> 34) % 1000000,
                "isAutoSumIoTotalBudget": (h >> 50) % 2 == 0}

    # Creatives ---------------------------------------------------------------------------

    def creative_campaign(self, k: int) -> int:
        """The campaign a creative serves in (every generated campaign has one or two)."""
        return k % self.base["campaigns"]

    def creative_id(self, k: int) -> int:
        """Creative ids."""
        return 130141 + k

    def creative_name(self, k: int) -> str:
        """Creative names."""
        return self._name("creatives", k, "Creative")

    def creative(self, k: int) -> dict[str, t.Any]:
        """A row of ``POST /api/v3/crt/creatives/list`` (ms ``createdAt``, ISO ``modifiedAt``)."""
        h = self.h(30, k)
        kind = self.plan(self.creative_campaign(k)).creative_type
        created = self._created("creatives", k)
        modified = dt.datetime.fromtimestamp(self._modified("creatives", k), dt.timezone.utc)
        code = f"{h % 10**8:08x}"
        row: dict[str, t.Any] = {
            "creativeId": self.creative_id(k), "creativeName": self.creative_name(k),
            "platformCreativeTypeId": kind, "creativeStatusId": 1 + (h >> 32) % 5,
            "creativePreviewFlag": 1,
            "creativeSourceType": {13: "HTML", 14: "vast-xml"}.get(kind, "file"),
            "creativeSource": f"{CDN}/image/457/{code}.gif",
            "creativeThumbnailSource": f"{CDN}/Screenshots/{OW_ID}/136x82/{code}.gif",
            "creativeCardSource": f"{CDN}/Screenshots/{OW_ID}/278x220/{code}.gif",
            "createdAt": created * 1000 + h % 1000,
            "modifiedAt": modified.strftime("%Y-%m-%dT%H:%M:%S.000+00:00"),
            "clickUrl": f"https://example.com/id={self.creative_id(k)}",
            "subMediaType": CREATIVE_TYPE_NAMES[kind],
            "campaignDetails": {"campaignIds": [self.campaign_id(self.creative_campaign(k))]},
            "userDetails": {"uowId": 981}, "organizationDetails": {"owId": OW_ID}}
        if kind in {14, 17}:
            row["duration"] = 6 + (h >> 40) % 30
        else:
            row["creativeHeight"], row["creativeWidth"] = ((50, 320), (250, 300),
                                                           (90, 728))[(h >> 40) % 3]
        return row

    # Audiences, conversions, saved reports -----------------------------------------------

    def audience(self, a: int) -> dict[str, t.Any]:
        """A row of ``POST /api/v3/audience/list`` (the example's fields, ms ``createdAt``)."""
        h = self.h(40, a)
        status = (1, 2, 3, 3, 3, 4, 6)[h % 7]
        n = self.base["campaigns"]
        included = sorted({self.campaign_id((a + m * 7) % n) for m in range(h >> 8 & 3)})
        row: dict[str, t.Any] = {
            "audienceId": 1142001 + a, "audienceName": self._name("audiences", a, "Audience"),
            "audienceStatusId": status,
            "createdAt": self._created("audiences", a) * 1000 + (h >> 12) % 1000,
            "uniques": (h >> 20) % 500000, "reach": (h >> 20) % 500000,
            "cpm": round(((h >> 40) % 300) / 100, 2), "audienceTypeId": 1 + (h >> 4) % 8,
            "audienceSubtypeId": 0, "verticalId": 10, "organizationName": ORGANIZATION,
            "owId": OW_ID, "createdByUowId": 981, "isEditAccess": True,
            "isApprovalAccess": False, "includedCampaignList": included,
            "excludedCampaignList": [], "runningCampaignCount": len(included),
            "pendingCampaignCount": 0, "pausedCampaignCount": 0, "expiredCampaignCount": 0}
        if status == 4:
            row["rejectionReason"] = "Invalid data format"
        if row["audienceTypeId"] == 1:
            row.update({"matchRate": round(((h >> 30) % 10000) / 100, 2),
                        "fileTotalCount": 10000, "s3FileName": f"{1751006475705 + a}_file.csv",
                        "dataPartnerId": 1})
        return row

    def conversion(self, c: int) -> dict[str, t.Any]:
        """A row of ``GET /api/v3/conversion/list`` (the example's keys, ``created`` in s)."""
        h = self.h(50, c)
        pixel = h % 4 != 0
        key = str(uuid.UUID(int=self.h(51, c) << 64 | self.h(52, c), version=4))
        return {"id": 2539 + c, "name": self._name("conversions", c, "conversion"),
                "postbackPartnerName": None if pixel else "Kochava",
                "status": "Active" if (h >> 8) % 5 else "Pending",
                "type": "Pixel" if pixel else "Postback", "created": self._created(
                    "conversions", c), "totalConversion": (h >> 16) % 5000, "owId": OW_ID,
                "createdByUowId": 6255, "modifiedByUowId": 6255, "uuid": key,
                "pixelConversionScript": f"<script src='https://pxl.iqm.com/i/pixel/{key}' "
                                         "async></script>" if pixel else "",
                "attributedConversion": (h >> 30) % 100,
                "attributedViewThroughConversion": (h >> 37) % 50,
                "attributedClickThroughConversion": (h >> 44) % 50,
                "pixelFinancialMetric": "revenue",
                "postbackPartnerLogoUrl": None if pixel else
                "https://logo-bucket/partners/kochava.com", "campaignCount": (h >> 51) % 5}

    def saved_report_definition(self, r: int) -> dict[str, t.Any]:
        """What saved report ``r`` runs: dimensions, columns, timezone, dates (s)."""
        h = self.h(60, r)
        dims = ([{"filter": "campaign"}], [{"filter": "campaign"}, {"filter": "gender"}],
                [{"filter": "creative"}, {"filter": "deviceType"}])[h % 3]
        end_day = self.today - 1 - (h >> 8) % 30
        tz_id = (11, 29, 423)[(h >> 16) % 3]
        return {"dimensions": json.dumps(dims, separators=(",", ":")),
                "columns": ["impressions", "clicks", "CTR", "spent", "eCPM"],
                "timezoneId": tz_id, "timezoneName": TIMEZONES[tz_id][0],
                "startDate": (end_day - 29) * DAY, "endDate": end_day * DAY + DAY - 1,
                "requestType": 1 + (h >> 20) % 2}

    def saved_report(self, r: int) -> dict[str, t.Any]:
        """A row of ``GET /api/v3/ra/reports/list`` (dates in seconds, as the example)."""
        d = self.saved_report_definition(r)
        h = self.h(61, r)
        schedule: dict[str, t.Any] = {}
        if h % 3 == 0:
            schedule = {"eventId": 29 + r, "deliveryFrequency": 3, "fileType": 2,
                        "subscriberEmails": ["reports@acme.example"],
                        "eventEndDate": (self.today + 60) * DAY * 1000 - 1,
                        "deliveryDay": "Friday"}
        return {"id": 1 + r, "reportName": self._name("saved_reports", r, "Report"),
                "startDate": d["startDate"], "endDate": d["endDate"],
                "dimensions": d["dimensions"], "customerIds": None, "customerDetails": None,
                "timezoneId": d["timezoneId"], "reportSchedulingEventDetails": schedule}

    def modified(self, stream: str, i: int) -> int:
        """Last modification (s): the saved reports' ``modifyDate`` sort key."""
        return self._modified(stream, i)

    # Mutations ---------------------------------------------------------------------------

    def mutate(self, count: int, now: float) -> dict[str, t.Any]:
        """Per stream: ``count`` records renamed (modified now) and ``count`` added."""
        self.version += 1
        report: dict[str, dict[str, int]] = {"changed": {}, "added": {}}
        for stream in STREAMS:
            total = self.total(stream)
            picked = sorted({self.h(70, self.version, k) % total for k in range(count)})
            for i in picked:
                self.edited[(stream, i)] = int(now)
            for _ in range(count):
                self.added[stream].append(int(now))
            report["changed"][stream] = len(picked)
            report["added"][stream] = count
        self._plans = {i: p for i, p in self._plans.items() if i < self.base["campaigns"]}
        return report
