"""The Data Export bucket [research 7]: a real S3 server (moto's server mode) on loopback.

The bucket holds ``revisions/1.json .. revisions/N.json`` (JSON Lines of event, set and
alias records ordered by receipt, with the hazards clients meet: non-JSON octal escapes,
empty lines, broken lines, duplicates), ``index.csv`` and ``status.csv``. It is filled
through boto3 when the emulator starts; ``/mutate`` adds revisions.
"""

from __future__ import annotations

import atexit
import datetime as dt
import json
import logging
import typing as t
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from emulators.framework.rand import mix
from emulators.kissmetrics.people import identity

BUCKET = "acme-kissmetrics-export"
REGION = "us-east-1"  # "US Standard" [KMS:export-setup]
INDEX_HEADER = "filename,min_timestamp,max_timestamp,min_utc_date,max_utc_date"  # MADKUDU
#: GUESS: the exact header strings are unknown; these are the documented column meanings.
STATUS_HEADER = ("Total Revisions,Exported Revisions,Max Exported Revision Timestamp,"
                 "Max Exported Revision UTC Timestamp")
MAX_REVISIONS = 1500
UPLOAD_THREADS = 8
#: Text with non-ASCII characters, for properties (some written with octal escapes).
ACCENTED = ("São Paulo", "Málaga", "Zürich", "Kraków", "Reykjavík", "José Álvarez",
            "Ana Gonçalves", "Plan Básico", "München", "Crème brûlée")
PLAIN = ("Google", "Newsletter", "Direct", "Twitter", "Pro", "Free", "Chrome", "Firefox")
CAMPAIGN_KEYS = ("campaign source", "plan", "city", "referrer", "browser")


def utc_minute(epoch: int) -> str:
    """``2012-10-02 07:05 GMT`` as index.csv writes it."""
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).strftime("%Y-%m-%d %H:%M GMT")


def octal_escape(text: str) -> str:
    r"""Each non-ASCII character as octal escapes of its UTF-8 bytes (``á``: ``\303\241``)."""
    return "".join(c if ord(c) < 128 else "".join(f"\\{b:03o}" for b in c.encode("utf-8"))
                   for c in text)


@dataclass
class Revision:
    """One export file and what a reader should get from it."""

    number: int
    text: str
    parseable: int  # non-empty lines that decode (after octal unescaping) to an object
    min_t: int
    max_t: int

    @property
    def key(self) -> str:
        """The object key."""
        return f"revisions/{self.number}.json"


