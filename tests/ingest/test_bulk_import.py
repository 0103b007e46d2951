"""The import's bulk path: thousands of rows per transaction with their history and outbox
rows, under the models' own rules, refusing a bad row alone, resumable after a kill."""
import json
import uuid

import pytest
from django.core.exceptions import PermissionDenied

from apps.catalog import services as catalog
from apps.catalog.models import Alias, Citation, Entity, Fact, Record
from apps.ingest.bench import ftm_synthesize
from apps.ingest.models import ImportedItem, RefusedRow
from apps.sync.models import OutboxEvent
from apps.sync.parity import parity_check, store_upserts
from apps.sync.services import _read_at_delivery, outbox_drain
from graph.connection import run

pytestmark = pytest.mark.django_db


def _history_counts():
    return {model.__name__: model.history.count() for model in (Entity, Record, Alias, Fact, Citation)}


@pytest.mark.parametrize("slice_rows", [None, 7])
def test_it_writes_history_and_outbox_rows_and_the_drained_outbox_puts_the_entities_in_neo4j(
        graph, run_import, tmp_path, monkeypatch, slice_rows):
    if slice_rows:  # each chunk written in many slices (apps.ingest.services.SLICE)
        from apps.ingest import services
        monkeypatch.setattr(services, "SLICE", slice_rows)
    path = tmp_path / "synthetic.jsonl"
    counts = ftm_synthesize(path, 90, 3)

    job = run_import(path, dataset="synthetic")

    entities, records = Entity.objects.count(), Record.objects.count()
    assert job.status == "done" and job.rows_refused == 0
    assert records == counts["Ownership"] + counts["Directorship"] + counts["Sanction"]
    # Every entity and record has its "created" history row naming the importer, and one
    # outbox upsert per object carrying what the graph needs.
    assert Entity.history.filter(history_type="+", history_user__username="charlie").count() == entities
    assert Record.history.filter(history_type="+", history_change_reason="created").count() == records
    assert Citation.history.count() == Citation.objects.count() > entities + records - 1
    assert set(OutboxEvent.objects.filter(aggregate="record").values_list("uid", flat=True)) == {
        str(u) for u in Record.objects.values_list("uuid", flat=True)}
    ownership = Record.objects.filter(kind="ownership").first()
    event = OutboxEvent.objects.filter(uid=str(ownership.uuid)).latest("version")
    # Its payload is read from the store when the drain delivers it: the record's ends and sources.
    assert event.payload == OutboxEvent.READ_AT_DELIVERY
    payload = store_upserts("record", [event.uid])[event.uid]["payload"]
    assert payload["s"] == str(ownership.subject.uuid) and payload["props"]["sources"] == [str(job.source.uuid)]
    outbox_drain()
    assert parity_check().ok
    company = Entity.objects.filter(kind="company").first()
    found = run("MATCH (n:Entity {uid: $uid}) RETURN n.name AS name", {"uid": str(company.uuid)})
    assert [row["name"] for row in found] == [company.name]

    before = (_history_counts(), OutboxEvent.objects.count(), sorted(Entity.objects.values_list("version", flat=True)))
    again = run_import(path, dataset="synthetic")

    assert (again.entities_created, again.records_created, again.entities_changed, again.records_changed) == (
        0, 0, 0, 0)
    assert (_history_counts(), OutboxEvent.objects.count(),
            sorted(Entity.objects.values_list("version", flat=True))) == before


def test_it_gives_imported_objects_uuids_in_creation_order_within_their_group(run_import, tmp_path):
    """New uuids are appended to the uuid and outbox indexes (apps.catalog.ids), not written
    at random places: within each group (the first byte) they follow the order of creation."""
    path = tmp_path / "synthetic.jsonl"
    ftm_synthesize(path, 600, 5)

    run_import(path, dataset="synthetic")

    for model in (Entity, Record):
        made = list(model.objects.order_by("pk").values_list("uuid", flat=True))
        assert len(made) == len(set(made)) > 100
        assert {(u.version, u.variant) for u in made} == {(8, uuid.RFC_4122)}
        groups = {}
        for u in made:
            groups.setdefault(u.bytes[0], []).append(u)
        assert all(group == sorted(group) for group in groups.values())
        assert len(groups) > 16
    # The outbox (and so the graph) carries the same keys.
    assert set(OutboxEvent.objects.values_list("uid", flat=True)) >= {
        str(u) for u in Record.objects.values_list("uuid", flat=True)}


