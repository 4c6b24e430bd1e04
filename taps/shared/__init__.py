"""Mechanisms shared by every tap: rate budget, retries, tokens, windows, async jobs, redaction."""
