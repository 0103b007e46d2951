"""Importing FollowTheMoney files: the ZALA cluster sample (real OpenSanctions data)."""
import gzip
import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from apps.catalog import services as catalog
from apps.catalog.models import Citation, Entity, Fact, Record, Source
from apps.catalog.selectors.search import entity_search
from apps.catalog.text import normalize_name
from apps.catalog.vocab import Workflow
from apps.ingest.models import ImportedItem, ImportJob
from apps.ingest.selectors import import_job_summary
from apps.sync.models import OutboxEvent

pytestmark = pytest.mark.django_db


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _record(ftm_id: str) -> Record:
    return ImportedItem.objects.get(external_id=ftm_id).record


def test_it_imports_the_zala_cluster_with_counts_by_kind(zala_path, run_import):
    job = run_import(zala_path)

    assert job.status == ImportJob.Status.DONE and job.rows_read == job.rows_total == 91 and job.rows_refused == 0
    assert Counter(Entity.objects.values_list("kind", flat=True)) == {
        "company": 11, "person": 6, "site": 11, "public_body": 19}
    assert Counter(Record.objects.values_list("kind", flat=True)) == {"ban": 41, "ownership": 14, "role": 3}
    assert (job.entities_created, job.records_created) == (47, 58)
    # Nothing silently dropped: what has no noun of ours is listed, and kept.
    assert job.unmapped["schemas"] == {"Family": 4, "Passport": 1}
    assert job.unmapped["identifiers"]["innCode"] == 16
    assert Fact.objects.filter(field="Family").count() >= 4
    assert Fact.objects.filter(field="birthDate", value="1988-01-07").exists()
    # Imported items arrive as drafts.
    assert set(Entity.objects.values_list("workflow", flat=True)) == {Workflow.DRAFT}
    assert set(Record.objects.values_list("workflow", flat=True)) == {Workflow.DRAFT}


def test_its_sanctions_become_bans_with_authorities_and_dates(zala_path, run_import):
    run_import(zala_path)

    ban = _record("au-dfat-56600015954691cece058c2a3b0e3b27740701e6")
    assert ban.kind == "ban"
    assert (ban.subject.name, ban.subject.kind, ban.subject.country) == (
        "Department of Foreign Affairs and Trade", "public_body", "AU")
    assert ban.object == ImportedItem.objects.get(external_id="NK-abdzbEBkqyT29GyREbiURZ").entity
    assert ban.start == "2023-02-24" and ban.title == "Autonomous (Russia)"
    assert ban.attributes["programId"] == "AU-RUSSIA"
    bans = Record.objects.filter(kind="ban").select_related("subject")
    assert all(b.subject.kind in ("public_body", "country") for b in bans)
    sanctions = [json.loads(line) for line in _lines(zala_path) if '"schema": "Sanction"' in line]
    dated = {s["id"] for s in sanctions if s["properties"].get("startDate")}
    assert {i.external_id for i in ImportedItem.objects.filter(external_id__in=dated, record__start__gt="")} == dated


def test_every_imported_item_cites_its_exact_line_in_the_stored_file(zala_path, run_import):
    job = run_import(zala_path)
    lines = _lines(zala_path)

    source = Source.objects.get(source_type="dataset")
    digest = hashlib.sha256(zala_path.read_bytes()).hexdigest()
    stored = Path(settings.VENDORGRAPH_IMPORT_DIR) / source.stored_file
    assert source.content_hash == job.file_sha256 == digest and digest in stored.name
    assert stored.read_bytes() == zala_path.read_bytes()
    assert (source.publisher, source.licence) == ("OpenSanctions", "CC BY-NC 4.0")
    for record in Record.objects.all():
        citation = record.citations.get()
        number = int(citation.locator.removeprefix("line "))
        assert citation.quote == lines[number - 1] and citation.found
    assert not Citation.objects.filter(start__isnull=True).exists()
    # The check is real: a line quoted at another line's place is refused.
    record = Record.objects.first()
    citation = record.citations.get()
    elsewhere = "line 1" if citation.locator != "line 1" else "line 2"
    with pytest.raises(ValidationError):
        catalog.citation_create(user=job.started_by, target=record, source=source, quote=citation.quote,
                                locator=elsewhere)


