"""tap-kissmetrics."""
