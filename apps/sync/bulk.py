"""Inserting many rows in a few statements, leaner than QuerySet.bulk_create.

An import writes tens of rows per object it reads (the row, its history row, names, facts,
citations, their history rows, the outbox row); Django's bulk_create compiles each value
through the ORM and, on SQLite, splits the insert into statements of at most 999
parameters. Here each model's INSERT is built once and run with `executemany` (on
PostgreSQL, from COPY_FROM rows, as one COPY), values of
plain columns are passed as they are (the others through the field's own
get_db_prep_save), and new primary keys are taken up front: on PostgreSQL from the table's
sequence, on SQLite from the first row's RETURNING (the transaction then holds the
database's write lock, so the next keys are ours). Callers validate first (see
apps.catalog.services): nothing here checks a rule. Only inside a transaction.
"""
from __future__ import annotations

import collections
import contextlib
import datetime
import json
import re
import sqlite3
import threading
from contextlib import contextmanager
from itertools import chain
from operator import attrgetter

import orjson
from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.models import signals
from django.db.models.base import ModelState
from django.utils import timezone

# Field classes whose Python value is already what the database takes (exact types only: a
# subclass may convert).
_PLAIN = {models.CharField, models.TextField, models.SlugField, models.IntegerField, models.BigIntegerField,
          models.PositiveIntegerField, models.PositiveSmallIntegerField, models.SmallIntegerField,
          models.BooleanField, models.ForeignKey, models.OneToOneField, models.AutoField, models.BigAutoField}


def _columns(model) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if not f.primary_key]


def _converter(field: models.Field):
    if type(field) in _PLAIN or (type(field).__mro__[1] is models.CharField and
                                 type(field).get_prep_value is models.CharField.get_prep_value and
                                 type(field).get_db_prep_value is models.Field.get_db_prep_value):
        return None  # passed as it is
    if type(field) is models.UUIDField and not connection.features.has_native_uuid_field:
        return lambda value: None if value is None else value.hex  # what UUIDField stores there
    if type(field) is models.JSONField:
        # What JSONField.get_db_prep_save does with a plain value, without its layers (an
        # import writes a JSON column for every row and again for its history row).
        adapt, encoder = connection.ops.adapt_json_value, field.encoder
        if connection.vendor == "sqlite":
            return _json_text(encoder)
        return lambda value: None if value is None else adapt(value, encoder)
    memo = {}
    conn = connections[DEFAULT_DB_ALIAS]  # the wrapper itself: the proxy costs a look-up per attribute
    prepare = field.get_db_prep_save

    def convert(value):
        if value is None:
            return None
        if isinstance(value, datetime.datetime):  # mostly one `now` for the whole insert
            if value not in memo:
                memo[value] = prepare(value, conn)
            return memo[value]
        return prepare(value, conn)
    return convert


# orjson leaves to `default` what the json module would hand to the field's encoder (dates,
# dataclasses), so those are written as the encoder writes them. Subclasses of str, int, dict
# and list (a TextChoices member) both write as their base type.
_ORJSON_AS_JSON = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _json_text(encoder):
    """SQLite: a JSON column's text, through orjson (an import encodes a payload per row:
    the json module took 3-4 % of the import's CPU). The same value as json.dumps(value,
    cls=encoder) -- compact and in UTF-8 rather than with ASCII escapes, which a JSON reader
    decodes alike; whatever orjson refuses (non-string keys, huge integers, a type the
    encoder does not know) goes through json.dumps, which converts or refuses it as before."""
    default = encoder().default if encoder is not None else None

    def convert(value):
        if value is None:
            return None
        try:
            return orjson.dumps(value, default=default, option=_ORJSON_AS_JSON).decode()
        except TypeError:
            return json.dumps(value, cls=encoder)
    return convert


def id_slices(ids: list, size: int = 900):
    """`ids` (or any list) in slices of `size`; the default is for `... IN (...)` filters: under
    SQLite's limit of bound variables per statement (999 in older builds)."""
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


