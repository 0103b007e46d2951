"""A synthetic graph for the browsing benchmark (`manage.py browse_bench`).

It never touches development or test data: the command points Django at a database and a
Neo4j of its own before calling anything here. The store is filled by bulk loading (the
models' managers refuse bulk_create because it bypasses the outbox, which is what a one-off
benchmark build wants): `executemany` in big batches on SQLite, `COPY` on PostgreSQL, with
the secondary indexes dropped during the load and built once at the end. The graph is then
built by apps.sync.parity.graph_rebuild_bulk -- the operator's offline `graph_rebuild --bulk`:
the store streamed into CSV files for Neo4j's bulk importer (graph_rebuild(fresh=True), the
transactional path into the empty graph, when no server options are given).
"""
from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from apps.catalog.models import Citation, Entity, Record, Source
from apps.catalog.text import normalize_name

SYLLABLES = ["na", "vo", "tek", "lum", "sar", "qi", "dor", "ven", "ex", "tra", "mon", "zu", "ka", "ri", "pol", "gen",
             "sun", "bel", "cor", "mar", "tis", "ul", "fen", "ho"]
SUFFIXES = ["Holdings", "Group", "Systems", "Technologies", "Security", "Ltd", "Trading", "Capital", "Industries"]
COUNTRIES = ["RS", "LT", "FI", "DE", "FR", "IT", "PL", "BE", "NL", "GE", "US", "CA", "CN", "GR", "HU", "PT", "ES", "SE",
             "NO", "DK", "AT", "CZ", "SK", "RO", "BG", "HR", "SI", "EE", "LV", "IE", "GB", "UA", "TR", "IN", "BR", "ZA",
             "KE", "NG", "EG", "MA", "JP", "KR", "AU", "NZ", "MX", "AR", "CL", "PE", "ID", "VN"]
SOURCE_TEXT = "The authority confirmed the agreement with the company in a statement published that day. " * 3
QUOTE = "The authority confirmed the agreement with the company"
OTHER_KINDS = ["contract", "contract", "deployment", "deployment", "ban", "loan", "donation", "role", "investigation",
               "court_case", "statement"]
STATUSES = {"contract": ["awarded", "completed", "cancelled", ""], "deployment": ["active", "removed", "", "planned"],
            "ban": ["in_force", "lifted"], "loan": ["active", "repaid"], "donation": ["delivered"],
            "role": ["current", "former"], "investigation": ["open", "closed"], "court_case": ["pending", "decided"],
            "statement": [""], "ownership": ["active"]}
HUB_RECORDS = 50_000  # records of each hub (a big vendor) at full size


@dataclass
class BuildReport:
    entities: int = 0
    records: int = 0
    hubs: list[str] = field(default_factory=list)
    chain_bottoms: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)  # a sample of entity names (search benchmarks)
    seconds_store: float = 0.0
    seconds_graph: float = 0.0


def _name(rng: random.Random, i: int) -> str:
    word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
    return f"{word} {rng.choice(SUFFIXES)} {i}"


def _date(rng: random.Random) -> str:
    year = rng.randint(2000, 2024)
    precision = rng.random()
    if precision < 0.4:
        return str(year)
    if precision < 0.7:
        return f"{year}-{rng.randint(1, 12):02d}"
    return f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


