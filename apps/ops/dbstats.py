"""The query planner's statistics, refreshed after bulk writes.

SQLite keeps no statistics until ANALYZE runs. Without them its planner assumes every
indexed equality is selective, so `workflow = 'published'` (true of nearly every row)
wins over the index that serves a page's ORDER BY ... LIMIT, and the timeline or the
latest records sort the whole catalogue for each request. PostgreSQL's autovacuum
analyses by itself, but only some time after a bulk load; asking right away is harmless.
"""
from __future__ import annotations

from django.db import connections

# SQLite samples this many index entries per index (a few milliseconds a table at any
# size); the proportions are what the planner needs, not exact counts.
SQLITE_ANALYSIS_LIMIT = 2000


def planner_statistics_refresh(*, using: str = "default") -> None:
    """ANALYZE the database (sampled on SQLite). Run after imports and bulk builds."""
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"PRAGMA analysis_limit={SQLITE_ANALYSIS_LIMIT}")
        cursor.execute("ANALYZE")
