"""tap-iqm: IQM's REST API (campaigns, creatives, audiences, reports) as Singer streams."""