def test_the_dangling_address_references_are_reported_and_kept_unresolved(zala_path, run_import):
    job = run_import(zala_path)

    refs = list(job.dangling_refs.all())
    assert job.dangling == len(refs) == 16 and {r.field for r in refs} == {"addressEntity"}
    assert Fact.objects.filter(field="addressEntity (unresolved)").count() == 16
    assert not Entity.objects.filter(identifiers__ftm_id__in=[r.ref for r in refs]).exists()  # none invented
    assert "dangling references (kept unresolved): 16" in import_job_summary(job=job)


def test_a_cyrillic_name_is_found_in_latin_letters_once_published(zala_path, run_import, bob):
    job = run_import(zala_path, user=bob, publish=True)

    assert job.status == ImportJob.Status.DONE
    assert Record.objects.filter(workflow=Workflow.PUBLISHED).count() == 58
    hits = entity_search(q="Zakharova Mariia Oleksandrivna")  # "Захарова Марія Олександрівна" in the file
    assert hits and hits[0].matched == normalize_name("Захарова Марія Олександрівна")
    assert Entity.objects.get(pk=hits[0].entity_id).name == "Maria Aleksandrovna Osetrova"


def test_a_second_import_of_the_same_file_changes_nothing(zala_path, run_import):
    run_import(zala_path)
    outbox, versions = OutboxEvent.objects.count(), sum(Record.objects.values_list("version", flat=True))
    history = Record.history.count() + Entity.history.count() + Fact.history.count() + Citation.history.count()

    job = run_import(zala_path)

    assert not job.changed_anything and (job.entities_unchanged, job.records_unchanged) == (28, 58)
    assert OutboxEvent.objects.count() == outbox
    assert sum(Record.objects.values_list("version", flat=True)) == versions
    assert Record.history.count() + Entity.history.count() + Fact.history.count() + Citation.history.count() == history
    assert Source.objects.count() == 1
    assert "nothing changed" in import_job_summary(job=job)


def test_a_newer_export_ends_a_missing_sanction_and_versions_a_changed_share(zala_path, run_import, tmp_path):
    run_import(zala_path)
    rows = [json.loads(line) for line in _lines(zala_path)]
    removed = next(r for r in rows if r["schema"] == "Sanction")
    changed = next(r for r in rows if r["schema"] == "Ownership" and r["properties"].get("percentage") == ["49"])
    changed["properties"]["percentage"] = ["60"]
    edited = tmp_path / "zala-newer.jsonl"
    edited.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows if r is not removed),
                      encoding="utf-8")
    stake = _record(changed["id"])
    version = stake.version

    job = run_import(edited)

    assert (job.records_changed, job.records_ended, job.records_created) == (1, 1, 0)
    stake.refresh_from_db()
    assert float(stake.share_pct) == 60 and stake.version > version
    assert [float(h.share_pct) for h in stake.history.order_by("history_date")][:1] == [49]
    newest = stake.citations.order_by("-id").first()
    assert newest.source.content_hash == job.file_sha256 and '"60"' in newest.quote
    ended = ImportedItem.objects.get(external_id=removed["id"])
    assert ended.ended_job == job and Record.objects.filter(pk=ended.record_id).exists()  # ended, not deleted
    assert ended.record.attributes["no_longer_listed"]["dataset"] == "zala"


def test_a_gzipped_file_with_a_bom_imports_the_same(zala_path, run_import, tmp_path):
    packed = tmp_path / "zala.jsonl.gz"
    packed.write_bytes(gzip.compress(b"\xef\xbb\xbf" + zala_path.read_bytes()))

    job = run_import(packed)

    assert (job.status, job.rows_total, job.rows_refused, job.records_created) == ("done", 91, 0, 58)
    assert job.stored_file.endswith(".jsonl.gz")
    assert all(c.found for c in Citation.objects.filter(locator="line 1"))