class BulkLoader:
    """Raw bulk inserts into one model's table: `executemany` (SQLite) or `COPY` (PostgreSQL).

    Rows carry `columns` (the varying ones, uuids as uuid.UUID); every other concrete field
    gets its default, computed once. With `fast` (an empty benchmark database, not inside a
    test's transaction) the table's secondary indexes are dropped for the load and rebuilt by
    finish(), and on PostgreSQL the foreign-key triggers are off for the session.
    """

    def __init__(self, model, columns: list[str], *, fast: bool, now):
        self.model, self.columns, self.fast = model, columns, fast
        self.table = model._meta.db_table
        self.postgres = connection.vendor == "postgresql"
        by_column = {f.column: f for f in model._meta.concrete_fields}
        self.uuid_at = [i for i, c in enumerate(columns) if by_column[c].get_internal_type() == "UUIDField"]
        constants = []
        for f in model._meta.concrete_fields:
            if f.column in columns:
                continue
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                value = connection.ops.adapt_datetimefield_value(now)
            elif f.get_internal_type() == "JSONField":
                value = json.dumps(f.get_default())
            else:
                value = f.get_db_prep_save(f.get_default(), connection)
            constants.append((f.column, value))
        self.all_columns = columns + [c for c, _ in constants]
        self.constants = tuple(v for _, v in constants)
        self.dropped: list[str] = []
        if fast:
            self._drop_indexes()

    def _drop_indexes(self) -> None:
        with connection.cursor() as cursor:
            if self.postgres:
                cursor.execute("""SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT IN
                                  (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)""",
                               [self.table, self.table])
            else:
                cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
                               "AND sql IS NOT NULL", [self.table])
            for name, sql in cursor.fetchall():
                cursor.execute(f'DROP INDEX "{name}"')
                self.dropped.append(sql)

    def write(self, rows: Iterable[tuple]) -> int:
        """Insert `rows` (tuples in `columns` order); returns how many."""
        constants, uuid_at, postgres = self.constants, self.uuid_at, self.postgres

        def full(row: tuple) -> tuple:
            if uuid_at:
                row = list(row)
                for i in uuid_at:
                    row[i] = row[i] if postgres else row[i].hex
            return (*row, *constants)

        cols = ", ".join(f'"{c}"' for c in self.all_columns)
        n = 0
        with transaction.atomic(), connection.cursor() as cursor:
            if postgres:
                with cursor.cursor.copy(f'COPY "{self.table}" ({cols}) FROM STDIN') as copy:
                    for row in rows:
                        copy.write_row(full(row))
                        n += 1
            else:
                marks = ", ".join(["%s"] * len(self.all_columns))
                batch = [full(row) for row in rows]
                cursor.executemany(f'INSERT INTO "{self.table}" ({cols}) VALUES ({marks})', batch)
                n = len(batch)
        return n

    def finish(self) -> None:
        """Rebuild the dropped indexes (one sort each, far cheaper than 5M B-tree inserts)."""
        with connection.cursor() as cursor:
            for sql in self.dropped:
                cursor.execute(sql)
            if self.postgres and self.fast:
                cursor.execute(f'ANALYZE "{self.table}"')
        self.dropped = []


def _chunks(rows: Iterator, size: int) -> Iterator[list]:
    chunk: list = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _bulk_session(fast: bool):
    """Settings for one bulk-loading session of an empty benchmark database."""
    if not fast:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The rows are generated consistent; skipping the per-row FK triggers is what
            # pg_restore does too. (The bench's PostgreSQL user owns the cluster.)
            cursor.execute("SET session_replication_role = replica")
            cursor.execute("SET maintenance_work_mem = '512MB'")
        else:
            cursor.execute("PRAGMA synchronous = OFF")
            cursor.execute("PRAGMA cache_size = -1000000")  # 1 GB of page cache while loading
            cursor.execute("PRAGMA temp_store = MEMORY")


