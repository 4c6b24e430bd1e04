"""Stream schemas (JSON Schema), one folder per vendor, shipped inside the wheel."""
