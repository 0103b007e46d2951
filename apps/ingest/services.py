"""Import jobs: store the raw file, then read it and write what it says through the
catalogue's services (apps.catalog.services), chunk by chunk.

- The raw file is kept unchanged under settings.VENDORGRAPH_IMPORT_DIR, named by its
  SHA-256, and registered as a Source of type dataset; every entity, name, fact and record
  written cites it with the exact original line as the quote and "line N" as the locator
  (JSON formats: "line N · JSON pointer · release id"); the citation check re-reads the
  stored file there.
- Writes go through the catalogue's services (roles, validation, history, outbox), one
  database transaction per chunk of VENDORGRAPH_IMPORT_CHUNK rows: new and unchanged items
  through the bulk services (entities_bulk_create, records_bulk_create: one insert per
  table and chunk, the same rules), the rest one by one; a row that the catalogue refuses
  is left out alone (a savepoint on the one-row path) and reported with its line and field.
- Idempotent: items are matched by the dataset's own id (ImportedItem); a row whose line is
  unchanged, or whose mapped values are, writes nothing. Items of the dataset missing from
  a complete newer export get "no longer listed since" (never a delete).
"""
from __future__ import annotations

import datetime as dt
import gc
import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from apps.catalog import services as catalog
from apps.catalog.models import Citation, Entity, Fact, Record, country_name
from apps.catalog.selectors.search import entity_search
from apps.catalog.text import normalize_name
from apps.catalog.vocab import EntityKind, RecordKind, Workflow
from apps.curation import roles
from apps.ingest import formats, ftm
from apps.ingest.models import (DanglingReference, ImportedItem, ImportJob, MappingJoin, MatchCandidate, RefusedRow,
                                TrustedDataset)
from apps.ops.dbstats import planner_statistics_refresh
from apps.sync.bulk import id_slices, rows_insert, write_behind
from apps.sync.models import touches_coalesced

log = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b"
# ImportedItem schemas of entities the rows name without an id of their own (a sanction's
# authority, a country): they are shared by rows, so they are never "no longer listed".
DERIVED = "~"
ITEM_COLUMNS = ["dataset", "external_id", "schema", "entity_id", "record_id", "first_job_id", "last_job_id",
                "line_sha256", "owns_entity"]  # a new ImportedItem's row, for the bulk path
