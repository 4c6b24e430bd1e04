"""scripts/dbt_sources.py: the staging layer generated from the taps' schemas and catalogs."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import dbt_sources  # noqa: E402
from dbt_sources import Stream, snake_case, stream_columns  # noqa: E402

STAGING = ROOT / "transform" / "models" / "staging"


def test_committed_staging_files_match_the_taps(capsys: pytest.CaptureFixture[str]) -> None:
    assert dbt_sources.main(["--check"]) == 0, capsys.readouterr().out


def test_check_names_changed_missing_and_stray_files_then_a_rewrite_fixes_them(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "transform"
    shutil.copytree(ROOT / "transform" / "models", project / "models")
    vendor = project / "models" / "staging" / "iqm"
    (vendor / "stg_iqm__campaigns.sql").write_text("select 1 as edited_by_hand\n")
    (vendor / "_iqm__models.yml").unlink()
    (vendor / "stg_iqm__retired_stream.sql").write_text("select 1\n")

    assert dbt_sources.main(["--check", "--transform-dir", str(project)]) == 1
    out = capsys.readouterr().out
    assert "changed: models/staging/iqm/stg_iqm__campaigns.sql" in out
    assert "changed: models/staging/iqm/_iqm__models.yml" in out
    assert "not generated: models/staging/iqm/stg_iqm__retired_stream.sql" in out

    assert dbt_sources.main(["--transform-dir", str(project)]) == 0
    assert not (vendor / "stg_iqm__retired_stream.sql").exists()
    assert dbt_sources.main(["--check", "--transform-dir", str(project)]) == 0


@pytest.mark.parametrize(("name", "snake"), [
    ("createUser", "create_user"), ("eCPM", "e_cpm"), ("ioId", "io_id"), ("CTR", "ctr"),
    ("impressionsPerUniqueUser", "impressions_per_unique_user"), ("s3FileName", "s3_file_name"),
    ("line_item_id", "line_item_id"), ("campaign source", "campaign_source"),
])
def test_snake_case(name: str, snake: str) -> None:
    assert snake_case(name) == snake


def _columns() -> dict[str, str]:
    nullable = ["string", "null"]
    stream = Stream("adnuntius", "widgets", ("id",), "updateTime", {
        "id": {"type": "string", "description": "Id."},
        "updateTime": {"type": nullable, "format": "date-time", "description": "Changed."},
        "day": {"type": nullable, "format": "date", "description": "Day."},
        "clicks": {"type": ["integer", "null"], "description": "Clicks."},
        "spent": {"type": ["number", "null"], "description": "Spend."},
        "smoothed": {"type": ["boolean", "null"], "description": "Smoothed."},
        "companionAds": {"type": ["boolean", "string", "null"], "description": "Union."},
        "labels": {"type": ["array", "null"], "items": {"type": "string"}, "description": "L."},
        "targeting": {"type": ["object", "null"], "description": "Free-form."},
        "order_id": {"type": nullable, "description": "Lifted by the tap."},
        "order": {"type": ["object", "null"], "description": "The order.", "properties": {
            "id": {"type": nullable, "description": "Its id."},
            "endsAt": {"type": nullable, "format": "date-time", "description": "End."},
            "budget": {"type": ["number", "null"], "description": "Budget."},
            "extra": {"description": "Anything."}}},
    })
    return {column.name: column.expression for column in stream_columns(stream)}


def test_columns_are_typed_snake_case_and_objects_unpacked_one_level() -> None:
    columns = _columns()
    assert columns["id"] == 'cast("id" as varchar)'
    assert columns["update_time"] == "{{ staging_timestamp('\"updateTime\"') }}"
    assert columns["day"] == 'cast("day" as date)'
    assert columns["clicks"] == 'cast("clicks" as bigint)'
    assert columns["spent"] == 'cast("spent" as {{ staging_numeric() }})'
    assert columns["smoothed"] == 'cast("smoothed" as boolean)'
    assert columns["companion_ads"] == 'cast("companionAds" as varchar)'  # a union stays text
    assert columns["labels"] == "{{ staging_json_array('\"labels\"') }}"
    assert columns["targeting"] == "{{ staging_json('\"targeting\"') }}"
    # Named fields become columns; the object itself does not stay.
    assert "order" not in columns
    assert columns["order_ends_at"] == (
        "{{ staging_timestamp_from_text(staging_json_text('\"order\"', 'endsAt')) }}")
    assert columns["order_budget"] == (
        "cast({{ staging_json_text('\"order\"', 'budget') }} as {{ staging_numeric() }})")
    assert columns["order_extra"] == "{{ staging_json_field('\"order\"', 'extra') }}"
    # order.id would be order_id, which the tap already lifts to the top level.
    assert columns["order_id"] == 'cast("order_id" as varchar)'
    assert list(columns)[-3:] == ["_sdc_extracted_at", "_sdc_batched_at", "_sdc_deleted_at"]


def _models(vendor: str) -> dict[str, dict]:
    document = yaml.safe_load((STAGING / vendor / f"_{vendor}__models.yml").read_text())
    return {model["name"]: model for model in document["models"]}


def _tests(model: dict, column: str) -> list:
    return next(c for c in model["columns"] if c["name"] == column).get("data_tests", [])


def test_models_carry_key_and_join_tests() -> None:
    adnuntius = _models("adnuntius")
    assert _tests(adnuntius["stg_adnuntius__orders"], "id") == ["not_null", "unique"]
    assert {"relationships": {"arguments": {"to": "ref('stg_adnuntius__advertisers')",
                                            "field": "id"}}} in _tests(
        adnuntius["stg_adnuntius__orders"], "advertiser_id")
    stats = adnuntius["stg_adnuntius__line_item_daily_stats"]
    assert stats["data_tests"] == [{"unique_combination_of_columns": {
        "arguments": {"combination_of_columns": ["date", "line_item_id"]}}}]
    assert _tests(stats, "date") == ["not_null"]
    iqm = _models("iqm")
    assert _tests(iqm["stg_iqm__creatives"], "campaign_details_campaign_ids") == [
        {"array_elements_exist_in": {"arguments": {"to": "ref('stg_iqm__campaigns')",
                                                   "field": "campaign_id"}}}]
    described = [column["description"] for vendor in dbt_sources.VENDORS
                 for model in _models(vendor).values() for column in model["columns"]]
    assert all(described)
