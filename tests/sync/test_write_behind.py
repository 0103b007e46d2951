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

