r"""``raw_events``: the JSON Lines files Kissmetrics' Data Export writes to an S3 bucket.

``revisions/1.json .. revisions/N.json`` [research 7], read in numeric order with boto3;
the bookmark is the last revision read completely. Lines may hold non-JSON octal escapes
(``\303\241`` for "á"), be empty, or be broken: broken ones are counted, logged and skipped.
"""

from __future__ import annotations

import json
import logging
import re
import typing as t
from decimal import Decimal
from functools import cached_property

from singer_sdk import Stream, StreamSchema
from typing_extensions import override

from taps.kissmetrics.client import SCHEMAS
from taps.shared.errors import ConfigurationError
from taps.shared.timestamps import iso_utc

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from singer_sdk.helpers.types import Context

REVISION_KEY = re.compile(r"^revisions/(\d+)\.json$")
#: An escaped backslash (kept) or a run of octal escapes (UTF-8 bytes).
_OCTAL = re.compile(r"(\\\\)|((?:\\[0-7]{3})+)")
RESERVED = {"_p": "person", "_p2": "alias", "_n": "event", "_t": "timestamp"}


def decode_octal(line: str) -> str:
    r"""Turn ``\303\241`` runs into the UTF-8 text they encode (JSON-escaped if ASCII)."""
    if "\\" not in line:
        return line

    def replace(match: re.Match[str]) -> str:
        if match.group(1):
            return match.group(1)
        octets = bytes(int(part, 8) for part in match.group(2).split("\\")[1:])
        text = octets.decode("utf-8", errors="replace")
        return "".join(json.dumps(c)[1:-1] if ord(c) < 128 else c for c in text)

    return _OCTAL.sub(replace, line)


def parse_line(line: str) -> dict[str, t.Any] | None:
    """A line as a dict, or None when it is not a JSON object even after unescaping."""
    try:
        value = json.loads(decode_octal(line), parse_float=Decimal)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def to_record(revision: int, number: int, item: dict[str, t.Any]) -> dict[str, t.Any]:
    """``{revision, line, person, alias, event, timestamp, kind, properties}``."""
    fields = {name: item.get(key) for key, name in RESERVED.items()}
    try:
        fields["timestamp"] = iso_utc(fields["timestamp"])
    except (ValueError, TypeError):
        fields["timestamp"] = None
    kind = "alias" if item.get("_p2") is not None else "event" if item.get("_n") else "set"
    properties = {k: v for k, v in item.items() if k not in RESERVED}
    return {"revision": revision, "line": number, **fields, "kind": kind,
            "properties": properties}


class RawEvents(Stream):
    """Every event, set and alias line of the export bucket (the only event-level source)."""

    name = "raw_events"
    schema = StreamSchema(SCHEMAS)
    primary_keys = ("revision", "line")
    replication_key = "revision"
    is_sorted = True

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        """Count unparseable lines per run."""
        super().__init__(*args, **kwargs)
        self.unparseable = 0
        for name in ("boto3", "botocore", "s3transfer"):
            logging.getLogger(name).setLevel(logging.WARNING)

    @cached_property
    def client(self) -> t.Any:
        """A boto3 S3 client from the settings (or the usual AWS credential chain)."""
        import boto3  # noqa: PLC0415 - only syncs that read the bucket need it
        from botocore.config import Config  # noqa: PLC0415

        cfg = self.config
        keys = {"aws_access_key_id": cfg.get("aws_access_key_id"),
                "aws_secret_access_key": cfg.get("aws_secret_access_key")}
        return boto3.client(
            "s3", endpoint_url=cfg.get("export_endpoint_url") or None,
            region_name=cfg.get("export_region") or "us-east-1",
            **{k: v for k, v in keys.items() if v},
            config=Config(retries={"mode": "standard",
                                   "max_attempts": int(cfg.get("max_retries", 8)) + 1},
                          connect_timeout=float(cfg.get("request_timeout_seconds", 300)),
                          read_timeout=float(cfg.get("request_timeout_seconds", 300))))

    def revisions(self, after: int) -> list[int]:
        """Revision numbers above ``after``, in numeric order (S3 pages past 1000 keys)."""
        bucket = str(self.config["export_bucket"])
        numbers = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix="revisions/")
            for page in pages:
                for item in page.get("Contents", []):
                    match = REVISION_KEY.match(item["Key"])
                    if match and int(match.group(1)) > after:
                        numbers.append(int(match.group(1)))
        except Exception as exc:
            raise self._bucket_error(exc) from None
        return sorted(numbers)

    def _bucket_error(self, exc: Exception) -> ConfigurationError:
        bucket = self.config.get("export_bucket")
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
        if code in {"NoSuchBucket", "404"}:
            reason = f"the export bucket {bucket!r} does not exist: check export_bucket"
        elif code in {"AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"}:
            reason = (f"S3 refused access to the export bucket {bucket!r} ({code}): check "
                      "aws_access_key_id / aws_secret_access_key (or the AWS credential chain)")
        elif type(exc).__name__ in {"EndpointConnectionError", "ConnectTimeoutError"}:
            reason = (f"cannot reach S3 for the export bucket {bucket!r}: check "
                      "export_endpoint_url and export_region")
        elif type(exc).__name__ == "NoCredentialsError":
            reason = ("no AWS credentials for the export bucket: set aws_access_key_id and "
                      "aws_secret_access_key, or configure the AWS credential chain")
        else:
            reason = f"reading the export bucket {bucket!r} failed ({type(exc).__name__}: {exc})"
        return ConfigurationError(f"raw_events: {reason}")

    def lines(self, revision: int) -> Iterator[str]:
        """The lines of ``revisions/<revision>.json``."""
        try:
            body = self.client.get_object(Bucket=str(self.config["export_bucket"]),
                                          Key=f"revisions/{revision}.json")["Body"].read()
        except Exception as exc:
            raise self._bucket_error(exc) from None
        yield from body.decode("utf-8", errors="replace").split("\n")

    @override
    def get_records(self, context: Context | None) -> Iterator[dict]:
        state = self.get_context_state(context)
        after = int(state.get("replication_key_value") or 0)
        for revision in self.revisions(after):
            for number, line in enumerate(self.lines(revision), start=1):
                if not line.strip():
                    continue
                item = parse_line(line)
                if item is None:
                    self.unparseable += 1
                    self.logger.warning("raw_events: revisions/%d.json line %d is not a JSON "
                                        "object: skipped", revision, number)
                    continue
                yield to_record(revision, number, item)
            state["replication_key"] = self.replication_key
            state["replication_key_value"] = revision
            self.state_manager.is_flushed = False
            self._write_state_message()
        self.logger.info("raw_events: %d unparseable line(s) skipped in this run",
                         self.unparseable)

    @override
    def _increment_stream_state(self, latest_record: dict, *,
                                context: Context | None = None) -> None:
        """Records do not move the bookmark: each completed revision does."""
        return