def test_bad_rows_are_refused_with_line_and_field_while_good_rows_go_in(zala_path, run_import, tmp_path):
    lines = [line for line in _lines(zala_path) if json.loads(line)["schema"] in ("Person", "Company")][:2]
    bad = tmp_path / "mixed.jsonl"
    bad.write_text("\n".join([
        lines[0],
        '{"id": "x1", "schema": "Spaceship", "properties": {}}',
        '{"id": "x2", "schema": "Company", "properties": {"wingspan": ["3 m"]}}',
        "{not json",
        lines[1],
        "",
    ]), encoding="utf-8")

    job = run_import(bad)

    refused = {(r.line, r.field): r.reason for r in job.refused_rows.all()}
    assert set(refused) == {(2, "schema"), (3, "wingspan"), (4, "")}
    assert "Spaceship" in refused[(2, "schema")] and "no property 'wingspan'" in refused[(3, "wingspan")]
    assert job.rows_refused == 3 and job.status == "done"
    assert ImportedItem.objects.filter(external_id__in=[json.loads(lines[0])["id"], json.loads(lines[1])["id"]]).count() == 2
    with pytest.raises(CommandError, match="3 row"):
        call_command("ingest", str(bad), "--dataset", "zala", "--user", job.started_by.username)


@pytest.mark.parametrize("content, why", [
    (b"", "empty"),
    (b"name,country\nNuctech,CN\n", "not a FollowTheMoney file: line 1"),
    (b'{"id": "a", "schema": "Unicorn", "properties": {}}\n', "not a FollowTheMoney file: line 1, schema"),
    (b"\x1f\x8b\x08\x00broken", "cannot be read"),
])
def test_a_file_that_is_not_ftm_at_all_is_refused_whole_with_nothing_written(run_import, tmp_path, content, why):
    path = tmp_path / "upload.jsonl"
    path.write_bytes(content)

    job = run_import(path)

    assert job.status == ImportJob.Status.REFUSED and why in job.error
    assert not Entity.objects.exists() and not Source.objects.exists() and not OutboxEvent.objects.exists()
    with pytest.raises(CommandError, match="refused"):
        call_command("ingest", str(path), "--user", job.started_by.username)


def test_an_editor_imports_drafts_but_cannot_publish_them(zala_path, run_import, alice, dave):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        run_import(zala_path, user=alice, publish=True)
    with pytest.raises(PermissionDenied):
        run_import(zala_path, user=dave)
    assert run_import(zala_path, user=alice).records_created == 58


def test_a_strong_id_joins_a_row_to_the_entity_we_have_and_a_name_alone_never_does(zala_path, run_import, tmp_path,
                                                                                    charlie):
    run_import(zala_path)
    osetrova = ImportedItem.objects.get(external_id="NK-2Tbri3s6GgNtAwsSXh4qpL").entity
    nuctech = catalog.entity_create(user=charlie, kind="company", name="Nuctech Company Limited", country="CN",
                                    identifiers={"leiCode": "TEST00000000000LEI01"})
    other = tmp_path / "other.jsonl"
    other.write_text("\n".join(json.dumps(row, ensure_ascii=False) for row in [
        {"id": "re-keyed-1", "schema": "Person", "referents": ["NK-2Tbri3s6GgNtAwsSXh4qpL"],
         "properties": {"name": ["Maria OSETROVA-ZAKHAROVA"]}},
        {"id": "gleif-1", "schema": "Company", "properties": {"name": ["NUCTECH COMPANY LIMITED"],
                                                              "leiCode": ["TEST00000000000LEI01"]}},
        {"id": "name-only", "schema": "Company", "properties": {"name": ["Nuctech Company Limited"]}},
    ]) + "\n", encoding="utf-8")
    before = Entity.objects.count()

    job = run_import(other, dataset="another-list")

    assert Entity.objects.count() == before + 1  # only the name-only row made a new entity
    assert job.unmapped["matched"] == {"FtM id or referent": 1, "leiCode": 1}
    assert osetrova.aliases.filter(name="Maria OSETROVA-ZAKHAROVA", workflow="draft").exists()
    assert nuctech.aliases.filter(name="NUCTECH COMPANY LIMITED").exists()
    assert ImportedItem.objects.get(dataset="another-list", external_id="name-only").entity != nuctech