def test_a_chunk_with_one_invalid_row_refuses_that_row_alone_with_its_line_and_field(run_import, tmp_path):
    rows = [
        {"id": "a", "schema": "Company", "properties": {"name": ["Alpha Scanners"], "country": ["pl"]}},
        {"id": "b", "schema": "Company", "properties": {"name": ["Beta Holdings"], "country": ["de"]}},
        {"id": "o1", "schema": "Ownership", "properties": {"owner": ["b"], "asset": ["a"], "percentage": ["40"],
                                                           "startDate": ["2020"]}},
        {"id": "o2", "schema": "Ownership", "properties": {"owner": ["a"], "asset": ["b"], "startDate": ["2021-05-01"],
                                                           "endDate": ["2019-01-01"]}},
        {"id": "o3", "schema": "Ownership", "properties": {"owner": ["a"], "asset": ["a"]}},
    ]
    path = tmp_path / "one-bad.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")

    job = run_import(path, dataset="one-bad")

    refused = {(r.line, r.field) for r in RefusedRow.objects.filter(job=job)}
    assert refused == {(4, "end"), (5, "object")}
    assert job.rows_refused == 2 and job.records_created == 1 and job.entities_created == 2
    assert Record.objects.get().share_pct == 40
    assert "before the start" in RefusedRow.objects.get(job=job, line=4).reason
    assert not ImportedItem.objects.filter(external_id__in=["o2", "o3"]).exists()


def test_the_bulk_services_apply_the_same_rules_as_the_single_ones(alice, dave, run_import, tmp_path):
    path = tmp_path / "src.jsonl"
    path.write_text(json.dumps({"id": "x", "schema": "Company", "properties": {"name": ["X"]}}), encoding="utf-8")
    source = run_import(path, dataset="src").source
    source._line_cache = {1: path.read_text(encoding="utf-8")}
    good = catalog.NewEntity(fields={"kind": "company", "name": "Gamma"},
                             citations=[{"source": source, "quote": '"id": "x"', "locator": "line 1"}])
    misquoted = catalog.NewEntity(fields={"kind": "company", "name": "Delta"},
                                  citations=[{"source": source, "quote": "not in the line", "locator": "line 1"}])
    bad_country = catalog.NewEntity(fields={"kind": "company", "name": "Epsilon", "country": "QQ"})

    refused = dict((item.fields["name"], exc.message_dict) for item, exc in catalog.entities_bulk_create(
        user=alice, items=[good, misquoted, bad_country]))

    assert set(refused) == {"Delta", "Epsilon"} and "quote" in refused["Delta"] and "country" in refused["Epsilon"]
    assert good.entity.pk and Entity.objects.filter(name="Gamma").get().citations.get().found
    with pytest.raises(PermissionDenied):
        catalog.entities_bulk_create(user=dave, items=[catalog.NewEntity(fields={"kind": "company", "name": "Z"})])


def test_bulk_records_in_slices_refuse_a_missing_end_and_keep_the_others(alice, run_import, tmp_path):
    path = tmp_path / "src.jsonl"
    path.write_text(json.dumps({"id": "x", "schema": "Company", "properties": {"name": ["X"]}}), encoding="utf-8")
    source = run_import(path, dataset="src").source
    source._line_cache = {1: path.read_text(encoding="utf-8")}
    owner, asset = (catalog.entity_create(user=alice, kind="company", name=name) for name in ("Owner", "Asset"))
    gone = catalog.entity_create(user=alice, kind="company", name="Gone")
    gone_pk = gone.pk
    gone.delete()
    cite = [{"source": source, "quote": '"id": "x"', "locator": "line 1"}]

    def item(share, obj):
        return catalog.NewRecord(fields={"kind": "ownership", "subject_id": owner.pk, "object_id": obj,
                                         "share_pct": share}, citations=cite)
    items = [item(10, asset.pk), item(20, gone_pk), item(30, asset.pk), item(140, asset.pk), item(50, asset.pk),
             catalog.NewRecord(fields={"kind": "ownership", "subject": owner, "object": asset, "share_pct": 60},
                               citations=cite)]

    refused = {item.fields["share_pct"]: exc.message_dict for item, exc in catalog.records_bulk_create(
        user=alice, items=items, slice_size=2)}

    assert set(refused) == {20, 140}
    assert "does not exist" in refused[20]["object"][0] and "share_pct" in refused[140]
    made = Record.objects.filter(subject=owner).order_by("share_pct")
    assert [int(r.share_pct) for r in made] == [10, 30, 50, 60]
    assert all(r.citations.get().found and r.history.count() == 1 for r in made)
    assert [item.record.pk for item in items if item.record] == sorted(r.pk for r in made)


