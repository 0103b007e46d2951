"""SQLite's trigram index of the normalised names (FTS5), read by the one entity search
(apps.catalog.selectors.search) on SQLite; PostgreSQL has pg_trgm instead (migration 0007).

Without it the search compared every name with LIKE: a full scan, about a second at a
million entities. The index is an external-content FTS5 table per searched table, kept in
step by triggers, so every write reaches it -- the ORM, bulk inserts, raw SQL.

Django rebuilds a SQLite table (copy, drop, rename) for many schema changes, which drops
its triggers; so `name_index_ensure` runs after every `migrate` (post_migrate), recreates
whatever is missing and then fills the index again from the table.
"""
from __future__ import annotations

# (FTS table, content table): the names searched.
INDEXED = [("catalog_entity_name_fts", "catalog_entity"), ("catalog_alias_name_fts", "catalog_alias")]


def _statements(fts: str, table: str) -> list[str]:
    return [
        f"""CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5(name_norm, content='{table}',
            content_rowid='id', tokenize='trigram')""",
        f"""CREATE TRIGGER IF NOT EXISTS {fts}_ai AFTER INSERT ON {table} BEGIN
            INSERT INTO {fts}(rowid, name_norm) VALUES (new.id, new.name_norm); END""",
        f"""CREATE TRIGGER IF NOT EXISTS {fts}_ad AFTER DELETE ON {table} BEGIN
            INSERT INTO {fts}({fts}, rowid, name_norm) VALUES ('delete', old.id, old.name_norm); END""",
        f"""CREATE TRIGGER IF NOT EXISTS {fts}_au AFTER UPDATE OF name_norm ON {table} BEGIN
            INSERT INTO {fts}({fts}, rowid, name_norm) VALUES ('delete', old.id, old.name_norm);
            INSERT INTO {fts}(rowid, name_norm) VALUES (new.id, new.name_norm); END""",
    ]


def name_index_ensure(*, connection) -> list[str]:
    """Create the missing FTS tables and triggers (SQLite only) and refill each index that
    lacked any part; returns the tables refilled."""
    if connection.vendor != "sqlite":
        return []
    refilled = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")
        present = {row[0] for row in cursor.fetchall()}
        for fts, table in INDEXED:
            if table not in present:
                continue
            wanted = {fts, f"{fts}_ai", f"{fts}_ad", f"{fts}_au"}
            if wanted <= present:
                continue
            for sql in _statements(fts, table):
                cursor.execute(sql)
            cursor.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")
            refilled.append(fts)
    return refilled


def name_index_ready(*, connection, table: str) -> bool:
    """Whether `table`'s names are indexed (after `migrate` they always are); a yes is
    remembered by the connection."""
    fts = dict((t, f) for f, t in INDEXED).get(table)
    if connection.vendor != "sqlite" or fts is None:
        return False
    known = connection.__dict__.setdefault("_vg_name_index", set())
    if fts in known:
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM sqlite_master WHERE name IN (%s, %s)", [fts, f"{fts}_ai"])
        ready = cursor.fetchone()[0] == 2
    if ready:
        known.add(fts)
    return ready


def fts_table(table: str) -> str:
    return dict((t, f) for f, t in INDEXED)[table]