def instance_new(model, values: dict):
    """A new, unsaved instance of `model` with `values` (by attname, or by field name for a
    related instance), the others at their defaults: what `model(**values)` makes, without
    Django's per-field keyword path (tens of microseconds a row). How the fields of a given
    set of keys are filled is worked out once (_spec). A related instance is cached on the
    new one, as assigning it does."""
    spec = _SPECS.get((model, *values))
    if spec is None:
        spec = _SPECS[(model, *values)] = _spec(model, tuple(values))
    constants, makers, related, names = spec
    if signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model):
        filled = {**constants, **{attname: make() for attname, make in makers}, **values}
        for name, attname, _ in related:
            other = filled.pop(name)
            filled[attname] = None if other is None else other.pk
        obj = model(*(filled[attname] for attname in names))
    else:  # what Model.__init__ does with positional values, minus its per-field descriptors
        obj = model.__new__(model)
        obj._state = ModelState()
        filled = obj.__dict__
        filled.update(constants)
        for attname, make in makers:
            filled[attname] = make()
        filled.update(values)
        for name, attname, _ in related:
            other = filled.pop(name)
            filled[attname] = None if other is None else other.pk
    for name, _, field in related:
        field.set_cached_value(obj, values[name])
    return obj


_SPECS: dict = {}


def _spec(model, keys: tuple) -> tuple:
    """For instance_new: the constant defaults {attname: value}, the callable ones
    [(attname, callable)], the related instances given by name [(name, attname, field)] and
    the attnames in the order of the model's fields. Raises TypeError for an unknown key."""
    given, used = set(keys), set()
    constants, makers, related = {}, [], []
    for field in model._meta.concrete_fields:
        attname, name = field.attname, field.name if field.is_relation else None
        if attname in given:
            used.add(attname)
        elif name is not None and name in given:
            related.append((name, attname, field))
            used.add(name)
        elif field.has_default() and callable(field.default):
            makers.append((attname, field.default))
        else:
            constants[attname] = field.get_default()
    if given - used:
        raise TypeError(f"{model.__name__} has no field {', '.join(sorted(given - used))}")
    return constants, makers, related, [field.attname for field in model._meta.concrete_fields]


def _auto_now(field: models.Field) -> bool:
    return bool(getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False))


def _new_keys(model, first_sql: str, first_params: list, n: int) -> tuple[list[int], bool]:
    """The primary keys of `n` new rows of `model`, and whether the first row (`first_sql`
    with `first_params`) was inserted to get them (SQLite without a known next key)."""
    table, pk = model._meta.db_table, model._meta.pk.column
    behind = _behind_now()
    if behind is not None:
        keys = behind.keys_take(table, pk, n)
        if keys is not None:
            return keys, False
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                           [connection.ops.quote_name(table), pk, n])
            return [row[0] for row in cursor.fetchall()], False
        if connection.vendor != "sqlite":
            raise NotImplementedError(f"bulk inserts on {connection.vendor}")
        cursor.execute(first_sql + f" RETURNING {connection.ops.quote_name(pk)}", first_params)
        first = cursor.fetchone()[0]
        if behind is not None:  # the transaction now holds the write lock: the next keys are known
            behind.keys_known(cursor)
            behind.next[table] = first + n  # the keys of this call's other rows, given below
        return [first + i for i in range(n)], True