REFERENT = "~referent"  # another id of an item (FtM `referents`), pointing at the same entity
JOINED_BY_MAPPING = "exact name (the mapping's match: exact-name)"
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
    (status refused, nothing written) when it is not FtM at all.

    A job another worker is running (its heartbeat is fresh) is left alone: the task may be
    delivered twice (a broker's redelivery, import_jobs_resume). A job whose worker died
    resumes after its last committed chunk (ImportJob.checkpoint)."""
    job.refresh_from_db()
    resumed = job.status == ImportJob.Status.RUNNING
    if not _job_claim(job):
        return job
    if resumed and not job.checkpoint:
        # A worker died before its first chunk was committed: start again from the top.
        job.refused_rows.all().delete()
        job.dangling_refs.all().delete()
        job.dangling = 0
    elif resumed:
        log.warning("import job %s resumes after pass %s, row %s", job.pk, job.checkpoint.get("pass"),
                    job.checkpoint.get("rows"))
    job.status, job.started_at = ImportJob.Status.RUNNING, job.started_at or timezone.now()
    job.save(update_fields=["status", "started_at"])
    with _Heartbeat(job):
        return _job_run(job)


def _job_claim(job: ImportJob) -> bool:
    """Take the job for this worker: queued, or running with a heartbeat older than the lease
    (its worker died). One UPDATE, so two deliveries of the task cannot both take it."""
    now = timezone.now()
    stale = now - dt.timedelta(seconds=settings.IMPORT_JOB_LEASE_SECONDS)
    free = (Q(status=ImportJob.Status.QUEUED)
            | Q(status=ImportJob.Status.RUNNING) & (Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=stale)))
    if not ImportJob.objects.filter(pk=job.pk).filter(free).update(status=ImportJob.Status.RUNNING, heartbeat_at=now):
        job.refresh_from_db()
        return False
    job.status, job.heartbeat_at = ImportJob.Status.RUNNING, now
    return True


class _Heartbeat:
    """Renews the job's heartbeat from a thread of its own while the job runs, so a long
    stage without chunks (checking a big file, the final pass) does not look like a dead
    worker. Chunks renew it too, in their own transaction. A heartbeat that cannot be
    written (SQLite busy with the final pass) is skipped: the next one comes soon."""

    def __init__(self, job: ImportJob):
        self.job_id = job.pk
        self.every = max(1.0, settings.IMPORT_JOB_LEASE_SECONDS / 4)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"import-job-{job.pk}-heartbeat", daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.thread.join(timeout=60)

    def _beat(self):
        try:
            # Wait at most a second for a lock: the job's own transaction may hold it.
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA busy_timeout = 1000" if connection.vendor == "sqlite"
                               else "SET lock_timeout = 1000")
            while not self.stopped.wait(self.every):
                try:
                    ImportJob.objects.filter(pk=self.job_id, status__in=[ImportJob.Status.RUNNING,
                                                                         ImportJob.Status.CANCELLING]
                                             ).update(heartbeat_at=timezone.now())
                except Exception as exc:  # noqa: BLE001 - a missed beat only shortens the lease
                    log.info("import job %s: heartbeat not written: %s", self.job_id, exc)
        finally:
            connection.close()


def import_jobs_resume() -> list[int]:
    """Queue again every running job whose worker died (no heartbeat for longer than
    IMPORT_JOB_LEASE_SECONDS): a killed worker never acknowledges the task, but the broker
    would give it back only after its visibility timeout. A job left cancelling by a dead
    worker is cancelled. Returns the ids queued. The beat runs this every
    IMPORT_JOB_RESUME_SECONDS."""
    from apps.ingest.tasks import import_job_run_task

    stale = timezone.now() - dt.timedelta(seconds=settings.IMPORT_JOB_LEASE_SECONDS)
    dead = Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=stale)
    ImportJob.objects.filter(dead, status=ImportJob.Status.CANCELLING).update(
        status=ImportJob.Status.CANCELLED, finished_at=timezone.now())
    queued = []
    for pk in ImportJob.objects.filter(dead, status=ImportJob.Status.RUNNING).values_list("pk", flat=True):
        import_job_run_task.apply_async(args=[pk], retry=False)
        queued.append(pk)
        log.warning("import job %s lost its worker: queued again (it resumes after its last chunk)", pk)
    return queued


def _job_run(job: ImportJob) -> ImportJob:
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
    if not job.checkpoint:  # else: resumed, and these were written (and counted) by the first run
        RefusedRow.objects.bulk_create([RefusedRow(job=job, line=row.line, field=row.refusal[0][:200],
                                                   reason=row.refusal[1]) for row in refused])
        job.rows_refused = job.rows_read = len(refused)
    job.save()
    try:
        with _import_connection(), write_behind():
            _FtmImport(job, path, ids, reader=reader, options=options, notes=checked.notes).run()
    except Exception as exc:  # noqa: BLE001 - recorded on the job; chunks already committed stay
        _finish(job, ImportJob.Status.FAILED, error=f"{type(exc).__name__}: {exc}")
        raise
    return job


class _import_connection:
    """While a job runs: on SQLite a larger page cache for its connection (the default 2 MB
    makes every index of a table of millions of rows miss the cache at each insert; only
    memory: durability stays as configured, WAL and synchronous=NORMAL) and its checkpoints
    on a thread of their own, and a calmer garbage collector. `committed()` after each chunk."""

    PAGES_KIB = 128 * 1024
    # A chunk writes thousands of pages to the WAL; at SQLite's default (a checkpoint once
    # the WAL holds 1,000 pages) every commit also copied them into the database file and
    # synced it, the same index pages again chunk after chunk, on the importing thread. Now
    # a thread of its own checkpoints after each chunk (_WalCheckpointer), and the importer
    # itself only should the WAL reach BEHIND times 10,000 pages (~160 MB); without that
    # thread (a database not in WAL mode) every 10,000 pages. Commits are as durable as
    # before (WAL, synchronous=NORMAL: a commit is in the WAL; a checkpoint only moves it
    # into the main file).
    CHECKPOINT_PAGES = 10_000
    GC_YOUNG = 1_000_000
    current = None  # the one of the running job (a worker runs one job at a time)

    def __enter__(self):
        self.before = None
        # The job allocates millions of short-lived objects while the process holds a large
        # heap (Django, the FtM model, the id maps): the collector's default thresholds
        # scan that heap again and again. What exists now is frozen (never garbage), and
        # the young generation is collected less often while the job runs. Its threshold
        # counts objects made minus objects freed: a chunk holds a few hundred thousand at
        # once and frees them at its end, so at 50,000 the collector ran ~260 times in a
        # million-object import, scanning each chunk's live rows (11 s of ~190); at GC_YOUNG
        # twice. Garbage in cycles (rare here: rows are freed by their reference counts)
        # still counts towards it, so it is still collected (a million objects at most).
        self.gc = gc.get_threshold()
        gc.freeze()
        gc.set_threshold(self.GC_YOUNG, 50, 1000)
        self.checkpointer = None
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                self.before = cursor.execute("PRAGMA cache_size").fetchone()[0]
                self.checkpoint = cursor.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
                cursor.execute(f"PRAGMA cache_size = -{self.PAGES_KIB}")
                if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":  # a file, not in memory
                    cursor.execute(f"PRAGMA wal_autocheckpoint = {self.CHECKPOINT_PAGES * _WalCheckpointer.BEHIND}")
                    self.checkpointer = _WalCheckpointer(connection.settings_dict["NAME"]).start()
                else:
                    cursor.execute(f"PRAGMA wal_autocheckpoint = {self.CHECKPOINT_PAGES}")
        _import_connection.current = self
        return self

    def committed(self) -> None:
        """A chunk committed: the moment to move the WAL's pages into the database."""
        if self.checkpointer is not None:
            self.checkpointer.nudge()

    def __exit__(self, *exc):
        _import_connection.current = None
        gc.set_threshold(*self.gc)
        gc.unfreeze()
        if self.checkpointer is not None:
            self.checkpointer.stop()
        if self.before is not None and connection.connection is not None:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA cache_size = {int(self.before)}")
                cursor.execute(f"PRAGMA wal_autocheckpoint = {int(self.checkpoint)}")


class _WalCheckpointer:
    """SQLite: the import's WAL checkpoints on a thread (and connection) of their own.

    In WAL mode a commit appends the chunk's pages to the WAL; a checkpoint copies them into
    the database file. Run by the committing connection (wal_autocheckpoint) it took ~9 % of a
    million-object import's time on the importing thread. Here the importing thread only
    nudges after each chunk's commit; this thread then checkpoints (PASSIVE: it never waits
    for, nor blocks, the writer or readers) while the importer goes on with the next chunk;
    the sqlite3 module releases the GIL while SQLite works. A WAL starts over from its
    beginning only when a write begins after a complete checkpoint; should this thread fall
    behind, the importer's own autocheckpoint (at BEHIND times its usual size) bounds the WAL.
    Durability is unchanged: a commit is in the WAL either way.

    Only through SQLite: a file descriptor of the process closed on the database's files
    drops every lock SQLite holds on them (POSIX locks), and another process would then
    take the WAL index for its own and truncate it under this one (a crash: SIGBUS)."""

    BEHIND = 4

    def __init__(self, path: str):
        self.path = str(path)
        self.wanted = threading.Event()
        self.stopped = False
        self.checkpoints = 0
        self.thread = threading.Thread(target=self._run, name="import-wal-checkpoint", daemon=True)

    def start(self):
        self.thread.start()
        return self

    def nudge(self) -> None:
        self.wanted.set()

    def stop(self) -> None:
        self.stopped = True
        self.wanted.set()
        self.thread.join(timeout=120)

    def _run(self) -> None:
        import sqlite3

        db = None
        try:
            db = sqlite3.connect(self.path, timeout=0, isolation_level=None, check_same_thread=False)
            while not self.stopped:
                self.wanted.wait()
                self.wanted.clear()
                if self.stopped:
                    return
                try:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                except sqlite3.Error as exc:  # busy (another checkpoint runs): the next nudge tries again
                    log.debug("import WAL checkpoint skipped: %s", exc)
        except Exception:  # noqa: BLE001 - the importer's own autocheckpoint still bounds the WAL
            log.exception("import WAL checkpointer stopped")
        finally:
            if db is not None:
                db.close()


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
        if job.checkpoint:  # resumed: what the committed chunks counted
            for bucket, counts in (job.unmapped or {}).items():
                getattr(self.unmapped, bucket, {}).update(counts)
        for note, count in (notes or {}).items():
            self.unmapped.notes[note] = count
        # ftm id -> the pk of our entity (this run): ints, never Entity objects, so a file of
        # millions of rows keeps a small map; rows needing the entity itself load it.
        self.entities: dict[str, int] = {}
        self.refused: list[RefusedRow] = []  # this chunk's, written with it
        self.links = False  # whether an entity row points at another (addressEntity, ...)
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
        started, cpu = time.perf_counter(), time.process_time()
        try:
            self._pass(0, lambda row: row.schema in ftm.ENTITY_SCHEMAS or row.schema in ftm.LOOKUP_SCHEMAS,
                       self._entity_row, keep=_schemas_in(ftm.ENTITY_SCHEMAS, ftm.LOOKUP_SCHEMAS))
            self._pass(1, lambda row: row.schema not in ftm.ENTITY_SCHEMAS, self._relation_row,
                       keep=lambda schema: isinstance(schema, str) and schema not in ftm.ENTITY_SCHEMAS)
            if self.links:  # a third reading only when an entity row points at another
                self._pass(2, self._links_wanted, self._entity_links, keep=_schemas_in(ftm.ENTITY_SCHEMAS))
        except _Cancelled:
            _finish(job, ImportJob.Status.CANCELLED)
            return
        # Read by ingest_bench: the store phase's wall time and this process's CPU time in it.
        self.job.phase_seconds = {"store": time.perf_counter() - started, "store_cpu": time.process_time() - cpu}
        # Outside the final transaction: one search per created entity takes long at scale, and
        # on SQLite a transaction that long would hold the write lock, so the outbox could not be
        # delivered meanwhile. Proposing again after a crash proposes nothing twice.
        if settings.VENDORGRAPH_IMPORT_MATCHES:
            started, cpu = time.perf_counter(), time.process_time()
            proposed = match_candidates_propose(job=job)
            self.job.phase_seconds.update(matches=time.perf_counter() - started, matches_cpu=time.process_time() - cpu,
                                          proposed=proposed)
        with transaction.atomic(), touches_coalesced():
            if getattr(self.reader, "COMPLETE_EXPORT", True):
                self._end_missing()
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

    def _links_wanted(self, row: ftm.Row) -> bool:
        return row.schema in ftm.ENTITY_SCHEMAS and any(ftm.is_entity_ref(row.schema, prop) for prop in row.props)

    def _pass(self, index: int, wanted, handle, keep=None) -> None:
        """Pass `index` over the file: `handle` each row it wants, chunk by chunk. After a
        crash the rows before the job's checkpoint are only read (not written again);
        what the first pass keeps in memory for the later ones is rebuilt from them.
        `keep`: the schemas (a test of the name) the pass wants, for a format that can skip
        the others unvalidated (FtM lines: the check stage validated every line already)."""
        done = self.job.checkpoint or {}
        skip = (float("inf") if done.get("pass", -1) > index else done.get("rows", 0) if done.get("pass") == index
                else 0)
        if skip == float("inf") and index > 0:
            return
        taken = 0
        rows = iter(self.reader.parse(self.path, self.options, keep=keep) if getattr(self.reader, "PARSE_KEEPS", False)
                    else self.reader.parse(self.path, self.options))

        def fill() -> tuple[list[ftm.Row], int]:
            """The next chunk's rows read from the file, and how many rows the pass took by then."""
            nonlocal taken
            batch: list[ftm.Row] = []
            for row in rows:
                if row.refusal is None and wanted(row):
                    taken += 1
                    if taken <= skip:
                        self._remember(row)
                        continue
                    batch.append(row)
                if len(batch) >= self.chunk:
                    break
            return batch, taken

        batch, position = fill()
        while batch:
            ahead: list = []
            # Read while the chunk's inserts are written (apps.sync.bulk.write_behind): the
            # next rows come from the file, not the database, so reading them waits for nothing.
            self._chunk(batch, handle, (index, position), meanwhile=lambda ahead=ahead: ahead.append(fill()))
            batch, position = ahead[0] if ahead else fill()

    def _remember(self, row: ftm.Row) -> None:
        """What _entity_row keeps of a row for the later passes (a resumed run skips it)."""
        if row.schema in ftm.LOOKUP_SCHEMAS:
            self.contracts[row.id] = row
        elif row.schema == "Address":
            self.lines[row.id] = (row.line, row.raw)
        self.links = self.links or self._links_wanted(row)

    def _chunk(self, batch: list[ftm.Row], handle, position: tuple[int, int] | None = None, meanwhile=None) -> None:
        """Write one chunk in one transaction. `meanwhile()` is called once its bulk inserts are
        queued, before the rows that go one by one and the commit (which wait for them)."""
        job = self.job
        status = ImportJob.objects.filter(pk=job.pk).values_list("status", flat=True).first()
        if status in (ImportJob.Status.CANCELLING, ImportJob.Status.CANCELLED):
            raise _Cancelled
        with transaction.atomic(), touches_coalesced():
            # The lines just read from this very stored file: the citation check finds them here.
            self.source._line_cache = {row.line: row.raw for row in batch}
            self.source._line_cache.update({line: raw for line, raw in self.lines.values()})
            self.source._pointer_cache = {row.locator for row in batch if row.locator}
            # The bulk path takes the rows it can (new and unchanged items, the usual case);
            # the rest (changed items, joins, derived entities, ...) go one by one below.
            if handle == self._entity_row:
                batch = self._entities_bulk(batch)
            elif handle == self._relation_row:
                batch = self._records_bulk(batch)
            if meanwhile is not None:
                meanwhile()
            for row in batch:
                try:
                    with transaction.atomic():
                        if handle(row) is not False:  # False: the row is counted in another pass
                            job.rows_read += 1
                except (ValidationError, PermissionDenied) as exc:
                    self._refuse(row, exc)
                    job.rows_read += 1
            RefusedRow.objects.bulk_create(self.refused)
            self.refused = []
            job.unmapped = self.unmapped.as_dict()
            if position is not None:
                job.checkpoint = {"pass": position[0], "rows": position[1]}
            job.heartbeat_at = timezone.now()
            job.save()
        if _import_connection.current is not None:
            _import_connection.current.committed()

    def _refuse(self, row: ftm.Row, exc: Exception) -> None:
        if isinstance(exc, ValidationError) and hasattr(exc, "message_dict"):
            for name, messages in exc.message_dict.items():
                self.refused.append(RefusedRow(job=self.job, line=row.line,
                                               field=("" if name == "__all__" else name)[:200], reason="; ".join(messages)))
        else:
            self.refused.append(RefusedRow(job=self.job, line=row.line,
                                           reason="; ".join(getattr(exc, "messages", [str(exc)]))))
        self.job.rows_refused += 1

    # -- the bulk path -------------------------------------------------------------------------
    def _items(self, ids: list[str]) -> dict[str, ImportedItem]:
        """This dataset's items for the ids of a chunk, in one query."""
        if not ids:
            return {}
        return {item.external_id: item for item in ImportedItem.objects.filter(dataset=self.dataset,
                                                                                external_id__in=set(ids))}

    def _items_seen(self, items: list[ImportedItem]) -> None:
        """_seen() of many unchanged items: one statement."""
        if items:
            ImportedItem.objects.filter(pk__in=[item.pk for item in items]).update(
                last_job=self.job, ended_at=None, ended_job=None)

    def _may_join(self, row: ftm.Row) -> bool:
        """Whether a new entity row may join one we have otherwise than by the dataset's own
        ids (a strong identifier, a country, an exact name): the one-row path decides."""
        return (self.join_exact_names or ftm.ENTITY_SCHEMAS[row.schema] == EntityKind.COUNTRY
                or row.attributes.get("entity_kind") == EntityKind.COUNTRY
                or any(row.props.get(key) for key in STRONG_IDS))

    def _entities_bulk(self, batch: list[ftm.Row]) -> list[ftm.Row]:
        """The entity pass for a chunk: new items written in bulk (catalog.entities_bulk_create),
        unchanged ones counted with one update. Returns the rows left for the one-row path."""
        job = self.job
        for row in batch:
            if row.schema == "Address":
                self.lines[row.id] = (row.line, row.raw)
            self.links = self.links or self._links_wanted(row)
        items = self._items([row.id for row in batch if row.schema in ftm.ENTITY_SCHEMAS])
        rest, new, seen, unchanged = [], [], set(), []
        for row in batch:
            if row.schema not in ftm.ENTITY_SCHEMAS or row.id in seen:
                rest.append(row)
                continue
            seen.add(row.id)
            item = items.get(row.id)
            if item is None and not self._may_join(row):
                new.append(row)
            elif item is not None and item.entity_id is not None and item.line_sha256 == _row_sha(row):
                unchanged.append((row, item))
            else:
                rest.append(row)
        # An id (or referent) imported before by any dataset joins that entity: one-row path.
        keys = {str(key) for row in new for key in (row.id, *(row.data.get("referents") or []))}
        known = set(ImportedItem.objects.filter(external_id__in=keys).exclude(entity=None)
                    .values_list("external_id", flat=True)) if keys else set()
        for row, item in unchanged:
            self.entities[row.id] = item.entity_id
            if item.last_job_id != job.pk:  # else: written by this job before a restart
                self.unchanged.add(row.id)
                job.entities_unchanged += 1
            job.rows_read += 1
        self._items_seen([item for _, item in unchanged])
        fresh = []
        for row in new:
            joins = any(str(key) in known for key in (row.id, *(row.data.get("referents") or [])))
            (rest if joins else fresh).append(row)
        referents = []
        for some in id_slices(fresh, SLICE):  # see SLICE
            planned = []
            for row in some:
                kind, name, names, country, identifiers, facts = self._entity_fields(row)
                planned.append((row, catalog.NewEntity(
                    fields={"kind": kind, "name": name[:500], "country": country, "identifiers": identifiers},
                    names=names, facts=facts, citations=[self._cite(row)])))
            made = []
            for row, planned_item in self._written(planned, catalog.entities_bulk_create(
                    user=self.user, items=[item for _, item in planned])):
                entity = planned_item.entity
                job.entities_created += 1
                self.entities[row.id] = entity.pk
                made.append((self.dataset, row.id[:300], row.schema, entity.pk, None, job.pk, job.pk, _row_sha(row),
                             True))
                # A publisher that re-keys this item later lands on the same entity.
                referents += [ImportedItem(dataset=self.dataset, external_id=str(referent)[:300], schema=REFERENT,
                                           entity=entity, first_job=job, last_job=job, line_sha256="")
                              for referent in row.data.get("referents") or []]
            rows_insert(ImportedItem, ITEM_COLUMNS, made)
        # Through Django (ignore_conflicts): the one statement of the chunk that waits for its inserts.
        ImportedItem.objects.bulk_create(referents, batch_size=1000, ignore_conflicts=True)
        return _in_order(batch, rest)

    def _records_bulk(self, batch: list[ftm.Row]) -> list[ftm.Row]:
        """The relations pass for a chunk: new records whose ends are known written in bulk
        (catalog.records_bulk_create), unchanged ones counted with one update. Returns the
        rows left for the one-row path (changed items, unresolved ends, awards, other schemas)."""
        job = self.job
        mapped = [row for row in batch if row.schema in ftm.RECORD_SCHEMAS and row.schema != "ContractAward"]
        items = self._items([row.id for row in mapped])
        refs = {row.first(prop) for row in mapped for prop in self._record_shape(row)[1:3] if prop}
        refs = [ref for ref in refs if ref and ref not in self.entities]
        if refs:  # the ends of the chunk's records, in one query
            self.entities.update(ImportedItem.objects.filter(dataset=self.dataset, external_id__in=refs)
                                 .exclude(entity=None).values_list("external_id", "entity_id"))
        rest, planned, seen, unchanged = [], [], set(), []
        for row in batch:
            if row.schema not in ftm.RECORD_SCHEMAS or row.schema == "ContractAward" or row.id in seen:
                rest.append(row)
                continue
            seen.add(row.id)
            item = items.get(row.id)
            if item is not None:
                if item.record_id is not None and item.line_sha256 == _row_sha(row):
                    unchanged.append(item)
                    if row.schema == "Sanction":
                        self._authority_or_none(row)  # its authority is listed by this export too
                else:
                    rest.append(row)
                continue
            kind, subject_prop, object_prop, used = self._record_shape(row)
            if row.schema != "Sanction":
                subject = self.entities.get(row.first(subject_prop))
            else:
                subject = self._authority_or_none(row)
            obj = self.entities.get(row.first(object_prop))
            if subject is None or obj is None:
                rest.append(row)  # the one-row path reports what is missing
                continue
            fields = {"kind": kind, "subject_id": subject, "object_id": obj, **self._record_values(row, used)}
            planned.append((row, catalog.NewRecord(fields=fields, citations=[self._cite(row)])))
        for item in unchanged:
            if item.last_job_id != job.pk:  # else: written by this job before a restart
                job.records_unchanged += 1
            job.rows_read += 1
        self._items_seen(unchanged)
        made = []
        for row, planned_item in self._written(planned, catalog.records_bulk_create(
                user=self.user, items=[item for _, item in planned], slice_size=SLICE)):  # see SLICE
            job.records_created += 1
            made.append((self.dataset, row.id[:300], row.schema, None, planned_item.record.pk, job.pk, job.pk,
                         _row_sha(row), False))
        rows_insert(ImportedItem, ITEM_COLUMNS, made)
        return _in_order(batch, rest)

    def _written(self, planned: list[tuple], refused: list[tuple]):
        """The (row, item) pairs of `planned` that a bulk service wrote, each row counted as
        read; those it `refused` ([(item, why)]) are reported with their lines."""
        why = {id(item): exc for item, exc in refused}
        for row, item in planned:
            self.job.rows_read += 1
            if id(item) in why:
                self._refuse(row, why[id(item)])
            else:
                yield row, item

    def _cite(self, row: ftm.Row) -> dict:
        return {"source": self.source, "quote": row.raw, "locator": row.locator or f"line {row.line}"}

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
    def _entity_fields(self, row: ftm.Row) -> tuple:
        """What an entity row says, mapped: (kind, name, names, country, identifiers, facts)."""
        kind = ftm.ENTITY_SCHEMAS[row.schema]
        if row.attributes.get("entity_kind") == EntityKind.COUNTRY:  # a BODS `state`
            kind = EntityKind.COUNTRY
        names = list(dict.fromkeys(v.strip() for p in ftm.NAME_PROPS for v in row.props.get(p, []) if v.strip()))
        caption = row.name_caption().strip()
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
        return kind, name, names, country, identifiers, facts

    def _entity_row(self, row: ftm.Row):
        if row.schema in ftm.LOOKUP_SCHEMAS:
            self.contracts[row.id] = row
            return False  # read again (and counted) in the relations pass
        kind, name, names, country, identifiers, facts = self._entity_fields(row)
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
                entity = self._exact(kind=kind, name=name, country=country)
                how = JOINED_BY_MAPPING if entity is not None else ""
                if entity is not None:
                    mapping_join_record(job=self.job, external_id=row.id, entity=entity, name=name, kind=kind,
                                        country=country, cite=cite)
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
            self.entities[row.id] = entity.pk
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
        self.entities[row.id] = entity.pk
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
        pk = self.entities.get(row.id)
        entity = None if pk is None or row.id in self.unchanged else Entity.objects.get(pk=pk)
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

    def _exact(self, *, kind: str, name: str, country: str = "") -> Entity | None:
        """The one entity of ours of this kind with exactly this name (or alias), if only one,
        and only when the countries agree (or one side has none)."""
        hits = [h for h in entity_search(q=name, kind=kind, include_unpublished=True, limit=3) if h.score >= 100.5]
        if len(hits) != 1:
            return None
        entity = Entity.objects.filter(pk=hits[0].entity_id).first()
        if entity is not None and country and entity.country and entity.country != country:
            return None
        return entity

    def _resolve(self, ref: str) -> Entity | None:
        pk = self._resolve_pk(ref)
        return None if pk is None else Entity.objects.filter(pk=pk).first()

    def _resolve_pk(self, ref: str) -> int | None:
        if ref in self.entities:
            return self.entities[ref]
        pk = (ImportedItem.objects.filter(dataset=self.dataset, external_id=ref).exclude(entity=None)
              .values_list("entity_id", flat=True).first())
        if pk is not None:
            self.entities[ref] = pk
        return pk

    # -- relationships -------------------------------------------------------------------------
    def _record_shape(self, row: ftm.Row) -> tuple[str, str, str, set[str]]:
        """(record kind, subject property, object property, properties those use) of a row."""
        kind, subject_prop, object_prop = ftm.RECORD_SCHEMAS[row.schema]
        used = {object_prop, "proof"}
        if subject_prop:
            used.add(subject_prop)
        if row.schema == "Sanction":
            used |= {"authority", "country"}
        if row.schema == "Payment" and row.props.get("contract"):
            kind = RecordKind.CONTRACT
        return kind, subject_prop, object_prop, used

    def _relation_row(self, row: ftm.Row):
        if row.schema not in ftm.RECORD_SCHEMAS:
            return self._unmapped_row(row)
        kind, subject_prop, object_prop, used = self._record_shape(row)
        subject = obj = None
        if row.schema == "Sanction":
            subject = self._authority(row)
        elif row.schema == "ContractAward":
            contract = self.contracts.get(row.first("contract"))
            buyer = contract.first("authority") if contract else ""
            if not buyer:
                raise ValidationError({"contract": "The award's contract (with its buying authority) is not in the file."})
            subject = self._end(row, "contract", buyer)
            used.add("contract")
        else:
            subject = self._end(row, subject_prop, row.first(subject_prop))
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

    def _authority_or_none(self, row: ftm.Row) -> int | None:
        try:
            return self._authority_pk(row)
        except (ValidationError, PermissionDenied):
            return None  # the one-row path refuses the row, saying why

    def _authority(self, row: ftm.Row) -> Entity:
        return Entity.objects.get(pk=self._authority_pk(row))

    def _authority_pk(self, row: ftm.Row) -> int:
        """A sanction's authority is a name (with the sanction's country), not a reference:
        one public body per (country, name) in the dataset, citing the first line naming it."""
        name = row.first("authority").strip()
        country = ftm.country_code(row.first("country"))
        if name:
            key = f"{DERIVED}authority:{country}:{normalize_name(name)}"[:300]
            fields = {"kind": EntityKind.PUBLIC_BODY, "name": name[:500], "country": country}
        elif country:
            existing = Entity.objects.filter(kind=EntityKind.COUNTRY, iso_code=country).values_list(
                "pk", flat=True).first()
            if existing is not None:
                return existing
            key = f"{DERIVED}country:{country}"
            fields = {"kind": EntityKind.COUNTRY, "name": country_name(country), "iso_code": country}
        else:
            raise ValidationError({"authority": "A sanction needs its authority or its country."})
        if key in self.entities:
            return self.entities[key]
        item = self._item(key)
        joined = (self._exact(kind=fields["kind"], name=fields["name"], country=country)
                  if self.join_exact_names and (item is None or item.entity is None) else None)
        if joined is not None:
            item = ImportedItem(dataset=self.dataset, external_id=key, schema=DERIVED, entity=joined,
                                first_job=self.job, owns_entity=False)
            self._seen(item, row)
            mapping_join_record(job=self.job, external_id=key, entity=joined, name=fields["name"],
                                kind=fields["kind"], country=country, cite=self._cite(row))
        elif item is None or item.entity is None:
            with transaction.atomic():  # written once, alone: a refusal leaves nothing behind
                entity = catalog.entity_create(user=self.user, **fields)
                catalog.citation_create(user=self.user, target=entity, **self._cite(row))
            item = ImportedItem(dataset=self.dataset, external_id=key, schema=DERIVED, entity=entity,
                                first_job=self.job)
            self._seen(item, row)
            self.job.entities_created += 1
        else:
            self._seen(item)  # named by this export too (and published with its batch)
        self.entities[key] = item.entity_id
        return item.entity_id

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
        title = (row.first("program") or row.first("role") or row.first("title") or row.caption or "")
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
        text = f"{row.caption or row.schema} ({'; '.join(parts)})"
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


def import_job_publish(*, user, job: ImportJob, items=None) -> int:
    """A reviewer publishes a finished job's batch (what its items became), or only the chosen
    `items` (ImportedItem ids of this job; a chosen record brings the entities it names from
    this batch with it), under the usual rules. Returns how many the rules kept as drafts
    (e.g. a record whose entity is not published)."""
    if not user.has_perm("catalog.publish_record"):
        raise PermissionDenied("Only reviewers and admins may publish an import.")
    if job.status != ImportJob.Status.DONE:
        raise ValidationError({"job": "Only a finished import can be published."})
    if items is not None:
        items = [int(pk) for pk in items if str(pk).isdigit()]
        if not items:
            raise ValidationError({"items": "Choose at least one row of the batch."})
    with transaction.atomic(), touches_coalesced():
        return _publish_job(user=user, job=job, chosen=items)


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


def _publish_job(*, user, job: ImportJob, chosen: list[int] | None = None) -> int:
    """Publish what `job` wrote (or its `chosen` items): its entities, their names and the facts
    citing its file, then its records (whose entities are then public). What the rules refuse
    stays a draft."""
    from apps.catalog.models import Alias

    refused = 0
    batch = ImportedItem.objects.filter(dataset=job.dataset, last_job=job)
    items = batch if chosen is None else batch.filter(pk__in=chosen)
    record_ids = list(items.exclude(record=None).values_list("record_id", flat=True))
    entity_ids = set(items.exclude(entity=None).values_list("entity_id", flat=True))
    if chosen is not None and record_ids:
        # A chosen record cannot be public without the entities it names: those of this batch come with it.
        named = set()
        for row in Record.objects.filter(pk__in=record_ids).values("subject_id", "object_id", "site_id", "party_id"):
            named.update(pk for pk in row.values() if pk)
        entity_ids |= set(batch.filter(entity_id__in=named).values_list("entity_id", flat=True))
    cited = Citation.objects.filter(source_id=job.source_id)
    for obj in Entity.objects.filter(pk__in=entity_ids, workflow=Workflow.DRAFT):
        refused += _try_publish(user, obj)
    for obj in Alias.objects.filter(entity_id__in=entity_ids, workflow=Workflow.DRAFT):
        refused += _try_publish(user, obj)
    facts = Fact.objects.filter(pk__in=cited.exclude(fact=None).values("fact_id"), workflow=Workflow.DRAFT)
    if chosen is not None:
        facts = facts.filter(entity_id__in=entity_ids)
    for obj in facts:
        refused += _try_publish(user, obj)
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


def _schemas_in(*groups):
    names = frozenset().union(*groups)
    return lambda schema: isinstance(schema, str) and schema in names


# The bulk path writes a chunk's new items in slices of this many rows: the writer thread
# (apps.sync.bulk.write_behind) inserts one slice while this thread validates and builds the
# next, instead of idling while the whole chunk is validated and then leaving this thread to
# wait for the whole chunk's inserts at its end. The chunk stays one transaction; the
# queries of a chunk (its items, the ends of its records) come before its first slice: a
# query beside the writer's inserts does not wait for them (apps.sync.bulk.waits_for) but
# shares the connection with them, and runs several times slower.
SLICE = 1000


def _in_order(batch: list, some: list) -> list:
    """`some` rows of `batch`, in the batch's order (a format may order rows by date, not line)."""
    wanted = {id(row) for row in some}
    return [row for row in batch if id(row) in wanted]


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
    """For each entity this job created, the entities we already had that may be the same:
    found by the shared blocking of apps.catalog.selectors.matching (the same as the
    duplicates page: shared name keys, same kind, the country agreeing where both have one,
    scored by rapidfuzz on the names without their legal forms). Pairs already judged (here
    or on the duplicates page, or split after a merge) are not proposed again. Set-based: a
    batch of MATCH_BATCH entities at a time (candidates_for_many), each batch's proposals
    written in one statement, each in its own short transaction. Returns how many were
    proposed."""
    from apps.catalog.selectors.matching import candidates_for_many

    created = Entity.objects.filter(pk__in=ImportedItem.objects.filter(first_job=job, last_job=job)
                                    .exclude(entity=None).values("entity_id"))
    # Entities of this same job are not offered to each other: the file's own ids keep them apart.
    # NOT EXISTS, not `pk NOT IN (subquery)`: PostgreSQL cannot hash a NOT IN list larger than
    # work_mem and rescans it for every entity; at a million objects that took hours.
    own_item = ImportedItem.objects.filter(first_job=job, entity_id=OuterRef("pk"))
    if not Entity.objects.exclude(kind=EntityKind.COUNTRY).filter(~Exists(own_item)).exists():
        return 0  # nothing of ours to match against (the first import into an empty catalogue)
    own = set(ImportedItem.objects.filter(first_job=job).exclude(entity=None).values_list("entity_id", flat=True))
    proposed = 0
    ids = list(created.exclude(kind=EntityKind.COUNTRY).order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), MATCH_BATCH):
        batch = list(Entity.objects.filter(pk__in=ids[start:start + MATCH_BATCH])
                     .only("id", "uuid", "kind", "name", "country", "workflow"))
        proposed += _matches_write(job, candidates_for_many(batch, exclude_ids=own, threshold=MATCH_THRESHOLD,
                                                            limit=MATCH_CANDIDATES))
    return proposed