def revision_count(scale: int) -> int:
    """One revision per 10 of ``--scale`` (3 to 1500: past 1000 keys from scale 10000)."""
    return max(3, min(scale // 10, MAX_REVISIONS))


class ExportBucket:
    """The S3 server, the bucket's content and its filling."""

    def __init__(self, *, seed: int, scale: int, start: float, end: float,
                 event_names: list[str]) -> None:
        """Generate the revisions: ``_t`` spread over [start, end) in revision order."""
        self.seed, self.scale = seed, scale
        self.event_names = event_names
        self.lines_max = 10 + min(scale // 100, 1000)
        self.access_key = f"AKIAKM{mix(seed, 701) % 10**14:014d}"
        self.secret_key = f"km{mix(seed, 702):016x}{mix(seed, 703):016x}"
        self.server: t.Any = None
        self.client: t.Any = None
        self.endpoint = ""
        count = revision_count(scale)
        span = (end - start) / count
        self.revisions = [self._revision(n, start + (n - 1) * span, span, start, end)
                          for n in range(1, count + 1)]

    # Content -------------------------------------------------------------------------------

    def _record(self, n: int, k: int, t0: int) -> tuple[dict[str, t.Any], bool]:
        """(record, accented?) for line k of revision n."""
        h = mix(self.seed, 710, n, k)
        person = identity(self.seed, 0, h % 400)
        roll = (h >> 12) % 10
        if roll == 9:  # alias: two identities of one person
            return {"_p": person, "_p2": f"anon-{(h >> 20) % 10**8:08d}", "_t": t0}, False
        value_pool = ACCENTED if (h >> 30) % 4 == 0 else PLAIN
        value = value_pool[(h >> 34) % len(value_pool)]
        record: dict[str, t.Any] = {"_p": person, "_t": t0}
        if roll < 7:  # event
            record["_n"] = self.event_names[(h >> 40) % len(self.event_names)]
            if (h >> 44) % 3 == 0:
                record["billing amount"] = round(((h >> 46) % 10000) / 100, 2)
        record[CAMPAIGN_KEYS[(h >> 50) % len(CAMPAIGN_KEYS)]] = value
        if (h >> 55) % 8 == 0:
            record["_server_timestamp"] = t0 + (h >> 58) % 30  # seen in the wild [RAVEN]
        return record, value_pool is ACCENTED

    def _revision(self, n: int, begin: float, span: float, lo: float, hi: float) -> Revision:
        """Lines in receipt order; ``_t`` may stray into the neighbouring span."""
        count = 5 + mix(self.seed, 711, n) % self.lines_max
        lines: list[str] = []
        stamps: list[int] = []
        for k in range(count):
            h = mix(self.seed, 712, n, k)
            jitter = (h % 1000) / 1000 * span * (1.5 if h % 10 == 0 else 1.0)
            t0 = int(min(max(begin + jitter, lo), hi - 1))
            record, accented = self._record(n, k, t0)
            text = json.dumps(record, ensure_ascii=(h >> 20) % 2 == 0)
            if accented and (h >> 21) % 2 == 0:
                text = octal_escape(json.dumps(record, ensure_ascii=False))
            hazard = (h >> 24) % 40 if k else 99  # the first line is always a plain event
            if hazard == 0:
                lines.append("")  # empty line
            elif hazard == 1:
                lines.append("   ")  # whitespace only
            if hazard in {2, 3}:
                lines.append(text[: max(len(text) // 2, 2)])  # broken: cut mid-object
                continue
            if hazard == 4:
                lines.append('{"_n": "signed up", "_p": , "_t": ' + str(t0) + "}")  # broken
                continue
            lines.append(text)
            stamps.append(t0)
            if hazard == 5:  # an exact duplicate (the report engine dedupes these)
                lines.append(text)
                stamps.append(t0)
        return Revision(n, "\n".join(lines) + "\n", len(stamps), min(stamps), max(stamps))

    def index_csv(self) -> str:
        """``index.csv``: one row per revision file."""
        rows = [INDEX_HEADER] + [
            f"{r.key},{r.min_t},{r.max_t},{utc_minute(r.min_t)},{utc_minute(r.max_t)}"
            for r in self.revisions]
        return "\n".join(rows) + "\n"

    def status_csv(self) -> str:
        """``status.csv``: totals and the newest exported timestamp."""
        newest = max(r.max_t for r in self.revisions)
        total = len(self.revisions)
        return f"{STATUS_HEADER}\n{total},{total},{newest},{utc_minute(newest)}\n"

    def raw_events(self) -> int:
        """Parseable lines over all revisions (what a tap's ``raw_events`` must produce)."""
        return sum(r.parseable for r in self.revisions)

    # Server --------------------------------------------------------------------------------

    def start(self) -> None:
        """Run moto's S3 server on a free loopback port and fill the bucket with boto3."""
        try:
            import boto3  # noqa: PLC0415
            from botocore.config import Config  # noqa: PLC0415
            from moto.server import ThreadedMotoServer  # noqa: PLC0415
        except ImportError as exc:
            msg = f"the Kissmetrics emulator needs moto[server] and boto3 ({exc})"
            raise ValueError(msg) from None
        # werkzeug would log every request to stderr, which nobody may be reading.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        atexit.register(self.stop)
        host, port = self.server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self.client = boto3.client(
            "s3", endpoint_url=self.endpoint, region_name=REGION,
            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
            config=Config(max_pool_connections=UPLOAD_THREADS))
        self.client.create_bucket(Bucket=BUCKET)
        self._upload(self.revisions)

    def _upload(self, revisions: list[Revision]) -> None:
        def put(item: tuple[str, str]) -> None:
            self.client.put_object(Bucket=BUCKET, Key=item[0], Body=item[1].encode("utf-8"))

        items = [(r.key, r.text) for r in revisions]
        items += [("index.csv", self.index_csv()), ("status.csv", self.status_csv())]
        with ThreadPoolExecutor(UPLOAD_THREADS) as pool:
            list(pool.map(put, items))

    def stop(self) -> None:
        """Stop the S3 server (at exit, after SIGTERM)."""
        server, self.server = self.server, None
        if server is not None:
            server.stop()

    def add_revisions(self, count: int, now: float) -> list[str]:
        """``/mutate``: ``count`` new revisions covering the last 12 hours; new index/status."""
        span = 12 * 3600 / max(count, 1)
        begin = now - 12 * 3600
        added = [self._revision(len(self.revisions) + 1 + k, begin + k * span, span, begin,
                                now) for k in range(count)]
        self.revisions += added
        self._upload(added)
        return [r.key for r in added]
