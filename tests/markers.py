"""Markers shared by tests of more than one area."""

from collections.abc import Callable

import pytest
from django.db import connection

_skip_unless_sqlite = pytest.mark.skipif(
    connection.vendor != "sqlite",
    reason="SQLite's own behaviour (PostgreSQL has its own tests)",
)


def sqlite_only(test: Callable[..., None]) -> Callable[..., None]:
    # Runs in the embedded-SQLite pass of `make test` (both_databases).
    return pytest.mark.both_databases(_skip_unless_sqlite(test))