MATCH_BATCH = 5000


def _matches_write(job: ImportJob, found: dict[int, list]) -> int:
    """The proposals of one batch not proposed before (a re-run after a crash proposes nothing twice)."""
    pairs = {(pk, c.b.pk): c.score for pk, candidates in found.items() for c in candidates}
    if not pairs:
        return 0
    with transaction.atomic():
        known = set(MatchCandidate.objects.filter(entity_id__in={pk for pk, _ in pairs})
                    .values_list("entity_id", "candidate_id"))
        new = [MatchCandidate(entity_id=a, candidate_id=b, job=job, score=score)
               for (a, b), score in pairs.items() if (a, b) not in known]
        MatchCandidate.objects.bulk_create(new, batch_size=500)
    return len(new)


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
            # The merge moves the dataset's items to ours (and records it, for a split).
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


# --- joins a mapping asked for (match: exact-name) ---------------------------------------

def mapping_join_record(*, job: ImportJob, external_id: str, entity: Entity, name: str, kind: str, country: str,
                        cite: dict) -> MappingJoin:
    """Record that an item of a list joined `entity` by its exact name, as its mapping asks:
    not silent, shown on /curation/matches/, undoable (mapping_join_undo)."""
    join, _ = MappingJoin.objects.update_or_create(
        dataset=job.dataset, external_id=external_id[:300],
        defaults={"job": job, "entity": entity, "imported_name": name[:500], "kind": kind, "country": country,
                  "quote": cite["quote"], "locator": cite.get("locator", "")[:500],
                  "status": MappingJoin.Status.JOINED})
    return join


