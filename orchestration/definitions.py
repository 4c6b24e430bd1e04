"""Dagster code location: ``dagster dev -w orchestration/workspace.yaml`` (see README.md)."""

from vendor_pipelines.assets import build_definitions

defs = build_definitions()