def test_each_relationship_schema_maps_to_its_record_kind(run_import, tmp_path):
    rows = [
        {"id": "buyer", "schema": "PublicBody", "properties": {"name": ["Customs Office"], "country": ["lt"]}},
        {"id": "vendor", "schema": "Company", "properties": {"name": ["Scanner Co"], "country": ["cn"]}},
        {"id": "bank", "schema": "Company", "properties": {"name": ["Export Bank"]}},
        {"id": "person", "schema": "Person", "properties": {"name": ["A. Person"]}},
        {"id": "k1", "schema": "Contract", "properties": {"title": ["Scanners"], "authority": ["buyer"]}},
        {"id": "aw1", "schema": "ContractAward", "properties": {"contract": ["k1"], "supplier": ["vendor"],
                                                               "amount": ["1200000"], "currency": ["EUR"],
                                                               "startDate": ["2021-03"]}},
        {"id": "d1", "schema": "Debt", "properties": {"creditor": ["bank"], "debtor": ["buyer"], "amount": ["5"],
                                                     "currency": ["usd"]}},
        {"id": "p1", "schema": "Payment", "properties": {"payer": ["vendor"], "beneficiary": ["buyer"]}},
        {"id": "p2", "schema": "Payment", "properties": {"payer": ["buyer"], "beneficiary": ["vendor"],
                                                        "contract": ["k1"]}},
        {"id": "c1", "schema": "Control", "properties": {"controller": ["bank"], "controlled": ["vendor"]}},
        {"id": "m1", "schema": "Membership", "properties": {"member": ["person"], "organization": ["vendor"]}},
        {"id": "e1", "schema": "Employment", "properties": {"employee": ["person"], "employer": ["bank"]}},
    ]
    path = tmp_path / "kinds.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")

    job = run_import(path)

    kinds = {i.external_id: i.record.kind for i in ImportedItem.objects.exclude(record=None).select_related("record")}
    assert kinds == {"aw1": "contract", "d1": "loan", "p1": "donation", "p2": "contract", "c1": "ownership",
                     "m1": "role", "e1": "role"}
    award = _record("aw1")
    assert (award.subject.name, award.object.name, award.amount, award.currency, award.start) == (
        "Customs Office", "Scanner Co", 1200000, "EUR", "2021-03")
    assert _record("d1").currency == "USD" and _record("c1").attributes["control"] is True
    assert job.rows_refused == 0 and job.unmapped["schemas"] == {"Contract": 1}


class _Killed(BaseException):
    """What a SIGKILL looks like from inside: nothing after it runs (no `except Exception`)."""


def test_a_job_killed_mid_way_resumes_and_writes_nothing_twice(zala_path, run_import, charlie, settings,
                                                               monkeypatch):
    from apps.ingest import services

    settings.VENDORGRAPH_IMPORT_CHUNK = 10
    settings.IMPORT_JOB_LEASE_SECONDS = 0  # the dead worker's heartbeat is stale at once
    job = services.import_job_create(user=charlie, path=zala_path, dataset="zala")
    real_chunk, calls, killed = services._FtmImport._chunk, [], []

    def dying_chunk(self, batch, handle, position=None, **kwargs):
        calls.append((position[0], [row.line for row in batch]))
        if len(calls) == 4 and not killed:
            killed.append(1)
            raise _Killed
        return real_chunk(self, batch, handle, position, **kwargs)

    monkeypatch.setattr(services._FtmImport, "_chunk", dying_chunk)
    with pytest.raises(_Killed):
        services.import_job_run(job=job)
    job.refresh_from_db()
    assert job.status == "running" and 0 < Entity.objects.count() < 47
    written_before = {line for _, lines in calls[:3] for line in lines}
    assert job.checkpoint == {"pass": 0, "rows": len(written_before)}
    calls.clear()

    job = services.import_job_run(job=job)

    # It resumed after the last committed chunk: the lines of those chunks were not handled again.
    assert calls and not written_before & {line for done, lines in calls if done == 0 for line in lines}

    assert job.status == "done" and (job.entities_created, job.records_created) == (47, 58)
    assert (job.entities_unchanged, job.records_unchanged, job.dangling) == (0, 0, 16)
    assert Entity.objects.count() == 47 and Record.objects.count() == 58
    assert Entity.history.filter(history_change_reason="created").count() == 47
    assert Fact.objects.filter(field="addressEntity (unresolved)").count() == 16
