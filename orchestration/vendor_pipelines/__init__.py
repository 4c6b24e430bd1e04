"""The Dagster code location of the tenant pipelines (``definitions.py`` loads it)."""
