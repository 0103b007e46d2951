"""Import jobs: store the raw file, then read it and write what it says through the
catalogue's services (apps.catalog.services), chunk by chunk.

- The raw file is kept unchanged under settings.VENDORGRAPH_IMPORT_DIR, named by its
  SHA-256, and registered as a Source of type dataset; every entity, name, fact and record
  written cites it with the exact original line as the quote and "line N" as the locator
  (the citation check re-reads that line of the stored file).
- Writes go through the catalogue's services (roles, validation, history, outbox), one
  database transaction per chunk of VENDORGRAPH_IMPORT_CHUNK rows; a row that the
  catalogue refuses is rolled back alone (a savepoint) and reported with its line.
- Idempotent: items are matched by the dataset's own id (ImportedItem); a row whose line is
  unchanged, or whose mapped values are, writes nothing. Items of the dataset missing from
  a complete newer export get "no longer listed since" (never a delete).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from apps.catalog import services as catalog
from apps.catalog.models import Citation, Entity, Fact, Record, country_name
from apps.catalog.selectors.search import entity_search
from apps.catalog.text import normalize_name
from apps.catalog.vocab import EntityKind, RecordKind, Workflow
from apps.curation import roles
from apps.ingest import formats, ftm
from apps.ingest.models import (DanglingReference, ImportedItem, ImportJob, MatchCandidate, RefusedRow,
                                TrustedDataset)
from apps.ops.dbstats import planner_statistics_refresh
from apps.sync.models import touches_coalesced

GZIP_MAGIC = b"\x1f\x8b"
# ImportedItem schemas of entities the rows name without an id of their own (a sanction's
# authority, a country): they are shared by rows, so they are never "no longer listed".
DERIVED = "~"
REFERENT = "~referent"  # another id of an item (FtM `referents`), pointing at the same entity
# Identifiers that name one entity in the world: equal values join an imported row to our entity.
STRONG_IDS = ("leiCode", "wikidataId", "lei", "wikidata")


class ImportRefused(ValueError):
    """The file as a whole cannot be imported; nothing was written."""


# --- storing the file -----------------------------------------------------------------------

def import_file_store(*, stream, name: str = "", max_bytes: int | None = None,
                      suffix: str = ".jsonl") -> tuple[str, str]:
    """Copy `stream` (binary) unchanged into the import folder, named by its SHA-256.
    Returns (sha256, path relative to VENDORGRAPH_IMPORT_DIR). Refuses files over `max_bytes`."""
    root = Path(settings.VENDORGRAPH_IMPORT_DIR)
    root.mkdir(parents=True, exist_ok=True)
    digest, size, head = hashlib.sha256(), 0, b""
    with tempfile.NamedTemporaryFile(dir=root, prefix=".upload-", delete=False) as tmp:
        try:
            for block in iter(lambda: stream.read(1024 * 1024), b""):
                size += len(block)
                if max_bytes is not None and size > max_bytes:
                    raise ImportRefused(f"{name or 'the file'} is larger than the upload limit "
                                        f"({max_bytes // (1024 * 1024)} MB).")
                if len(head) < 2:
                    head += block[:2]
                digest.update(block)
                tmp.write(block)
        except BaseException:
            tmp.close()
            os.unlink(tmp.name)
            raise
    sha = digest.hexdigest()
    suffix = f"{suffix}.gz" if head[:2] == GZIP_MAGIC else suffix
    relative = f"{sha[:2]}/{sha}{suffix}"
    target = root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        os.unlink(tmp.name)  # content-addressed: the same bytes are already kept
    else:
        shutil.move(tmp.name, target)
        os.chmod(target, 0o444)
    return sha, relative


def import_job_create(*, user, dataset: str, path: str | Path | None = None, upload=None, fmt: str = "ftm",
                      publisher: str = "", licence: str = "", url: str = "", publish: bool = False,
                      max_bytes: int | None = None, mapping: str | Path | None = None,
                      mapping_upload=None) -> ImportJob:
    """Store the file (a path, or an uploaded file) and queue a job for it. A format that
    reads through a mapping (csv) gets it as a path or an upload; it is checked here, so a
    mapping naming an unknown property refuses the import before anything is stored."""
    roles.require(user, "catalog.add_source", "Only editors, reviewers and admins may import data.")
    if publish and not user.has_perm("catalog.publish_record"):
        raise PermissionDenied("Only reviewers and admins may publish what they import.")
    if fmt not in formats.NAMES:
        raise ValidationError({"format": f"Unknown format {fmt!r} (supported: {', '.join(formats.NAMES)})."})
    reader = formats.get(fmt)
    options = _job_options(reader, mapping=mapping, mapping_upload=mapping_upload)
    if not (dataset or "").strip():
        dataset = reader.default_dataset(Path(getattr(upload, "name", None) or path or ""),
                                         format_options(options, name=""))
    if not (dataset or "").strip():
        raise ValidationError({"dataset": "Name the dataset (its items are matched across imports by it)."})
    if upload is not None:
        name = upload.name
        sha, relative = import_file_store(stream=upload, name=name, max_bytes=max_bytes, suffix=reader.SUFFIX)
    else:
        name = Path(path).name
        try:
            with open(path, "rb") as handle:
                sha, relative = import_file_store(stream=handle, name=name, max_bytes=max_bytes,
                                                   suffix=reader.SUFFIX)
        except OSError as exc:
            raise ValidationError({"path": f"{path}: cannot read: {exc.strerror or exc}"}) from exc
    job = ImportJob(format=fmt, dataset=dataset.strip(), publisher=publisher, licence=licence, url=url,
                    publish=publish, original_name=name[:300], file_sha256=sha, stored_file=relative,
                    started_by=user, options=options)
    job.full_clean()
    job.save()
    return job


def _job_options(reader, *, mapping=None, mapping_upload=None) -> dict:
    if not getattr(reader, "NEEDS_MAPPING", False):
        if mapping or mapping_upload:
            raise ValidationError({"mapping": "This format takes no mapping file."})
        return {}
    if mapping_upload is not None:
        name, raw = mapping_upload.name, mapping_upload.read()
    elif mapping:
        name = Path(mapping).name
        try:
            raw = Path(mapping).read_bytes()
        except OSError as exc:
            raise ValidationError({"mapping": f"{mapping}: cannot read: {exc.strerror or exc}"}) from exc
    else:
        raise ValidationError({"mapping": "This format needs a mapping file (--mapping FILE)."})
    try:
        text = raw.decode("utf-8-sig")
        reader.mapping_load(text=text, name=name)
    except UnicodeDecodeError as exc:
        raise ValidationError({"mapping": f"{name}: not UTF-8 text"}) from exc
    except formats.FormatRefused as exc:
        raise ValidationError({"mapping": str(exc)}) from exc
    # The mapping is kept with the job (the worker reads it; the job page shows which one).
    return {"mapping_name": name[:300], "mapping_text": text}


def format_options(options: dict, *, name: str) -> dict:
    """What a format's stages read: the job's options with its mapping parsed."""
    out = {"file_name": name}
    if options.get("mapping_text"):
        from apps.ingest.formats.csv import mapping_load

        out["mapping_data"] = mapping_load(text=options["mapping_text"], name=options.get("mapping_name", "mapping"))
    return out


def import_job_cancel(*, user, job: ImportJob) -> ImportJob:
    roles.require(user, "catalog.add_source", "Only editors, reviewers and admins may cancel imports.")
    if job.finished:
        return job
    ImportJob.objects.filter(pk=job.pk).exclude(status__in=ImportJob.FINISHED).update(
        status=ImportJob.Status.CANCELLING if job.status == ImportJob.Status.RUNNING else ImportJob.Status.CANCELLED)
    job.refresh_from_db()
    return job


# --- running a job --------------------------------------------------------------------------

def import_job_run(*, job: ImportJob) -> ImportJob:
    """Read the stored file and write it into the catalogue. Refuses the file as a whole
    (status refused, nothing written) when it is not FtM at all."""
    if job.status not in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING):
        return job
    if job.status == ImportJob.Status.RUNNING:
        # A worker died mid-job and the task came back: read the file again from the start.
        # What the committed chunks wrote is found (ImportedItem.last_job is this job) and
        # neither written nor counted twice; the lists of this run are rebuilt.
        job.refused_rows.all().delete()
        job.dangling_refs.all().delete()
        job.dangling = 0
    job.status, job.started_at = ImportJob.Status.RUNNING, job.started_at or timezone.now()
    job.save(update_fields=["status", "started_at"])
    path = Path(settings.VENDORGRAPH_IMPORT_DIR) / job.stored_file
    reader = formats.get(job.format)
    try:
        options = format_options(job.options or {}, name=job.original_name)
        checked = reader.check(path, options)
    except ftm.NotFtM as exc:
        message = str(exc)
        prefix = f"{job.original_name}: "
        return _finish(job, ImportJob.Status.REFUSED, error=message if message.startswith(prefix) else prefix + message)
    total, ids, refused = checked.total, checked.ids, checked.refused
    job.rows_total = total
    RefusedRow.objects.bulk_create([RefusedRow(job=job, line=row.line, field=row.refusal[0][:200],
                                               reason=row.refusal[1]) for row in refused])
    job.rows_refused = job.rows_read = len(refused)
    job.save()
    try:
        _FtmImport(job, path, ids, reader=reader, options=options, notes=checked.notes).run()
    except Exception as exc:  # noqa: BLE001 - recorded on the job; chunks already committed stay
        _finish(job, ImportJob.Status.FAILED, error=f"{type(exc).__name__}: {exc}")
        raise
    return job


def _finish(job: ImportJob, status: str, error: str = "") -> ImportJob:
    job.status, job.error, job.finished_at = status, error, timezone.now()
    job.save()
    return job


class _Cancelled(Exception):
    pass


class _FtmImport:
    def __init__(self, job: ImportJob, path: Path, ids: dict[str, str], *, reader=None, options=None, notes=None):
        self.job, self.path, self.ids = job, path, ids
        self.reader, self.options = reader or formats.get("ftm"), options or {}
        # A mapping may ask that an entity it makes joins one of ours with exactly its name and
        # kind (two lists naming one vendor the same way); otherwise only the dataset's ids join.
        self.join_exact_names = (self.options.get("mapping_data") or {}).get("match") == "exact-name"
        self.user = job.started_by
        self.dataset = job.dataset
        self.chunk = max(1, settings.VENDORGRAPH_IMPORT_CHUNK)
        self.unmapped = ftm.Unmapped()
        for note, count in (notes or {}).items():
            self.unmapped.notes[note] = count
        self.entities: dict[str, Entity] = {}   # ftm id -> our entity (this run)
        self.lines: dict[str, tuple[int, str]] = {}  # ftm id -> (line, raw) of entity rows, for link citations
        self.contracts: dict[str, ftm.Row] = {}
        self.unchanged: set[str] = set()

    # -- the frame: chunks, progress, cancel -------------------------------------------------
    def run(self) -> None:
        job = self.job
        self.source = catalog.dataset_source_create(
            user=self.user, title=f"{job.dataset}: {job.original_name}"[:500], publisher=job.publisher, url=job.url,
            licence=job.licence, stored_file=job.stored_file, sha256=job.file_sha256, retrieved_at=job.created_at)
        job.source = self.source
        job.save(update_fields=["source"])
        try:
            self._pass(lambda row: row.schema in ftm.ENTITY_SCHEMAS or row.schema in ftm.LOOKUP_SCHEMAS,
                       self._entity_row)
            self._pass(lambda row: row.schema not in ftm.ENTITY_SCHEMAS, self._relation_row)
            self._pass(lambda row: row.schema in ftm.ENTITY_SCHEMAS, self._entity_links)
        except _Cancelled:
            _finish(job, ImportJob.Status.CANCELLED)
            return
        with transaction.atomic(), touches_coalesced():
            if getattr(self.reader, "COMPLETE_EXPORT", True):
                self._end_missing()
            match_candidates_propose(job=job)
            trusted = TrustedDataset.objects.filter(dataset=job.dataset).select_related("trusted_by").first()
            if job.publish:
                self._publish(self.user)
            elif trusted is not None and trusted.trusted_by.is_active:
                self._publish(trusted.trusted_by)
            job.unmapped = self.unmapped.as_dict()
            job.rows_read = job.rows_total
            _finish(job, ImportJob.Status.DONE)
        # An import can multiply the catalogue: the planner needs to know (see apps.ops.dbstats).
        planner_statistics_refresh()

    def _pass(self, wanted, handle) -> None:
        batch: list[ftm.Row] = []
        for row in self.reader.parse(self.path, self.options):
            if row.refusal is None and wanted(row):
                batch.append(row)
            if len(batch) >= self.chunk:
                self._chunk(batch, handle)
                batch = []
        if batch:
            self._chunk(batch, handle)

    def _chunk(self, batch: list[ftm.Row], handle) -> None:
        job = self.job
        status = ImportJob.objects.filter(pk=job.pk).values_list("status", flat=True).first()
        if status in (ImportJob.Status.CANCELLING, ImportJob.Status.CANCELLED):
            raise _Cancelled
        with transaction.atomic(), touches_coalesced():
            # The lines just read from this very stored file: the citation check finds them here.
            self.source._line_cache = {row.line: row.raw for row in batch}
            self.source._line_cache.update({line: raw for line, raw in self.lines.values()})
            for row in batch:
                try:
                    with transaction.atomic():
                        if handle(row) is not False:  # False: the row is counted in another pass
                            job.rows_read += 1
                except (ValidationError, PermissionDenied) as exc:
                    self._refuse(row, exc)
                    job.rows_read += 1
            job.unmapped = self.unmapped.as_dict()
            job.save()

    def _refuse(self, row: ftm.Row, exc: Exception) -> None:
        if isinstance(exc, ValidationError) and hasattr(exc, "message_dict"):
            for name, messages in exc.message_dict.items():
                RefusedRow.objects.create(job=self.job, line=row.line, field=("" if name == "__all__" else name)[:200],
                                          reason="; ".join(messages))
        else:
            RefusedRow.objects.create(job=self.job, line=row.line, reason="; ".join(getattr(exc, "messages", [str(exc)])))
        self.job.rows_refused += 1

    def _cite(self, row: ftm.Row) -> dict:
        return {"source": self.source, "quote": row.raw, "locator": f"line {row.line}"}

    def _item(self, external_id: str) -> ImportedItem | None:
        return (ImportedItem.objects.select_related("entity", "record")
                .filter(dataset=self.dataset, external_id=external_id).first())

    def _seen(self, item: ImportedItem, row: ftm.Row | None = None) -> None:
        item.last_job = self.job
        item.ended_at, item.ended_job = None, None
        if row is not None:
            item.line_sha256 = _row_sha(row)
        item.save()

    # -- entities ------------------------------------------------------------------------------
    def _entity_row(self, row: ftm.Row):
        if row.schema in ftm.LOOKUP_SCHEMAS:
            self.contracts[row.id] = row
            return False  # read again (and counted) in the relations pass
        kind = ftm.ENTITY_SCHEMAS[row.schema]
        if row.attributes.get("entity_kind") == EntityKind.COUNTRY:  # a BODS `state`
            kind = EntityKind.COUNTRY
        names = list(dict.fromkeys(v.strip() for p in ftm.NAME_PROPS for v in row.props.get(p, []) if v.strip()))
        caption = (row.data.get("caption") or "").strip()
        name = caption if caption in names else (names[0] if names else caption or row.id)
        countries = [ftm.country_code(v) for v in row.props.get("country", []) + row.props.get("jurisdiction", [])]
        country = next((c for c in countries if c), "")
        identifiers: dict = {"ftm_id": row.id}
        if row.data.get("referents"):
            identifiers["ftm_referents"] = list(row.data["referents"])
        facts: list[tuple[str, str]] = []
        for prop, values in row.props.items():
            if prop in ftm.NAME_PROPS or ftm.is_entity_ref(row.schema, prop):
                continue  # names become aliases; references are linked in the last pass
            if ftm.is_identifier(row.schema, prop):
                identifiers[prop] = values[0] if len(values) == 1 else list(values)
                self.unmapped.count("identifiers", prop)
                continue
            kept = [v for v in values if not (prop in ("country", "jurisdiction") and country
                                               and ftm.country_code(v) == country)]
            facts.extend((prop, value) for value in kept)
            if kept:
                self.unmapped.count("facts", prop)
        if row.schema == "Address":
            self.lines[row.id] = (row.line, row.raw)
        item = self._item(row.id)
        cite = self._cite(row)
        if item is None or item.entity is None:
            entity, how = self._strong_match(row, kind, identifiers)
            if entity is None and kind == EntityKind.COUNTRY:  # a BODS `state`: the country we have
                iso = row.attributes.get("iso_code", "")
                entity = Entity.objects.filter(kind=EntityKind.COUNTRY, iso_code=iso).first()
                how = "iso_code" if entity is not None else ""
            if entity is None and self.join_exact_names:
                entity = self._exact(kind=kind, name=name)
                how = "exact name (the mapping's match: exact-name)" if entity is not None else ""
            if entity is None:
                how = ""
                extra = {"iso_code": row.attributes.get("iso_code", "")} if kind == EntityKind.COUNTRY else {}
                entity = catalog.entity_create(user=self.user, kind=kind, name=name[:500], country=country,
                                               identifiers=identifiers, **extra)
                catalog.citation_create(user=self.user, target=entity, **cite)
                self.job.entities_created += 1
            else:
                # Joined to an entity we already have: its own name, country and identifiers
                # stay; this row's names and facts are added (as drafts) citing the line.
                self.unmapped.count("matched", how)
                self.job.entities_changed += 1
            item = ImportedItem(dataset=self.dataset, external_id=row.id[:300], schema=row.schema, entity=entity,
                                first_job=self.job, owns_entity=not how)
            self._seen(item, row)
            for referent in row.data.get("referents") or []:
                # A publisher that re-keys this item later lands on the same entity.
                ImportedItem.objects.get_or_create(dataset=self.dataset, external_id=str(referent)[:300], defaults={
                    "schema": REFERENT, "entity": entity, "first_job": self.job, "last_job": self.job,
                    "line_sha256": ""})
            changed = True
        else:
            entity = item.entity
            self.entities[row.id] = entity
            if item.line_sha256 == _row_sha(row):
                if item.last_job_id != self.job.pk:  # else: written by this job before a restart
                    self.unchanged.add(row.id)
                    self.job.entities_unchanged += 1
                self._seen(item)
                return None
            wanted = {"name": name[:500], "country": country, "identifiers": identifiers}
            changes = {k: v for k, v in wanted.items() if getattr(entity, k) != v}
            if not item.owns_entity:
                changes = {}  # joined to an entity of ours: its own name and ids stay; rows add names and facts
            if changes:
                catalog.entity_update(user=self.user, entity=entity, **changes)
            changed = bool(changes)
            self._seen(item, row)
        self.entities[row.id] = entity
        added = catalog.entity_claims_bulk_create(user=self.user, entity=entity, names=names, facts=facts,
                                                  citations=[cite])
        changed = any(added) or changed
        if item.first_job_id != self.job.pk:
            if changed:
                catalog.citation_create(user=self.user, target=entity, **cite)
                self.job.entities_changed += 1
            else:
                self.job.entities_unchanged += 1
        return None

    def _strong_match(self, row: ftm.Row, kind: str, identifiers: dict) -> tuple[Entity | None, str]:
        """An entity we already have that this row names by a strong id: its FtM id or a
        referent (imported from any dataset), or an LEI or Wikidata id. Same kind only;
        nothing joins on a name alone."""
        keys = [row.id, *[str(r) for r in row.data.get("referents") or []]]
        item = (ImportedItem.objects.filter(external_id__in=keys, entity__kind=kind)
                .exclude(entity=None).select_related("entity").order_by("pk").first())
        if item is not None:
            if item.dataset == self.dataset:
                self._seen(item)  # re-keyed by its publisher: the old id is still listed, under the new one
            return item.entity, "FtM id or referent"
        for key in STRONG_IDS:
            value = identifiers.get(key)
            if isinstance(value, str) and value:
                entity = Entity.objects.filter(kind=kind).filter(**{f"identifiers__{key}": value}).first()
                if entity is not None:
                    return entity, key
        return None, ""

    def _facts(self, entity: Entity, facts: list[tuple[str, str]], cites: list[dict]) -> bool:
        return any(catalog.entity_claims_bulk_create(user=self.user, entity=entity, names=[], facts=facts,
                                                     citations=cites))

    def _entity_links(self, row: ftm.Row):
        """References of an entity row (e.g. addressEntity -> a site) become facts naming
        what they point to; one that points outside the file and every earlier import is
        reported as dangling and kept as the bare id."""
        entity = self.entities.get(row.id)
        for prop, values in row.props.items():
            if not ftm.is_entity_ref(row.schema, prop):
                continue
            for ref in values:
                target = self._resolve(ref)
                if target is None and ref not in self.ids:
                    DanglingReference.objects.create(job=self.job, line=row.line, field=prop[:200], ref=ref[:300])
                    self.job.dangling += 1
                if entity is None or row.id in self.unchanged:
                    continue
                cites = [self._cite(row)]
                if target is not None:
                    if ref in self.lines:
                        line, raw = self.lines[ref]
                        cites.append({"source": self.source, "quote": raw, "locator": f"line {line}"})
                    self._facts(entity, [(prop, target.name)], cites)
                else:
                    self._facts(entity, [(f"{prop} (unresolved)", ref)], cites)
        return False

    def _exact(self, *, kind: str, name: str) -> Entity | None:
        """The one entity of ours of this kind with exactly this name (or alias), if only one."""
        hits = [h for h in entity_search(q=name, kind=kind, include_unpublished=True, limit=3) if h.score >= 100.5]
        if len(hits) != 1:
            return None
        return Entity.objects.filter(pk=hits[0].entity_id).first()

    def _resolve(self, ref: str) -> Entity | None:
        if ref in self.entities:
            return self.entities[ref]
        item = self._item(ref)
        if item is not None and item.entity is not None:
            self.entities[ref] = item.entity
            return item.entity
        return None

    # -- relationships -------------------------------------------------------------------------
    def _relation_row(self, row: ftm.Row):
        if row.schema not in ftm.RECORD_SCHEMAS:
            return self._unmapped_row(row)
        kind, subject_prop, object_prop = ftm.RECORD_SCHEMAS[row.schema]
        used = {object_prop, "proof"}
        if subject_prop:
            used.add(subject_prop)
        subject = obj = None
        if row.schema == "Sanction":
            subject = self._authority(row)
            used |= {"authority", "country"}
        elif row.schema == "ContractAward":
            contract = self.contracts.get(row.first("contract"))
            buyer = contract.first("authority") if contract else ""
            if not buyer:
                raise ValidationError({"contract": "The award's contract (with its buying authority) is not in the file."})
            subject = self._end(row, "contract", buyer)
            used.add("contract")
        else:
            subject = self._end(row, subject_prop, row.first(subject_prop))
        if row.schema == "Payment" and row.props.get("contract"):
            kind = RecordKind.CONTRACT
        obj = self._end(row, object_prop, row.first(object_prop))
        fields = {"kind": kind, "subject": subject, "object": obj}
        fields.update(self._record_values(row, used))
        item = self._item(row.id)
        cite = self._cite(row)
        if item is None or item.record is None:
            record = catalog.record_create(user=self.user, citations=[cite], **fields)
            item = ImportedItem(dataset=self.dataset, external_id=row.id[:300], schema=row.schema, record=record,
                                first_job=self.job)
            self._seen(item, row)
            self.job.records_created += 1
            return None
        record = item.record
        if item.line_sha256 == _row_sha(row):
            if item.last_job_id != self.job.pk:  # else: written by this job before a restart
                self.job.records_unchanged += 1
            self._seen(item)
            return None
        attributes = {**fields["attributes"]}
        if (record.attributes or {}).get("no_longer_listed"):
            attributes.pop("no_longer_listed", None)
        fields["attributes"] = attributes
        changes = {k: v for k, v in fields.items() if k != "kind" and _differs(getattr(record, k), v)}
        if changes:
            catalog.record_update(user=self.user, record=record, **changes)
            catalog.citation_create(user=self.user, target=record, **cite)
            self.job.records_changed += 1
        else:
            self.job.records_unchanged += 1
        self._seen(item, row)
        return None

    def _end(self, row: ftm.Row, prop: str, ref: str) -> Entity:
        if not ref:
            raise ValidationError({prop: f"A {row.schema} needs its {prop}."})
        entity = self._resolve(ref)
        if entity is not None:
            return entity
        if ref in self.ids:
            raise ValidationError({prop: f"{ref} is in the file but was not imported (see its own line)."})
        DanglingReference.objects.create(job=self.job, line=row.line, field=prop[:200], ref=ref[:300])
        self.job.dangling += 1
        raise ValidationError({prop: f"{ref} is neither in this file nor imported before: left unresolved."})

    def _authority(self, row: ftm.Row) -> Entity:
        """A sanction's authority is a name (with the sanction's country), not a reference:
        one public body per (country, name) in the dataset, citing the first line naming it."""
        name = row.first("authority").strip()
        country = ftm.country_code(row.first("country"))
        if name:
            key = f"{DERIVED}authority:{country}:{normalize_name(name)}"[:300]
            fields = {"kind": EntityKind.PUBLIC_BODY, "name": name[:500], "country": country}
        elif country:
            existing = Entity.objects.filter(kind=EntityKind.COUNTRY, iso_code=country).first()
            if existing is not None:
                return existing
            key = f"{DERIVED}country:{country}"
            fields = {"kind": EntityKind.COUNTRY, "name": country_name(country), "iso_code": country}
        else:
            raise ValidationError({"authority": "A sanction needs its authority or its country."})
        if key in self.entities:
            return self.entities[key]
        item = self._item(key)
        joined = self._exact(kind=fields["kind"], name=fields["name"]) if self.join_exact_names else None
        if joined is not None and (item is None or item.entity is None):
            item = ImportedItem(dataset=self.dataset, external_id=key, schema=DERIVED, entity=joined,
                                first_job=self.job, owns_entity=False)
            self._seen(item, row)
        elif item is None or item.entity is None:
            entity = catalog.entity_create(user=self.user, **fields)
            catalog.citation_create(user=self.user, target=entity, **self._cite(row))
            item = ImportedItem(dataset=self.dataset, external_id=key, schema=DERIVED, entity=entity,
                                first_job=self.job)
            self._seen(item, row)
            self.job.entities_created += 1
        else:
            self._seen(item)  # named by this export too (and published with its batch)
        self.entities[key] = item.entity
        return item.entity

    def _record_values(self, row: ftm.Row, used: set[str]) -> dict:
        values = {"title": "", "description": "", "start": "", "end": "", "amount": None, "currency": "",
                  "share_pct": None, "attributes": {}}
        attributes = values["attributes"]
        for prop, items in row.props.items():
            if prop in used:
                continue
            column = ftm.RECORD_COLUMNS.get(prop)
            first = items[0] if items else ""
            kept = False
            if column in ("start", "end") and not values[column] and ftm.partial_date(first):
                values[column] = ftm.partial_date(first)
                kept = len(items) == 1 and values[column] == first
            elif column == "share_pct" and values["share_pct"] is None:
                share = ftm.decimal(first)
                if share is not None and 0 <= share <= 100:
                    values["share_pct"], kept = share, len(items) == 1
            elif column == "amount" and values["amount"] is None:
                amount = ftm.decimal(first)
                if amount is not None and amount >= 0:
                    values["amount"], kept = amount, len(items) == 1
            elif column == "currency" and not values["currency"] and ftm.currency(first):
                values["currency"], kept = ftm.currency(first), len(items) == 1
            elif column == "description" and not values["description"]:
                values["description"], kept = "\n".join(items), True
            if not kept:
                attributes[prop] = items[0] if len(items) == 1 else list(items)
                self.unmapped.count("attributes", f"{row.schema}.{prop}")
        if values["amount"] is None and values["currency"]:
            attributes.setdefault("currency", values["currency"])
            values["currency"] = ""
        if values["amount"] is not None and not values["currency"]:
            attributes["amount"] = str(values["amount"])
            values["amount"] = None
        if row.schema == "ContractAward" or (row.schema == "Payment" and row.props.get("contract")):
            attributes["ftm_schema"] = row.schema
        if values["share_pct"] is not None and row.schema not in ("Ownership", "Control"):
            attributes["percentage"] = str(values["share_pct"])
            values["share_pct"] = None
        if row.schema == "Control":
            attributes["control"] = True
        attributes.update(row.attributes)
        title = (row.first("program") or row.first("role") or row.first("title") or row.data.get("caption") or "")
        values["title"] = title.strip()[:300]
        return values

    def _unmapped_row(self, row: ftm.Row):
        """A row of a schema without a noun of ours (Family, Passport, a Contract, ...): kept as
        a fact on each entity it names that we have, and listed in the summary."""
        self.unmapped.count("schemas", row.schema)
        item = self._item(row.id)
        if item is not None and item.line_sha256 == _row_sha(row):
            self._seen(item)
            return None
        parts, targets = [], []
        for prop, values in row.props.items():
            rendered = []
            for value in values:
                if ftm.is_entity_ref(row.schema, prop):
                    target = self._resolve(value)
                    if target is not None:
                        targets.append(target)
                        rendered.append(f"{target.name} [{value}]")
                        continue
                    if value not in self.ids:
                        DanglingReference.objects.create(job=self.job, line=row.line, field=prop[:200], ref=value[:300])
                        self.job.dangling += 1
                rendered.append(value)
            parts.append(f"{prop}: {', '.join(rendered)}")
        text = f"{row.data.get('caption') or row.schema} ({'; '.join(parts)})"
        field = row.attributes.get("fact_field") or row.schema  # a format may name the fact (BODS)
        text = row.attributes.get("fact_text") or text
        for target in dict.fromkeys(targets):
            self._facts(target, [(field, text)], [self._cite(row)])
        if item is None:
            item = ImportedItem(dataset=self.dataset, external_id=row.id[:300], schema=row.schema, first_job=self.job)
        self._seen(item, row)
        return None

    # -- after the passes ----------------------------------------------------------------------
    def _end_missing(self) -> None:
        """Items of this dataset that this (complete) export no longer lists get an end note,
        never a delete. Rows refused this time still count as listed."""
        stale = (ImportedItem.objects.filter(dataset=self.dataset, ended_at__isnull=True)
                 .exclude(last_job=self.job).exclude(schema__startswith=DERIVED)
                 .select_related("record", "entity"))
        since = timezone.now().date().isoformat()
        for item in stale.iterator():
            if item.external_id in self.ids:  # in the file (a row refused this time is still listed)
                continue
            if item.record is not None:
                record = item.record
                attributes = {**(record.attributes or {}),
                              "no_longer_listed": {"dataset": self.dataset, "since": since}}
                catalog.record_update(user=self.user, record=record, attributes=attributes)
                self.job.records_ended += 1
            elif item.entity is not None:
                self.job.entities_ended += 1
            item.ended_at, item.ended_job = timezone.now(), self.job
            item.save(update_fields=["ended_at", "ended_job"])

    def _publish(self, user) -> None:
        refused = _publish_job(user=user, job=self.job)
        if refused:
            self.unmapped.count("schemas", f"not published ({refused})")


def import_job_publish(*, user, job: ImportJob) -> int:
    """A reviewer publishes a finished job's batch (what its items became), under the usual
    rules. Returns how many items the rules kept as drafts (e.g. a record whose entity is not
    published)."""
    if not user.has_perm("catalog.publish_record"):
        raise PermissionDenied("Only reviewers and admins may publish an import.")
    if job.status != ImportJob.Status.DONE:
        raise ValidationError({"job": "Only a finished import can be published."})
    with transaction.atomic(), touches_coalesced():
        return _publish_job(user=user, job=job)


def dataset_trust(*, user, dataset: str, trusted: bool = True, note: str = "") -> TrustedDataset | None:
    """A reviewer marks a dataset trusted: its later imports publish what they import, as
    this reviewer, under the usual rules (or takes the mark back)."""
    if not user.has_perm("catalog.publish_record"):
        raise PermissionDenied("Only reviewers and admins may trust a dataset.")
    if not trusted:
        TrustedDataset.objects.filter(dataset=dataset).delete()
        return None
    mark, _ = TrustedDataset.objects.update_or_create(dataset=dataset, defaults={"trusted_by": user, "note": note})
    return mark


def _publish_job(*, user, job: ImportJob) -> int:
    """Publish what `job` wrote: its entities, their names and the facts citing its file,
    then its records (whose entities are then public). What the rules refuse stays a draft."""
    from apps.catalog.models import Alias

    refused = 0
    items = ImportedItem.objects.filter(dataset=job.dataset, last_job=job)
    entity_ids = items.exclude(entity=None).values_list("entity_id", flat=True)
    cited = Citation.objects.filter(source_id=job.source_id)
    for obj in Entity.objects.filter(pk__in=entity_ids, workflow=Workflow.DRAFT):
        refused += _try_publish(user, obj)
    for obj in Alias.objects.filter(entity_id__in=entity_ids, workflow=Workflow.DRAFT):
        refused += _try_publish(user, obj)
    for obj in Fact.objects.filter(pk__in=cited.exclude(fact=None).values("fact_id"), workflow=Workflow.DRAFT):
        refused += _try_publish(user, obj)
    record_ids = items.exclude(record=None).values_list("record_id", flat=True)
    for obj in Record.objects.filter(pk__in=record_ids, workflow=Workflow.DRAFT):
        refused += _try_publish(user, obj)
    return refused


def _try_publish(user, obj) -> int:
    try:
        with transaction.atomic():
            catalog.workflow_transition(user=user, obj=obj, to=Workflow.PUBLISHED, reason="trusted import")
        return 0
    except (ValidationError, PermissionDenied):
        return 1


def _differs(current, wanted) -> bool:
    if hasattr(current, "pk") or hasattr(wanted, "pk"):
        return getattr(current, "pk", None) != getattr(wanted, "pk", None)
    if current is None or wanted is None:
        return current != wanted
    return str(current) != str(wanted) if not isinstance(wanted, dict) else current != wanted


def _row_sha(row: ftm.Row) -> str:
    """What "this row is unchanged" compares: the line; for a format whose rows are built from
    a document (OCDS, BODS: the cited line holds one value), also what was built from it."""
    if not row.attributes:
        return _sha(row.raw)
    return _sha(row.raw + "\x1f" + json.dumps([row.data, row.attributes], sort_keys=True, default=str))


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- matching imported entities to ours -----------------------------------------------------

MATCH_THRESHOLD = 85.0
MATCH_CANDIDATES = 5


def match_candidates_propose(*, job: ImportJob) -> int:
    """For each entity this job created, the entities we already had that the one entity
    search finds by its name (same kind; the same country where both have one), scored by
    that search. Pairs already judged (here or on the duplicates page) are not proposed
    again. Returns how many were proposed."""
    from apps.catalog.selectors.search import entity_search
    from apps.curation.models import MergeDecision

    created = Entity.objects.filter(pk__in=ImportedItem.objects.filter(first_job=job, last_job=job)
                                    .exclude(entity=None).values("entity_id"))
    # Entities of this same job are not offered to each other: the file's own ids keep them apart.
    own = set(ImportedItem.objects.filter(first_job=job).exclude(entity=None).values_list("entity_id", flat=True))
    proposed = 0
    for entity in created.iterator():
        if entity.kind in (EntityKind.COUNTRY,):
            continue
        hits = [h for h in entity_search(q=entity.name, kind=entity.kind, include_unpublished=True,
                                         limit=MATCH_CANDIDATES * 4)
                if h.entity_id not in own and h.score >= MATCH_THRESHOLD][:MATCH_CANDIDATES * 2]
        others = Entity.objects.in_bulk([h.entity_id for h in hits])
        for hit in hits:
            other = others.get(hit.entity_id)
            if other is None or (entity.country and other.country and entity.country != other.country):
                continue
            a, b = sorted([str(entity.uuid), str(other.uuid)])
            if MergeDecision.objects.filter(entity_a=a, entity_b=b).exists():
                continue
            _, made = MatchCandidate.objects.get_or_create(entity=entity, candidate=other,
                                                           defaults={"job": job, "score": round(hit.score, 1)})
            proposed += made
    return proposed


def match_decide(*, user, match: MatchCandidate, verdict: str, note: str = "") -> MatchCandidate:
    """A curator's judgement on a proposed pair, recorded (who, when, score, note):
    "same" merges the imported entity into ours through the merge service (admins), and the
    dataset's items follow it so later imports update ours; "different" records the pair
    as not the same (admins), so it is never proposed again; "unsure" sets it aside."""
    from apps.curation.models import MergeDecision
    from apps.curation.services import merge_decision_record

    if verdict not in MatchCandidate.Status.values or verdict == MatchCandidate.Status.PENDING:
        raise ValidationError({"verdict": "Decide same, different or unsure."})
    roles.require(user, "catalog.change_entity", "Only curators may judge matches.")
    with transaction.atomic():
        if verdict == MatchCandidate.Status.SAME:
            if not roles.can_merge(user):
                raise PermissionDenied("Only admins may merge entities.")
            imported, ours = match.entity, match.candidate
            ImportedItem.objects.filter(entity=imported).update(entity=ours, owns_entity=False)
            score = f"match score {match.score:.0f}" + (f"; {note}" if note else "")
            catalog.entity_merge(user=user, keep=ours, merge=imported, note=score)
            # The merge deleted the imported entity and with it this row; the judgement is the
            # MergeDecision the merge recorded (who, when, the score in its note).
            match.status, match.note, match.decided_by, match.decided_at = verdict, note, user, timezone.now()
            return match
        if verdict == MatchCandidate.Status.DIFFERENT:
            merge_decision_record(user=user, a=match.entity, b=match.candidate,
                                  verdict=MergeDecision.Verdict.DIFFERENT,
                                  note=f"match score {match.score:.0f}" + (f"; {note}" if note else ""))
        match.status, match.note, match.decided_by, match.decided_at = verdict, note, user, timezone.now()
        match.save()
    return match
