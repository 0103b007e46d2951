"""The query planner's statistics, refreshed after bulk writes.

SQLite keeps no statistics until ANALYZE runs. Without them its planner assumes every
indexed equality is selective, so `workflow = 'published'` (true of nearly every row)
wins over the index that serves a page's ORDER BY ... LIMIT, and the timeline or the
latest records sort the whole catalogue for each request. PostgreSQL's autovacuum
analyses by itself, but only some time after a bulk load; asking right away is harmless.
"""
from __future__ import annotations

from django.db import connections

def planner_statistics_refresh(*, using: str = "default") -> None:
    """ANALYZE the database. Run after imports and bulk builds.

    Not sampled on SQLite (`PRAGMA analysis_limit`): a sample of the first entries of an
    index sees one value of `workflow` (or one null `related_id`) and rates it as selective
    as a foreign key, which is the mistake ANALYZE is there to prevent. A full pass costs
    seconds at a million records, once per import."""
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA analysis_limit=0")
        cursor.execute("ANALYZE")