def mapping_join_undo(*, user, join: MappingJoin) -> Entity:
    """Keep apart what a mapping joined (admins, as merges are): the list's item gets an
    entity of its own (a draft citing the row that joined), and what the list wrote on ours
    through it moves there: the records of the list naming ours, the names and facts only
    the list's files cite. Later imports of the list update that entity; they never join
    it again (its item is found first). Returns the new entity."""
    if not roles.can_merge(user):
        raise PermissionDenied("Only admins may undo a join (as only they merge).")
    if join.status != MappingJoin.Status.JOINED:
        raise ValidationError({"join": "This join was already undone."})
    from apps.catalog.models import Alias, Source

    ours = join.entity
    with transaction.atomic(), touches_coalesced():
        extra = {"iso_code": ours.iso_code} if join.kind == EntityKind.COUNTRY else {}
        apart = catalog.entity_create(user=user, kind=join.kind, name=join.imported_name, country=join.country,
                                      identifiers={"ftm_id": join.external_id}, **extra)
        sources = list(Source.objects.filter(pk__in=ImportJob.objects.filter(dataset=join.dataset)
                                             .exclude(source=None).values("source_id")).order_by("pk"))
        source = join.job.source if join.job and join.job.source_id else (sources[-1] if sources else None)
        cite = {"source": source, "quote": join.quote, "locator": join.locator}
        if source is not None:
            catalog.citation_create(user=user, target=apart, **cite)
        ImportedItem.objects.filter(dataset=join.dataset, external_id=join.external_id).update(
            entity=apart, owns_entity=True)
        records = Record.objects.filter(pk__in=ImportedItem.objects.filter(dataset=join.dataset)
                                        .exclude(record=None).values("record_id"))
        for record in records.filter(subject=ours):
            catalog.record_update(user=user, record=record, subject=apart)
        for record in records.filter(object=ours):
            catalog.record_update(user=user, record=record, object=apart)
        # Names and facts on ours that only the list's files cite go with it.
        source_ids = {s.pk for s in sources}
        names, facts, drop = [], [], []
        for claim in list(Alias.objects.filter(entity=ours)) + list(Fact.objects.filter(entity=ours)):
            where = {"field": f"alias:{claim.name}"} if isinstance(claim, Alias) else {"fact": claim}
            cited = set(Citation.objects.filter(entity=ours, **where).values_list("source_id", flat=True))
            if cited and cited <= source_ids:
                (names.append(claim.name) if isinstance(claim, Alias) else facts.append((claim.field, claim.value)))
                drop.append(claim)
        if source is not None and (names or facts):
            catalog.entity_claims_bulk_create(user=user, entity=apart, names=names, facts=facts, citations=[cite])
        for claim in drop:
            (catalog.alias_delete if isinstance(claim, Alias) else catalog.fact_delete)(user=user, **{
                "alias" if isinstance(claim, Alias) else "fact": claim})
        join.status, join.split, join.undone_by, join.undone_at = MappingJoin.Status.UNDONE, apart, user, timezone.now()
        join.save()
    return apart