def test_a_job_collects_less_often_while_it_runs_and_gives_the_collector_back(run_import, tmp_path, monkeypatch):
    import gc

    from apps.ingest import services
    path = tmp_path / "synthetic.jsonl"
    ftm_synthesize(path, 60, 3)
    seen = []
    chunk = services._FtmImport._chunk

    def spy(self, *args, **kwargs):
        seen.append((gc.get_threshold()[0], gc.get_freeze_count() > 0))
        return chunk(self, *args, **kwargs)
    monkeypatch.setattr(services._FtmImport, "_chunk", spy)
    before = gc.get_threshold()

    job = run_import(path, dataset="gc")

    assert job.status == "done" and seen and set(seen) == {(services._import_connection.GC_YOUNG, True)}
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


class _Killed(BaseException):
    """What a SIGKILL looks like from inside: nothing after it runs."""


def test_a_worker_killed_inside_a_bulk_chunk_resumes_and_writes_nothing_twice(charlie, settings, monkeypatch,
                                                                              tmp_path):
    from apps.ingest import services
    from apps.sync import bulk

    settings.VENDORGRAPH_IMPORT_CHUNK = 40
    settings.IMPORT_JOB_LEASE_SECONDS = 0  # the dead worker's heartbeat is stale at once
    path = tmp_path / "synthetic.jsonl"
    counts = ftm_synthesize(path, 150, 5)
    job = services.import_job_create(user=charlie, path=path, dataset="synthetic")
    real_insert, calls = bulk.rows_insert, []

    def dying_insert(model, columns, rows):
        # Killed after the third chunk's records, their history and outbox rows were inserted,
        # before its items and its commit: the chunk must vanish whole.
        if model is ImportedItem and any(row[4] for row in rows):
            calls.append(1)
            if len(calls) == 3:
                raise _Killed
        return real_insert(model, columns, rows)

    monkeypatch.setattr(services, "rows_insert", dying_insert)
    with pytest.raises(_Killed):
        services.import_job_run(job=job)
    job.refresh_from_db()
    written = Record.objects.count()
    assert job.status == "running" and 0 < written < counts["Ownership"] + counts["Directorship"] + counts["Sanction"]
    assert Record.history.count() == written == OutboxEvent.objects.filter(aggregate="record").count()
    monkeypatch.setattr(services, "rows_insert", real_insert)

    job = services.import_job_run(job=job)

    entities = counts["Company"] + counts["Person"] + counts["PublicBody"]
    records = counts["Ownership"] + counts["Directorship"] + counts["Sanction"]
    authorities = ImportedItem.objects.filter(schema="~").count()  # the sanctions' authorities, named not keyed
    assert job.status == "done" and job.rows_refused == 0
    assert (job.entities_created, job.records_created) == (entities + authorities, records)
    assert (job.entities_unchanged, job.records_unchanged) == (0, 0)
    assert Record.objects.count() == Record.history.count() == records
    assert OutboxEvent.objects.filter(aggregate="record").count() == records
    assert ImportedItem.objects.exclude(record=None).count() == records


def test_every_name_of_a_large_chunk_is_found_right_after_it_and_the_outbox_carries_what_save_would(
        run_import, tmp_path):
    # More entities than one multi-row INSERT takes (apps.sync.bulk.SQLITE_ROWS), so the name
    # index is fed by several statements of a chunk, and each payload goes through the JSON
    # encoder of the bulk path.
    from apps.catalog.selectors.search import entity_search
    from apps.sync.bulk import SQLITE_ROWS

    path = tmp_path / "synthetic.jsonl"
    counts = ftm_synthesize(path, 3 * SQLITE_ROWS + 300, 5)

    job = run_import(path, dataset="synthetic")

    entities = list(Entity.objects.all())
    # The file's entities, and the countries and authorities its rows name.
    assert job.rows_refused == 0 and len(entities) >= counts["Company"] + counts["Person"] + counts["PublicBody"]
    assert job.entities_created > SQLITE_ROWS
    missed = [e.name for e in entities
              if e.pk not in {hit.entity_id for hit in entity_search(q=e.name, include_unpublished=True, limit=50)}]
    assert missed == []
    objects = {str(obj.uuid): obj for obj in [*entities, *Record.objects.all()]}
    latest = {}
    for event in OutboxEvent.objects.order_by("version"):
        latest[event.uid] = event
    assert set(latest) == set(objects)
    # What the drain delivers for each (the payload it reads from the store, or the row's own)
    # is what the object itself says the graph holds of it.
    read, superseded, unread = _read_at_delivery(list(latest.values()))
    assert not superseded and not unread and len(read) > SQLITE_ROWS
    for uid, event in latest.items():
        assert read.get(uid, event.payload) == json.loads(json.dumps(objects[uid].graph_payload())), uid
