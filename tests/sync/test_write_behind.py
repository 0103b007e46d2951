"""Bulk inserts queued to a writer thread (apps.sync.bulk.write_behind, used by imports): the
statements keep their order, every other query sees what was queued before it, an error of a
queued insert is raised in the caller as Django's own, and nothing of a rolled-back
transaction stays."""
import threading

import pytest
from django.db import IntegrityError, transaction

from apps.catalog.models import Entity
from apps.catalog.vocab import EntityKind
from apps.ingest.models import ImportedItem
from apps.sync.bulk import instance_new, objects_insert, rows_insert, write_behind

COLUMNS = ["dataset", "external_id", "schema", "line_sha256", "owns_entity"]


def _items(dataset, ids):
    return [(dataset, str(i), "Company", "", False) for i in ids]


def _entities(names):
    objs = [instance_new(Entity, {"kind": EntityKind.COMPANY, "name": name, "name_norm": name.lower()})
            for name in names]
    return objects_insert(objs)


def _writer_threads():
    return [t for t in threading.enumerate() if t.name == "bulk-write-behind"]


@pytest.mark.django_db(transaction=True)
def test_queued_rows_are_seen_by_the_next_query_and_committed_with_the_transaction():
    with write_behind():
        with transaction.atomic():
            rows_insert(ImportedItem, COLUMNS, _items("a", range(1200)))
            assert ImportedItem.objects.filter(dataset="a").count() == 1200  # waits for the queue
            rows_insert(ImportedItem, COLUMNS, _items("b", range(700)))
        assert _writer_threads()
    assert not _writer_threads()
    assert ImportedItem.objects.filter(dataset="b").count() == 700


@pytest.mark.django_db(transaction=True)
def test_keys_taken_ahead_match_the_rows_even_when_django_inserts_in_between():
    with write_behind():
        with transaction.atomic():
            first = _entities([f"First {i}" for i in range(600)])
            middle = Entity.objects.create(kind=EntityKind.COMPANY, name="Saved one by one")
            second = _entities([f"Second {i}" for i in range(600)])
    objs = [*first, middle, *second]
    assert len({obj.pk for obj in objs}) == len(objs) == 1201
    stored = dict(Entity.objects.values_list("pk", "name"))
    assert all(stored[obj.pk] == obj.name for obj in objs)


@pytest.mark.django_db(transaction=True)
def test_keys_of_the_first_insert_of_a_transaction_are_not_given_again():
    with write_behind():
        with transaction.atomic():  # the first call learns the next keys from its first row
            first = _entities([f"One {i}" for i in range(20)])
            second = _entities([f"Two {i}" for i in range(20)])
    assert len({obj.pk for obj in [*first, *second]}) == 40
    stored = dict(Entity.objects.values_list("pk", "name"))
    assert all(stored[obj.pk] == obj.name for obj in [*first, *second])


@pytest.mark.django_db(transaction=True)
def test_an_error_of_a_queued_insert_is_raised_as_djangos_and_the_transaction_leaves_nothing():
    with pytest.raises(IntegrityError):
        with write_behind():
            with transaction.atomic():
                rows_insert(ImportedItem, COLUMNS, _items("dup", range(100)))
                rows_insert(ImportedItem, COLUMNS, _items("dup", [5]))  # (dataset, external_id) is unique
                rows_insert(ImportedItem, COLUMNS, _items("after", range(10)))
    assert not ImportedItem.objects.exists()
    assert not _writer_threads()


@pytest.mark.django_db(transaction=True)
def test_a_rollback_drops_what_is_still_queued():
    class Stop(Exception):
        pass

    with write_behind():
        with pytest.raises(Stop):
            with transaction.atomic():
                rows_insert(ImportedItem, COLUMNS, _items("gone", range(5000)))
                raise Stop
        with transaction.atomic():  # the connection goes on, with a new transaction
            rows_insert(ImportedItem, COLUMNS, _items("kept", range(3)))
    assert list(ImportedItem.objects.values_list("dataset", flat=True).distinct()) == ["kept"]


@pytest.mark.django_db
def test_counted_queries_stay_synchronous(django_assert_num_queries):
    with write_behind(), transaction.atomic():
        with django_assert_num_queries(1):
            rows_insert(ImportedItem, COLUMNS, _items("counted", range(3)))
    assert ImportedItem.objects.filter(dataset="counted").count() == 3



def _held_writer(table: str):
    """Queue a job on `table` that holds the writer until the returned event is set (by a timer
    after 20 s at the latest, so that a query that wrongly waits fails instead of hanging)."""
    from django.db import connection

    release, started = threading.Event(), threading.Event()

    def hold(cursor):
        started.set()
        release.wait()

    connection._write_behind.submit(hold, table=table)
    assert started.wait(10)
    timer = threading.Timer(20, release.set)
    timer.start()
    return release, timer


@pytest.mark.django_db(transaction=True)
def test_a_select_of_other_tables_does_not_wait_for_queued_inserts_one_of_theirs_does():
    Entity.objects.create(kind=EntityKind.COMPANY, name="Already there")
    with write_behind():
        with transaction.atomic():
            rows_insert(ImportedItem, COLUMNS, _items("q", range(50)))
            release, timer = _held_writer("ingest_importeditem")
            # The writer is held on an insert into the items: entities are read at once.
            assert list(Entity.objects.values_list("name", flat=True)) == ["Already there"]
            assert not release.is_set()
            # A query of the items waits until the queue is empty (let go half a second later).
            threading.Timer(0.5, release.set).start()
            assert ImportedItem.objects.filter(dataset="q").count() == 50
            assert release.is_set()
            timer.cancel()


@pytest.mark.django_db(transaction=True)
def test_a_table_written_by_a_trigger_or_any_view_counts_as_queued():
    from django.db import connection

    with write_behind(), transaction.atomic():
        behind = connection._write_behind
        release, timer = _held_writer("catalog_entity")
        try:
            assert behind.waits_for('SELECT "catalog_entity"."id" FROM "catalog_entity"')
            assert behind.waits_for("SELECT id FROM CATALOG_ENTITY")  # SQLite's names ignore case
            assert not behind.waits_for('SELECT "catalog_record"."id" FROM "catalog_record"')
            # sqlite_sequence: every insert of an AUTOINCREMENT table writes it
            assert behind.waits_for("SELECT name, seq FROM sqlite_sequence") == (connection.vendor == "sqlite")
            if connection.vendor == "sqlite":  # the name index's triggers write its FTS table
                fts = next(name for name in behind.triggers["catalog_entity"] if name.endswith("_fts"))
                assert behind.waits_for(f"SELECT rowid FROM {fts} WHERE {fts} MATCH 'x'")
            behind.views = {"some_view"}
            assert behind.waits_for("SELECT * FROM some_view")
        finally:
            release.set()
            timer.cancel()