def _bulk_session_end(fast: bool) -> None:
    if not fast:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = origin")
        else:
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def build_synthetic(*, entities: int = 100_000, records: int = 300_000, hubs: int = 5,
                    hub_records: int = HUB_RECORDS, max_depth: int = 10, seed: int = 42, batch: int = 50_000,
                    graph: bool = True, bulk: dict | None = None, stdout=None) -> BuildReport:
    """Fill an EMPTY store with a synthetic published graph and project it into Neo4j.

    A tenth of the records are ownership links forming disjoint chains of 1..`max_depth`
    steps (a third topped by a country, i.e. state-owned; some under a hub; one in twenty
    with a diamond: a second owner of a lower link); `hubs` companies (big vendors) take
    part in `hub_records` records each (fewer on a small graph, at most a sixth of all);
    the rest join random entities. With `bulk` (graph_rebuild_bulk's data_dir and
    server_options) the graph is built offline by Neo4j's bulk importer, else by
    graph_rebuild(fresh=True) into the empty graph.
    """
    from django.core.management.color import no_style

    rng = random.Random(seed)
    report = BuildReport()
    say = (lambda msg: stdout.write(msg)) if stdout else (lambda msg: None)
    started = time.monotonic()
    now = timezone.now()
    fast = not connection.in_atomic_block
    n_countries = min(len(COUNTRIES), max(1, entities // 100))
    _bulk_session(fast)

    # --- entities ------------------------------------------------------------------
    kinds = ["company"] * 60 + ["person"] * 20 + ["public_body"] * 10 + ["organization"] * 5 + ["site"] * 5
    uuids: list[uuid.UUID] = []
    ekind: list[str] = []

    def entity_rows():
        for i in range(entities):
            if i < n_countries:
                kind, country, name = "country", COUNTRIES[i], f"Country {COUNTRIES[i]}"
            else:
                kind, country, name = rng.choice(kinds), rng.choice(COUNTRIES), _name(rng, i)
            uid = uuid.UUID(int=rng.getrandbits(128), version=4)
            uuids.append(uid)
            ekind.append(kind)
            if i % max(1, entities // 2000) == 0 and kind != "country":
                report.names.append(name)
            yield (i + 1, uid, kind, name, normalize_name(name), country, country if kind == "country" else None,
                   "published", 1, connection.ops.adapt_datetimefield_value(now), "{}")

    loader = BulkLoader(Entity, ["id", "uuid", "kind", "name", "name_norm", "country", "iso_code", "workflow",
                                 "version", "published_at", "identifiers"], fast=fast, now=now)
    for chunk in _chunks(entity_rows(), batch):
        report.entities += loader.write(chunk)
    loader.finish()
    say(f"  {report.entities} entities stored ({time.monotonic() - started:.0f} s)")

    companies = [i for i, k in enumerate(ekind) if k == "company"]
    countries = list(range(n_countries))
    hub_idx = rng.sample(companies, min(hubs, len(companies)))
    report.hubs = [str(uuids[i]) for i in hub_idx]

    # --- sources ---------------------------------------------------------------------
    n_sources = max(10, records // 300)
    loader = BulkLoader(Source, ["id", "uuid", "title", "publisher", "published", "url", "text"], fast=fast, now=now)
    loader.write((i + 1, uuid.UUID(int=rng.getrandbits(128), version=4), f"Synthetic report {i}", f"Wire {i % 50}",
                  _date(rng), f"https://example.org/report/{i}", SOURCE_TEXT) for i in range(n_sources))
    loader.finish()

    # --- records ---------------------------------------------------------------------
    # (kind, subject index, object index, share_pct, attributes json)
    ownership: list[tuple] = []
    hub_set = set(hub_idx)

    def own(owner: int, owned: int) -> None:
        attrs = json.dumps({"direct": rng.random() > 0.05, "state_control": ekind[owner] == "country"})
        ownership.append(("ownership", owner, owned, rng.choice([None, 100, 75, 51, 50, 30, 20, 10]), attrs))

    # Ownership: disjoint chains over distinct companies (a third topped by a state, some
    # under a hub: a conglomerate); one chain in twenty gets a second owner for one of its
    # links (a diamond).
    free = [c for c in companies if c not in hub_set]
    rng.shuffle(free)
    n_ownership = records // 10
    while len(ownership) < n_ownership and len(free) > max_depth + 1:
        depth = rng.randint(1, max_depth)
        chain = [free.pop() for _ in range(depth + 1)]  # chain[0] is the bottom
        roll = rng.random()
        if roll < 0.33:
            chain.append(rng.choice(countries))
        elif roll < 0.5 and hub_idx:
            chain.append(rng.choice(hub_idx))
        if len(report.chain_bottoms) < 5000:
            report.chain_bottoms.append(str(uuids[chain[0]]))
        for owned, owner in zip(chain, chain[1:]):
            own(owner, owned)
        if depth > 2 and rng.random() < 0.05:
            own(chain[-1], chain[rng.randint(0, depth - 2)])
    ownership = ownership[:records]
    per_hub = min(hub_records, records // (6 * max(1, len(hub_idx))))

    def plan() -> Iterator[tuple]:
        yield from ownership
        for hub in hub_idx:
            made = 0
            while made < per_hub:
                other = rng.randrange(len(uuids))
                if other == hub:
                    continue
                made += 1
                yield (rng.choice(OTHER_KINDS), *((hub, other) if rng.random() < 0.5 else (other, hub)), None, "{}")
        rest = records - len(ownership) - per_hub * len(hub_idx)
        made = 0
        while made < rest:
            a, b = rng.randrange(len(uuids)), rng.randrange(len(uuids))
            if a == b:
                continue
            made += 1
            yield (rng.choice(OTHER_KINDS), a, b, None, "{}")

    published_at = connection.ops.adapt_datetimefield_value(now)
    start_at = SOURCE_TEXT.index(QUOTE)
    cites: list[tuple] = []

    def record_rows():
        for i, (kind, a, b, share, attrs) in enumerate(plan()):
            start = _date(rng) if rng.random() < 0.8 else ""
            end = ""
            if start and rng.random() < 0.25:
                end = str(min(2025, int(start[:4]) + rng.randint(0, 5)))
            amount = rng.randint(10_000, 50_000_000) if kind in ("contract", "loan") and rng.random() < 0.6 else None
            cites.append((i + 1, rng.randrange(n_sources) + 1, i + 1, QUOTE, start_at, start_at + len(QUOTE)))
            yield (i + 1, uuid.UUID(int=rng.getrandbits(128), version=4), kind, a + 1, b + 1, f"{kind} {i}", start, end,
                   amount, "EUR" if amount else "", share, rng.choice(STATUSES[kind]), "published", attrs, 1,
                   published_at)

    records_loader = BulkLoader(Record, ["id", "uuid", "kind", "subject_id", "object_id", "title", "start", "end",
                                         "amount", "currency", "share_pct", "status", "workflow", "attributes",
                                         "version", "published_at"], fast=fast, now=now)
    cite_loader = BulkLoader(Citation, ["id", "source_id", "record_id", "quote", "start", "end"], fast=fast, now=now)
    for chunk in _chunks(record_rows(), batch):
        report.records += records_loader.write(chunk)
        cite_loader.write(cites)
        cites.clear()
        if report.records % (batch * 10) == 0:
            say(f"  {report.records} records stored ({time.monotonic() - started:.0f} s)")
    index_started = time.monotonic()
    records_loader.finish()
    cite_loader.finish()
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), [Entity, Source, Record, Citation]):
            cursor.execute(sql)
    _bulk_session_end(fast)
    report.seconds_store = time.monotonic() - started
    say(f"  {report.records} records and citations stored in {report.seconds_store:.0f} s "
        f"(indexes rebuilt in {time.monotonic() - index_started:.0f} s)")

    # --- graph -----------------------------------------------------------------------
    if graph and bulk:
        from apps.sync.parity import graph_rebuild_bulk

        started = time.monotonic()
        done = graph_rebuild_bulk(stdout=stdout, **bulk)
        report.seconds_graph = time.monotonic() - started
        say(f"  graph built by the bulk importer in {report.seconds_graph:.0f} s (CSV {done['seconds_csv']:.0f} s, "
            f"import {done['seconds_import']:.0f} s, server stop/start "
            f"{done['seconds_stop'] + done['seconds_start']:.0f} s, indexes {done['seconds_indexes']:.0f} s; "
            f"CPU seconds: CSV {done['cpu_csv']:.0f}, import {done['cpu_import']:.0f})")
    elif graph:
        from apps.sync.parity import graph_rebuild

        started = time.monotonic()
        done = graph_rebuild(fresh=True, stdout=stdout)
        report.seconds_graph = time.monotonic() - started
        say(f"  graph projected in {report.seconds_graph:.0f} s (entities {done['seconds_entities']:.0f} s, records "
            f"{done['seconds_records']:.0f} s, indexes built after {done['seconds_constraints']:.0f} s)")
    return report