def objects_insert(objs: list) -> list:
    """Insert new instances of one model; sets their primary keys (and auto_now dates)."""
    if not objs:
        return objs
    if not connection.in_atomic_block:
        raise RuntimeError("objects_insert must run inside a transaction")
    model = type(objs[0])
    fields = _columns(model)
    now = timezone.now()
    for field in fields:
        if _auto_now(field):
            for obj in objs:
                setattr(obj, field.attname, now)
    get = attrgetter(*(field.attname for field in fields))
    converters = [(index + 1, convert) for index, convert in enumerate(_converter(field) for field in fields)
                  if convert is not None]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    names = ", ".join(quote(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    first_sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"
    first = [None, *get(objs[0])]
    for index, convert in converters:
        first[index] = convert(first[index])
    keys, first_in = _new_keys(model, first_sql, first[1:], len(objs))
    start = 1 if first_in else 0
    if len(objs) > start:
        # Each row is [key, *values], built in one pass; then the columns that need converting.
        rows = [[key, *get(obj)] for key, obj in zip(keys[start:], objs[start:])]
        for index, convert in converters:
            for row in rows:
                row[index] = convert(row[index])
        _insert_many(table, [quote(model._meta.pk.column), *(quote(f.column) for f in fields)], rows)
    # What `obj.pk = key` and a save leave on the instance, without a property and the
    # connection proxy's look-ups per row (a model with parents goes through the property).
    alias, attname = connections[DEFAULT_DB_ALIAS].alias, model._meta.pk.attname
    plain = not model._meta.parents
    for obj, key in zip(objs, keys):
        if plain:
            obj.__dict__[attname] = key
        else:
            obj.pk = key
        state = obj._state
        state.adding, state.db = False, alias
    return objs


def rows_insert(model, columns: list[str], rows: list[tuple]) -> int:
    """Insert plain rows (values in the order of `columns`, attnames; prepared here) into
    `model`'s table, its primary key left to the database. Returns how many."""
    if not rows:
        return 0
    if not connection.in_atomic_block:
        raise RuntimeError("rows_insert must run inside a transaction")
    fields = [model._meta.get_field(name) for name in columns]
    converters = [(index, convert) for index, convert in enumerate(_converter(f) for f in fields)
                  if convert is not None]
    if converters:  # column by column: most columns need none
        rows = [list(row) for row in rows]
        for index, convert in converters:
            for row in rows:
                row[index] = convert(row[index])
    quote = connection.ops.quote_name
    behind = _behind_now()
    if behind is not None:  # the database numbers these rows: a key taken ahead may be used
        behind.keys_forget(model._meta.db_table)
    _insert_many(quote(model._meta.db_table), [quote(f.column) for f in fields], rows)
    return len(rows)


# From this many rows PostgreSQL takes them through COPY: one stream instead of one INSERT
# per row (psycopg pipelines executemany, but each row is still a statement to parse,
# plan and acknowledge). Fewer rows: the INSERT, which costs no COPY set-up.
COPY_FROM = 50


def _insert_many(table: str, columns: list[str], rows: list) -> None:
    """Insert prepared `rows` (values in the order of the quoted `columns`) into `table`:
    the one place where the bulk writes reach the database. Constraints, CHECKs, defaults of
    the database and triggers apply to COPY as to INSERT. Inside write_behind() the insert
    is queued (see there)."""
    names = ", ".join(columns)
    behind = _behind_now()
    if behind is not None:
        rows = list(rows)
        vendor = connection.vendor
        behind.submit(lambda cursor: _insert_raw(cursor, vendor, table, names, len(columns), rows),
                      table=table.strip('"`').lower())
        return
    with connection.cursor() as cursor:
        if connection.queries_logged or connection.execute_wrappers:
            # DEBUG, assertNumQueries, execute_wrappers: through Django's cursor, seen
            _insert_raw(cursor, connection.vendor, table, names, len(columns), rows, mark="%s")
            return
        with connection.wrap_database_errors:
            _insert_raw(cursor.cursor, connection.vendor, table, names, len(columns), rows)


# SQLite: up to this many rows per INSERT (a multi-row VALUES list) instead of one
# executemany step per row. Each statement is a statement transaction of its own, and the
# FTS5 name index (an AFTER INSERT trigger, apps.catalog.name_index) writes its pending
# terms out as a new segment at each one: row by row that was 30 of a new entity's 45 µs;
# in statements of hundreds of rows, one write per statement. Other tables gain less
# (citations 6 -> 4 µs a row). The triggers still fire for every row, as for any INSERT.
SQLITE_ROWS = 500


def _insert_raw(cursor, vendor: str, table: str, names: str, width: int, rows: list, mark: str = "?") -> None:
    """The insert itself, on a driver's cursor (this thread's, or the write-behind thread's
    on the same connection), or with mark="%s" on Django's cursor (queries counted). SQLite:
    the driver's own execute with its "?" marks (Django's wrapper would turn each "%s" into
    "?" with a regular expression, about 7 µs a row for statements this long)."""
    if vendor == "postgresql":
        if len(rows) >= COPY_FROM:
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * width)})", rows)
        return
    if vendor != "sqlite":
        raise NotImplementedError(f"bulk inserts on {vendor}")
    step = _sqlite_step(width)
    one = "(" + ", ".join([mark] * width) + ")"
    head = f"INSERT INTO {table} ({names}) VALUES "
    execute = cursor.execute if mark == "%s" else lambda sql, params: sqlite3.Cursor.execute(cursor, sql, params)
    for start in range(0, len(rows), step):
        part = rows[start:start + step]
        execute(head + ", ".join([one] * len(part)), list(chain.from_iterable(part)))


