"""The Kissmetrics emulator's Data Export bucket (a real S3 server), counts and mutations."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import socket
import typing as t

import boto3
import pytest
import requests

from emulators.process import EmulatorProcess

OCTAL = re.compile(rb"(?:\\[0-7]{3})+")


@pytest.fixture(scope="module")
def emu() -> t.Iterator[EmulatorProcess]:
    with EmulatorProcess("kissmetrics", "--seed", "6", "--scale", "400") as emulator:
        yield emulator


def s3(emu: EmulatorProcess) -> t.Any:
    c = emu.tap_config
    return boto3.client("s3", endpoint_url=c["export_endpoint_url"], region_name=c["export_region"],
                        aws_access_key_id=c["aws_access_key_id"],
                        aws_secret_access_key=c["aws_secret_access_key"])


def keys(emu: EmulatorProcess, prefix: str = "") -> list[str]:
    pages = s3(emu).get_paginator("list_objects_v2").paginate(
        Bucket=emu.tap_config["export_bucket"], Prefix=prefix)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def get(emu: EmulatorProcess, key: str) -> bytes:
    return s3(emu).get_object(Bucket=emu.tap_config["export_bucket"], Key=key)["Body"].read()


def decode_line(raw: bytes) -> dict | None:
    """Octal escapes -> UTF-8, then JSON; None for a broken line."""
    def unescape(match: re.Match[bytes]) -> bytes:
        text = bytes(int(match.group(0)[k + 1:k + 4], 8)
                     for k in range(0, len(match.group(0)), 4)).decode("utf-8")
        return json.dumps(text)[1:-1].encode()

    fixed = OCTAL.sub(unescape, raw)
    try:
        value = json.loads(fixed.decode("utf-8"))
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def read_all(emu: EmulatorProcess) -> dict[str, t.Any]:
    out: dict[str, t.Any] = {"parsed": {}, "empty": 0, "broken": 0, "octal": 0, "octal_text": set()}
    for key in keys(emu, "revisions/"):
        records = []
        for raw in get(emu, key).split(b"\n")[:-1]:
            if not raw.strip():
                out["empty"] += 1
                continue
            record = decode_line(raw)
            if record is None:
                out["broken"] += 1
                continue
            if OCTAL.search(raw):
                out["octal"] += 1
                out["octal_text"] |= {v for v in record.values() if isinstance(v, str)
                                      and not v.isascii()}
            records.append(record)
        out["parsed"][key] = records
    return out


def test_bucket_layout_index_and_status_agree_with_the_revisions(emu: EmulatorProcess) -> None:
    listed = keys(emu)
    revisions = keys(emu, "revisions/")
    assert {"index.csv", "status.csv"} <= set(listed)
    numbers = sorted(int(k.split("/")[1].removesuffix(".json")) for k in revisions)
    assert numbers == list(range(1, len(revisions) + 1))
    index = list(csv.DictReader(io.StringIO(get(emu, "index.csv").decode())))
    assert list(index[0]) == ["filename", "min_timestamp", "max_timestamp", "min_utc_date",
                              "max_utc_date"]
    content = read_all(emu)
    assert {row["filename"] for row in index} == set(revisions)
    for row in index:
        stamps = [r["_t"] for r in content["parsed"][row["filename"]]]
        assert int(row["min_timestamp"]) == min(stamps)
        assert int(row["max_timestamp"]) == max(stamps)
        assert row["min_utc_date"].endswith(" GMT")
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d GMT", row["max_utc_date"])
    status = list(csv.reader(io.StringIO(get(emu, "status.csv").decode())))
    assert status[1][:2] == [str(len(revisions))] * 2
    assert int(status[1][2]) == max(int(r["max_timestamp"]) for r in index)


def test_revisions_hold_every_kind_and_hazard(emu: EmulatorProcess) -> None:
    content = read_all(emu)
    records = [r for rows in content["parsed"].values() for r in rows]
    assert sum(len(rows) for rows in content["parsed"].values()) == emu.counts()["raw_events"]
    assert content["empty"] > 0
    assert content["broken"] > 0
    assert content["octal"] > 0
    assert content["octal_text"] & {"São Paulo", "Málaga", "Zürich", "Kraków", "Reykjavík",
                                    "José Álvarez", "Ana Gonçalves", "Plan Básico", "München",
                                    "Crème brûlée"}
    kinds = {"event" if "_n" in r else "alias" if "_p2" in r else "set" for r in records}
    assert kinds == {"event", "alias", "set"}
    assert all(isinstance(r["_t"], int) and r["_p"] for r in records)
    start = emu.tap_config["start_date"]
    floor = dt.datetime.fromisoformat(start.replace("Z", "+00:00")).timestamp()
    assert min(r["_t"] for r in records) >= floor


def test_mutate_adds_a_revision_and_changes_objects() -> None:
    with EmulatorProcess("kissmetrics", "--seed", "7", "--scale", "100") as emulator:
        before = emulator.counts()
        revisions = keys(emulator, "revisions/")
        url = emulator.tap_config["core_api_url"] + "/events"
        hdrs = {"Authorization": f"Bearer {emulator.tap_config['api_token']}"}
        names = {e["id"]: e["display_name"]
                 for e in requests.get(url, params={"limit": 100}, headers=hdrs, timeout=5)
                 .json()["data"]}
        report = emulator.mutate(2)
        after = report["counts"]
        assert after == emulator.counts()
        assert len(report["revisions_added"]) == 2
        assert keys(emulator, "revisions/") == sorted(
            [*revisions, *report["revisions_added"]])
        for stream in ("reports", "events", "properties", "metrics"):
            assert after[stream] == before[stream] + 2
        assert after["raw_events"] > before["raw_events"]
        index = get(emulator, "index.csv").decode()
        assert all(k in index for k in report["revisions_added"])
        events = requests.get(url, params={"limit": 100}, headers=hdrs, timeout=5).json()["data"]
        assert any(e["display_name"].endswith("(edited)") for e in events)
        assert any(names.get(e["id"]) not in {None, e["display_name"]} for e in events)


def test_more_than_1000_keys_need_s3_paging_and_sigterm_stops_the_s3_server() -> None:
    emulator = EmulatorProcess("kissmetrics", "--seed", "3", "--scale", "10100").start()
    c = emulator.tap_config
    client = s3(emulator)
    first = client.list_objects_v2(Bucket=c["export_bucket"], Prefix="revisions/")
    assert first["IsTruncated"] is True
    assert first["KeyCount"] == 1000
    assert len(keys(emulator, "revisions/")) == 1010
    port = int(c["export_endpoint_url"].rsplit(":", 1)[1])
    assert emulator.stop() == 0
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
