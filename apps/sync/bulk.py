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

import datetime
import json
import sqlite3
from operator import attrgetter

import orjson
from django.db import connection, models
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

    def convert(value):
        if value is None:
            return None
        if isinstance(value, datetime.datetime):  # mostly one `now` for the whole insert
            if value not in memo:
                memo[value] = field.get_db_prep_save(value, connection)
            return memo[value]
        return field.get_db_prep_save(value, connection)
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


_PLANS: dict = {}
_NAMES: dict = {}


def instance_new(model, values: dict):
    """A new, unsaved instance of `model` with `values` (by attname, or by field name for a
    related instance), the others at their defaults: what `model(**values)` makes, built
    through the model's positional fast path (Django's keyword path costs tens of
    microseconds a row). A related instance is cached on the new one, as assigning it does."""
    plan = _PLANS.get(model)
    if plan is None:
        plan = _PLANS[model] = [(f, f.attname, f.name if f.is_relation else None, f.default if
                                 f.has_default() and callable(f.default) else None, f.get_default())
                                for f in model._meta.concrete_fields]
        _NAMES[model] = [f.attname for f in model._meta.concrete_fields]
    names = _NAMES[model]
    args, related, used = [], [], 0
    for field, attname, name, make, default in plan:
        if attname in values:
            value = values[attname]
            used += 1
        elif name is not None and name in values:
            obj = values[name]
            value = None if obj is None else obj.pk
            related.append((field, obj))
            used += 1
        else:
            value = make() if make is not None else default
        args.append(value)
    if used != len(values):
        unknown = set(values) - {attname for _, attname, _, _, _ in plan} - {name for _, _, name, _, _ in plan}
        raise TypeError(f"{model.__name__} has no field {', '.join(sorted(unknown))}")
    if signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model):
        obj = model(*args)
    else:  # what Model.__init__ does with positional values, minus its per-field descriptors
        obj = model.__new__(model)
        obj._state = ModelState()
        obj.__dict__.update(zip(names, args))
    for field, value in related:
        field.set_cached_value(obj, value)
    return obj


def _auto_now(field: models.Field) -> bool:
    return bool(getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False))


def _new_keys(model, first_sql: str, first_params: list, n: int) -> list[int]:
    table, pk = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                           [connection.ops.quote_name(table), pk, n])
            return [row[0] for row in cursor.fetchall()]
        if connection.vendor != "sqlite":
            raise NotImplementedError(f"bulk inserts on {connection.vendor}")
        cursor.execute(first_sql + f" RETURNING {connection.ops.quote_name(pk)}", first_params)
        first = cursor.fetchone()[0]
        return [first + i for i in range(n)]


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
    rows = [list(get(obj)) for obj in objs]
    for index, convert in enumerate(_converter(field) for field in fields):
        if convert is not None:
            for row in rows:
                row[index] = convert(row[index])
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    names = ", ".join(quote(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    first_sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"
    keys = _new_keys(model, first_sql, rows[0], len(objs))
    start = 1 if connection.vendor == "sqlite" else 0  # SQLite's first row is already in
    if len(rows) > start:
        _insert_many(table, [quote(model._meta.pk.column), *(quote(f.column) for f in fields)],
                     [[key, *row] for key, row in zip(keys[start:], rows[start:])])
    for obj, key in zip(objs, keys):
        obj.pk = key
        obj._state.adding, obj._state.db = False, connection.alias
    return objs


def rows_insert(model, columns: list[str], rows: list[tuple]) -> int:
    """Insert plain rows (values in the order of `columns`, attnames; prepared here) into
    `model`'s table, its primary key left to the database. Returns how many."""
    if not rows:
        return 0
    if not connection.in_atomic_block:
        raise RuntimeError("rows_insert must run inside a transaction")
    fields = [model._meta.get_field(name) for name in columns]
    converters = [_converter(f) for f in fields]
    if any(converters):
        rows = [[v if c is None else c(v) for v, c in zip(row, converters)] for row in rows]
    quote = connection.ops.quote_name
    _insert_many(quote(model._meta.db_table), [quote(f.column) for f in fields], rows)
    return len(rows)


# From this many rows PostgreSQL takes them through COPY: one stream instead of one INSERT
# per row (psycopg pipelines executemany, but each row is still a statement to parse,
# plan and acknowledge). Fewer rows: the INSERT, which costs no COPY set-up.
COPY_FROM = 50


def _insert_many(table: str, columns: list[str], rows: list) -> None:
    """Insert prepared `rows` (values in the order of the quoted `columns`) into `table`:
    the one place where the bulk writes reach the database. Constraints, CHECKs, defaults of
    the database and triggers apply to COPY as to INSERT."""
    names = ", ".join(columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and len(rows) >= COPY_FROM:
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        if connection.vendor == "sqlite" and len(rows) > 1:
            _sqlite_insert_values(cursor, f"INSERT INTO {table} ({names}) VALUES ", len(columns), rows)
            return
        marks = ", ".join(["%s"] * len(columns))
        cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)


# SQLite: up to this many rows per INSERT (a multi-row VALUES list) instead of one
# executemany step per row. Each statement is a statement transaction of its own, and the
# FTS5 name index (an AFTER INSERT trigger, apps.catalog.name_index) writes its pending
# terms out as a new segment at each one: row by row that was 30 of a new entity's 45 µs;
# in statements of hundreds of rows, one write per statement. Other tables gain less
# (citations 6 -> 4 µs a row). The triggers still fire for every row, as for any INSERT.
SQLITE_ROWS = 500


def _sqlite_insert_values(cursor, head: str, width: int, rows: list) -> None:
    try:  # the build's limit on bound parameters (999 in old builds, 32766+ since 3.32)
        limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    except AttributeError:  # Python < 3.11
        limit = 999
    step = max(1, min(SQLITE_ROWS, limit // width))
    one = "(" + ", ".join(["?"] * width) + ")"
    logged = connection.queries_logged or connection.execute_wrappers
    for start in range(0, len(rows), step):
        part = rows[start:start + step]
        params = [value for row in part for value in row]
        if logged:  # DEBUG, assertNumQueries, execute_wrappers: through Django's cursor, seen
            cursor.execute(head + ", ".join(["(" + ", ".join(["%s"] * width) + ")"] * len(part)), params)
            continue
        # The driver's own execute: Django's SQLite wrapper would turn each "%s" into "?"
        # with a regular expression, about 7 µs a row for statements this long.
        with connection.wrap_database_errors:
            sqlite3.Cursor.execute(cursor.cursor, head + ", ".join([one] * len(part)), params)


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
