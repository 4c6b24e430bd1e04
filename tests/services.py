"""Local services some tests need, and the skip marker for their absence."""

from __future__ import annotations

import socket

import pytest


def postgres_up() -> bool:
    """True when a PostgreSQL server answers on 127.0.0.1:5432."""
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=2):
            return True
    except OSError:
        return False


#: Skips a test, with its reason, where there is no PostgreSQL server.
needs_postgres = pytest.mark.skipif(not postgres_up(),
                                    reason="no PostgreSQL server on 127.0.0.1:5432")