# The build's limit on bound parameters: 32766 since SQLite 3.32 (999 before; Python's own
# sqlite3 reports it from 3.11, Connection.getlimit).
_SQLITE_VARIABLES = 32766 if sqlite3.sqlite_version_info >= (3, 32) else 999


def _sqlite_step(width: int) -> int:
    return max(1, min(SQLITE_ROWS, _SQLITE_VARIABLES // width))


# --- write-behind -----------------------------------------------------------------------------
# An import spends about half of its time in Python (reading, validating, building rows and
# payloads) and the rest waiting for the database to insert what it built; one core works
# while the other idles. Inside write_behind() the bulk inserts are queued to a thread of
# their own on the same connection and transaction; the importing thread goes on building
# the next rows while the driver inserts the last ones (sqlite3 and psycopg release the GIL
# while the database works; on PostgreSQL the server process does). The order of the
# statements is kept: every other statement of this connection (any query through Django,
# a savepoint, the commit) first waits until the queue is empty, so it sees every row
# queued before it, and an error of a queued insert is raised there, in the importing
# thread, as Django's own DatabaseError; the transaction then rolls back as it would have.
# A rollback drops what is still queued.
#
# One exception to "every other statement waits": a SELECT that reads none of the tables with
# inserts still queued (nor a table their triggers write, nor a view) runs at once, beside the
# insert in progress on the same connection (sqlite3 and psycopg serialize the two statements
# on it; sqlite3.threadsafety is 3). Its result is the same as after the wait: the rows it
# would have waited for are in tables it does not read. An import checks the ends of a slice
# of records (catalog_entity) while the last slice's records are still being inserted.
_WORD = re.compile(r"\w+")


def _behind_now():
    """This thread's write-behind, or None (none, or the queries are being counted: they
    then stay synchronous and in order)."""
    conn = connections[DEFAULT_DB_ALIAS]
    behind = conn.__dict__.get("_write_behind")
    if behind is None or conn.queries_logged:
        return None
    return behind


class _WriteBehind:
    def __init__(self, conn):
        self.conn, self.raw, self.vendor = conn, conn.connection, conn.vendor
        self.cond = threading.Condition()
        self.jobs: collections.deque = collections.deque()
        self.busy = False
        self.queued: collections.Counter = collections.Counter()  # table -> its inserts queued or running
        # What a query may read of the queue (see waits_for; filled by writes_known).
        self.triggers: dict[str, set] = {}
        self.views: set[str] = set()
        self.always: set = set()  # what every insert writes
        self.error: BaseException | None = None
        self.stopping = False
        # SQLite: table -> its next primary key, known while this transaction holds the
        # write lock (read from sqlite_sequence after its first insert; only ours write
        # meanwhile).
        self.next: dict[str, int] = {}
        self.thread = threading.Thread(target=self._run, name="bulk-write-behind", daemon=True)

    # -- the queue -------------------------------------------------------------------------------
    def submit(self, job, table: str | None = None) -> None:
        """Queue `job` (a function of the writer's cursor) inserting into `table` (None: a
        statement whose tables are not known, which every later query waits for)."""
        with self.cond:
            if self.error is None:  # after an error nothing more is run: the flush raises it
                self.jobs.append((job, table))
                self.queued[table] += 1
                self.cond.notify_all()

    def flush(self, *, discard: bool = False) -> None:
        """Wait until every queued insert ran (or, `discard`, drop those not started); raise
        the first error of one, as Django's DatabaseError."""
        with self.cond:
            if discard:
                self._clear()
            while self.jobs or self.busy:
                self.cond.wait()
            error, self.error = self.error, None
        if error is not None and not discard:
            with self.conn.wrap_database_errors:
                raise error

    def _run(self) -> None:
        cursor = self.raw.cursor()
        try:
            while True:
                with self.cond:
                    while not self.jobs and not self.stopping:
                        self.cond.wait()
                    if not self.jobs:
                        return
                    job, table = self.jobs.popleft()
                    self.busy = True
                try:
                    job(cursor)
                except BaseException as exc:  # noqa: BLE001 - raised in the importing thread at its flush
                    with self.cond:
                        self.error = exc
                        self._clear()
                finally:
                    with self.cond:
                        self.busy = False
                        self.queued[table] -= 1
                        if self.queued[table] <= 0:
                            del self.queued[table]
                        self.cond.notify_all()
        finally:
            cursor.close()

    def _clear(self) -> None:
        """Drop the jobs not started (the lock held)."""
        for _, table in self.jobs:
            self.queued[table] -= 1
            if self.queued[table] <= 0:
                del self.queued[table]
        self.jobs.clear()

    # -- what a query reads ------------------------------------------------------------------------
    def writes_known(self) -> None:
        """The tables each table's triggers write, and the views (read once, at the start:
        an import does not change the schema). SQLite's triggers are read from the schema;
        PostgreSQL's trigger functions are opaque, so a table with a trigger of its own (not a
        constraint's) counts as writing every table."""
        with contextlib.closing(self.raw.cursor()) as cursor:
            if self.vendor == "sqlite":
                cursor.execute("SELECT type, name, tbl_name, sql FROM sqlite_master "
                               "WHERE type IN ('table', 'view', 'trigger')")
                rows = cursor.fetchall()
                tables = {name.lower() for kind, name, _, _ in rows if kind == "table"}
                self.always = {"sqlite_sequence"}  # the largest key of each AUTOINCREMENT table
                self.views = {name.lower() for kind, name, _, _ in rows if kind == "view"}
                for kind, _, table, sql in rows:
                    if kind == "trigger":
                        self.triggers.setdefault(table.lower(), set()).update(
                            set(_WORD.findall((sql or "").lower())) & tables)
            elif self.vendor == "postgresql":
                cursor.execute("SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                               "WHERE NOT t.tgisinternal")
                self.triggers = {name.lower(): {None} for name, in cursor.fetchall()}
                cursor.execute("SELECT viewname FROM pg_views WHERE schemaname = ANY(current_schemas(false)) "
                               "UNION SELECT matviewname FROM pg_matviews")
                self.views = {name.lower() for name, in cursor.fetchall()}

    def waits_for(self, sql: str) -> bool:
        """Whether the SELECT `sql` may read a row still queued: it names (as a word) a table
        with queued inserts or one their triggers write, or a view; or a statement of
        unknown tables is queued."""
        with self.cond:
            if not self.queued:
                return False
            tables = set(self.queued)
        written = tables | self.always
        for table in tables:
            written |= self.triggers.get(table, set())
        if None in written:
            return True
        words = set(_WORD.findall(sql.lower()))  # SQLite's names ignore case: compared in lower case
        return bool(words & written or words & self.views)

    # -- keys ------------------------------------------------------------------------------------
    def keys_take(self, table: str, pk: str, n: int) -> list[int] | None:
        if self.vendor == "sqlite":
            first = self.next.get(table)
            if first is None:
                return None
            self.next[table] = first + n
            return list(range(first, first + n))
        # PostgreSQL: straight on the driver, as many as needed (no keys taken ahead: ids stay
        # about the count of rows, which apps.catalog.selectors.aggregates relies on); a
        # sequence does not wait for the queued inserts, only for the statement running.
        with self.conn.wrap_database_errors, self.raw.cursor() as cursor:
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                           [self.conn.ops.quote_name(table), pk, n])
            return [row[0] for row in cursor.fetchall()]

    def keys_known(self, cursor) -> None:
        """SQLite, right after this transaction's first insert: every AUTOINCREMENT table's
        next key (sqlite_sequence holds the largest key each has used)."""
        cursor.execute("SELECT name, seq FROM sqlite_sequence")
        known = {name: seq + 1 for name, seq in cursor.fetchall()}
        self.next = known

    def keys_forget(self, table: str | None = None) -> None:
        if self.vendor != "sqlite":
            return
        if table is None:
            self.next = {}
        else:
            self.next.pop(table, None)

    # -- the connection's other statements ---------------------------------------------------------
    def before_execute(self, execute, sql, params, many, context):
        if sql.lstrip()[:6].upper() == "SELECT" and not many:
            if self.error is not None or self.waits_for(sql):  # an insert's error is raised here too
                self.flush()
        else:
            self.flush()
            self.keys_forget()  # a write of Django's own may take a key we would give
        return execute(sql, params, many, context)

    def commit(self):
        self.flush()
        self.keys_forget()
        return type(self.conn)._commit(self.conn)

    def rollback(self):
        self.flush(discard=True)
        self.keys_forget()
        return type(self.conn)._rollback(self.conn)


@contextmanager
def write_behind():
    """Queue this thread's bulk inserts (objects_insert, rows_insert, history_insert) to a
    writer thread on the same connection while the block runs (see above). For a long bulk
    job (an import); outside it, every insert runs at once."""
    conn = connections[DEFAULT_DB_ALIAS]  # this thread's own (`connection` is a proxy to it)
    if "_write_behind" in conn.__dict__:  # already (a nested call)
        yield
        return
    conn.ensure_connection()
    behind = _WriteBehind(conn)
    behind.writes_known()
    behind.thread.start()
    conn._write_behind = behind
    conn.execute_wrappers.append(behind.before_execute)
    conn._commit, conn._rollback = behind.commit, behind.rollback
    done = False
    try:
        yield
        behind.flush()
        done = True
    finally:
        for name in ("_write_behind", "_commit", "_rollback"):
            conn.__dict__.pop(name, None)
        if behind.before_execute in conn.execute_wrappers:
            conn.execute_wrappers.remove(behind.before_execute)
        with behind.cond:
            if not done:  # left by an error: what is still queued is not run
                behind._clear()
            behind.stopping = True
            behind.cond.notify_all()
        behind.thread.join()


def history_insert(objs: list, *, user=None, reason: str = "") -> int:
    """The history rows ("+", created) of new, saved instances of one model tracked by
    simple_history: what bulk_history_create writes, without building a model per row."""
    if not objs:
        return 0
    historical = type(objs[0]).history.model
    now = timezone.now()
    extra = {"history_date": now, "history_change_reason": reason or None, "history_type": "+",
             "history_user": getattr(user, "pk", None)}
    copied, given = [], []
    for field in historical._meta.concrete_fields:
        if not field.primary_key:
            (given if field.name in extra else copied).append(field)
    get = attrgetter(*(field.attname for field in copied))
    constant = tuple(extra[field.name] for field in given)
    return rows_insert(historical, [field.attname for field in copied + given],
                       [get(obj) + constant for obj in objs])
