"""The fault drill (`manage.py fault_drill`): a big import through the real import job on
a real worker, while Neo4j is killed (kill -9), the worker is killed (kill -9) and Redis is
restarted, each brought back as a supervisor would; then the checks that nothing was lost
or applied twice.

Everything runs on loopback, on ports and a data folder of its own (var/drill by default),
started with the project's own machinery: graph.server (Neo4j), apps.ops.localredis,
apps.ops.localpg and apps.ops.localworker. The command re-runs itself with the drill's
settings in the environment, so this module always sees the drill's database."""
from __future__ import annotations

import os
import random
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from django.conf import settings
from django.db import connection
from django.db.models import Count, Max

# Progress (share of the file's rows read) between which the faults fall.
FAULT_WINDOW = (0.05, 0.85)


@dataclass
class Fault:
    kind: str  # neo4j | worker | redis
    at: float  # progress share at which it fires
    fired_at: float | None = None  # monotonic
    back_at: float | None = None
    progress: float | None = None  # progress when it fired (None: the import had finished)
    note: str = ""


@dataclass
class DrillResult:
    lines: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)

    def say(self, line: str) -> None:
        self.lines.append(line)

    def miss(self, why: str) -> None:
        self.missed.append(why)
        self.lines.append(f"MISSED: {why}")


def synthesize(path: Path, *, n: int, seed: int) -> dict[str, int]:
    """The adapter to the import benchmark's synthetic FtM file (counts by schema)."""
    from apps.ingest.bench import ftm_synthesize

    return ftm_synthesize(path, n, seed)


def fault_plan(*, seed: int, neo4j_kills: int, worker_kills: int, redis_restarts: int) -> list[Fault]:
    rng = random.Random(seed)
    kinds = ["neo4j"] * neo4j_kills + ["worker"] * worker_kills + ["redis"] * redis_restarts
    rng.shuffle(kinds)
    moments = sorted(rng.uniform(*FAULT_WINDOW) for _ in kinds)
    return [Fault(kind=kind, at=round(at, 3)) for kind, at in zip(kinds, moments)]


class Services:
    """The drill's Neo4j, Redis, (PostgreSQL) and worker, started and killed on demand."""

    def __init__(self, *, workdir: Path, rng: random.Random, out):
        self.workdir, self.rng, self.out = workdir, rng, out
        url = urlparse(settings.REDIS_URL)
        self.redis_host, self.redis_port = url.hostname, url.port
        self.redis_dir = workdir / "redis"
        self.worker = None
        self.workers_started = 0
        self.local_pg = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

    def log(self, message: str) -> None:
        self.out(f"[{time.strftime('%H:%M:%S')}] {message}")

    # -- Neo4j
    def neo4j_start(self) -> float:
        from graph import server

        info = server.start(data_dir=settings.NEO4J_DATA_DIR, host=settings.NEO4J_BOLT_HOST,
                            port=settings.NEO4J_BOLT_PORT, pagecache=settings.NEO4J_PAGECACHE,
                            heap=settings.NEO4J_HEAP, timeout=settings.NEO4J_START_TIMEOUT,
                            tx_timeout=settings.NEO4J_TX_TIMEOUT or None)
        return info.startup_seconds or 0.0

    def neo4j_kill(self) -> None:
        from graph import server

        info = server.status(data_dir=settings.NEO4J_DATA_DIR, host=settings.NEO4J_BOLT_HOST,
                             port=settings.NEO4J_BOLT_PORT)
        if info.pid:
            os.kill(info.pid, signal.SIGKILL)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and _alive(info.pid):
                time.sleep(0.1)

    # -- Redis
    def redis_start(self) -> None:
        from apps.ops import localredis

        localredis.start(data_dir=self.redis_dir, host=self.redis_host, port=self.redis_port)

    def redis_stop(self) -> None:
        from apps.ops import localredis

        localredis.stop(data_dir=self.redis_dir)

    # -- the worker
    def worker_start(self, *, concurrency: int = 2, name: str = "drill") -> None:
        from apps.ops.localworker import WorkerProcess

        self.workers_started += 1
        n = self.workers_started
        self.worker = WorkerProcess(self.workdir / f"worker-{n}.log", name=f"{name}-{n}@%h", env=dict(os.environ),
                                    beat=True, concurrency=concurrency).start(timeout=120)

    # -- PostgreSQL
    def postgres_start(self) -> None:
        from apps.ops import localpg

        localpg.start(data_dir=settings.POSTGRES_DATA_DIR, host=settings.POSTGRES_HOST, port=settings.POSTGRES_PORT,
                      user=settings.POSTGRES_USER, password=settings.POSTGRES_PASSWORD,
                      database=settings.POSTGRES_DB)

    def stop_all(self) -> None:
        from graph import server

        if self.worker is not None:
            self.worker.stop()
        self.redis_stop()
        server.stop(data_dir=settings.NEO4J_DATA_DIR)
        if self.local_pg:
            from apps.ops import localpg

            connection.close()
            localpg.stop(data_dir=settings.POSTGRES_DATA_DIR)

    # -- the faults
    def fire(self, fault: Fault) -> None:
        fault.fired_at = time.monotonic()
        if fault.kind == "neo4j":
            self.neo4j_kill()
            down = self.rng.uniform(2, 10)
            self.log(f"kill -9 Neo4j; back in {down:.0f} s")
            time.sleep(down)
            seconds = self.neo4j_start()
            fault.note = f"down {down:.0f} s + start {seconds:.0f} s"
        elif fault.kind == "worker":
            self.log(f"kill -9 the worker (pid {self.worker.proc.pid} and its pool and beat)")
            self.worker.kill()
            self.worker.log.close()
            self.worker_start()
            fault.note = "a new worker started at once"
        else:
            down = self.rng.uniform(1, 5)
            self.log(f"restart Redis (down {down:.0f} s)")
            self.redis_stop()
            time.sleep(down)
            self.redis_start()
            fault.note = f"down {down:.0f} s"
        fault.back_at = time.monotonic()
        self.log(f"{fault.kind} back ({fault.note})")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (our own child, not yet reaped) is dead too
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _job():
    from apps.ingest.models import ImportJob

    return ImportJob.objects.order_by("-pk").first()


def _pending_upto(max_id: int) -> int:
    from apps.sync.models import OutboxEvent

    return OutboxEvent.objects.filter(delivered_at__isnull=True, id__lte=max_id).count()


def drill_run(*, n: int, seed: int, neo4j_kills: int = 3, worker_kills: int = 2, redis_restarts: int = 1,
              max_minutes: float = 120.0, catch_up_target: float = 300.0, out=print) -> DrillResult:
    """Run the drill on the configured (the drill's own) database and servers; everything it
    started is stopped at the end."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from apps.ingest.models import ImportJob
    from apps.ingest.services import import_job_create
    from apps.ingest.tasks import import_job_run_task
    from apps.sync.models import OutboxEvent

    result = DrillResult()
    workdir = Path(settings.VAR_DIR)
    rng = random.Random(seed)
    plan = fault_plan(seed=seed, neo4j_kills=neo4j_kills, worker_kills=worker_kills, redis_restarts=redis_restarts)
    svc = Services(workdir=workdir, rng=random.Random(seed + 1), out=out)
    deadline = time.monotonic() + max_minutes * 60
    svc.log(f"fault drill: {n} objects, seed {seed}, data in {workdir}; faults at progress "
            + ", ".join(f"{f.kind} {f.at:.0%}" for f in plan))
    del rng
    try:
        if svc.local_pg:
            svc.postgres_start()
        call_command("migrate", verbosity=0)
        svc.log(f"Neo4j started in {svc.neo4j_start():.0f} s")
        call_command("graph_install", verbosity=0)
        svc.redis_start()
        path = workdir / "drill.ftm.jsonl"
        counts = synthesize(path, n=n, seed=seed)
        total = sum(counts.values())
        svc.log(f"synthesised {total} objects: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        user, _ = get_user_model().objects.get_or_create(username="fault-drill", defaults={"is_superuser": True})
        job = import_job_create(user=user, path=path, dataset="drill")
        svc.worker_start()
        started = time.monotonic()
        import_job_run_task.apply_async(args=[job.pk], retry=False)
        svc.log(f"import job {job.pk} queued")

        # Fire each fault when the import has read its share of the file; whatever is left
        # when the import has finished fires then (on the outbox's catch-up).
        pending = list(plan)
        last_report = 0.0
        while time.monotonic() < deadline:
            job = _job()
            progress = job.rows_read / job.rows_total if job.rows_total else 0.0
            if pending and (progress >= pending[0].at or job.finished):
                fault = pending.pop(0)
                fault.progress = None if job.finished else progress
                svc.fire(fault)
                continue
            if not pending:
                break
            if time.monotonic() - last_report > 30:
                last_report = time.monotonic()
                svc.log(f"import {job.status} {progress:.0%} ({job.rows_read}/{job.rows_total} rows)")
            time.sleep(0.5)
        last = max(plan, key=lambda f: f.back_at or 0) if plan else None
        recovery_start = last.back_at if last else time.monotonic()
        # Caught up: every change made before the last fault was over is in the graph, and
        # the import has moved on (a chunk committed after it) or finished.
        outbox_mark = OutboxEvent.objects.aggregate(m=Max("id"))["m"] or 0
        rows_mark = _job().rows_read
        catch_up = None
        while time.monotonic() < deadline:
            job = _job()
            moved = job.finished or job.rows_read > rows_mark
            if catch_up is None and moved and _pending_upto(outbox_mark) == 0:
                catch_up = time.monotonic() - recovery_start
                svc.log(f"caught up {catch_up:.0f} s after the last fault")
            if job.finished and catch_up is not None and _pending_upto(10**18) == 0:
                break
            if time.monotonic() - last_report > 30:
                last_report = time.monotonic()
                svc.log(f"import {job.status} {job.rows_read}/{job.rows_total} rows; "
                        f"outbox pending {_pending_upto(10**18)}")
            time.sleep(0.5)
        elapsed = time.monotonic() - started
        _report(result, job=_job(), counts=counts, plan=plan, catch_up=catch_up, catch_up_target=catch_up_target,
                elapsed=elapsed, svc=svc, timed_out=time.monotonic() >= deadline)
    finally:
        svc.stop_all()
    return result


def _report(result: DrillResult, *, job, counts, plan, catch_up, catch_up_target, elapsed, svc, timed_out):
    from apps.catalog.models import Entity, Record
    from apps.ingest.models import ImportedItem, ImportJob
    from apps.sync.models import OutboxEvent
    from apps.sync.parity import parity_check
    from graph.connection import GraphUnavailable, configure

    say, miss = result.say, result.miss
    total = sum(counts.values())
    say("fault drill result")
    say(f"  file: {total} objects ({', '.join(f'{k} {v}' for k, v in counts.items())})")
    for f in plan:
        when = f"at {f.progress:.0%} of the import" if f.progress is not None else "after the import"
        say(f"  fault: {f.kind:6s} {when}, {f.note}")
    if timed_out:
        miss("the drill ran out of time before the import finished and the outbox drained")
    finished = job.status == ImportJob.Status.DONE
    ran = (job.finished_at - job.created_at).total_seconds() if job.finished_at else elapsed
    say(f"  import job: {job.status}, {job.rows_read}/{job.rows_total} rows read, {job.rows_refused} refused, "
        f"{job.entities_created} entities and {job.records_created} records created, in {ran:.0f} s with the "
        f"faults ({total / ran:.0f} objects/s); the graph caught up {elapsed:.0f} s after the job was queued")
    if not finished:
        miss(f"the import job did not finish ({job.status}{': ' + job.error if job.error else ''})")
    entities, records = Entity.objects.count(), Record.objects.count()
    say(f"  rows imported: {entities} entities, {records} records")
    # Nothing lost, nothing twice: every row of the file is one item, the job's counters
    # agree with what is stored, no entity or record was made twice, no change emitted twice.
    items = ImportedItem.objects.filter(dataset="drill").exclude(schema__startswith="~")
    item_count = items.count()
    distinct_ids = items.values("external_id").distinct().count()
    if item_count != total - job.rows_refused or distinct_ids != item_count:
        miss(f"{item_count} imported items ({distinct_ids} distinct ids) for {total - job.rows_refused} rows")
    if (job.entities_created, job.records_created) != (entities, records):
        miss(f"the job counted {job.entities_created} entities and {job.records_created} records, "
             f"the store holds {entities} and {records}")
    expected_entities = counts.get("Company", 0) + counts.get("Person", 0) + counts.get("PublicBody", 0)
    owned = ImportedItem.objects.filter(dataset="drill", entity__isnull=False).values("entity").distinct().count()
    if owned != entities or entities < expected_entities:
        miss(f"{entities} entities for {owned} imported items ({expected_entities} in the file)")
    created_twice = (Entity.history.filter(history_type="+").values("id").annotate(n=Count("history_id"))
                     .filter(n__gt=1).count())
    records_twice = (Record.history.filter(history_type="+").values("id").annotate(n=Count("history_id"))
                     .filter(n__gt=1).count())
    emitted_twice = (OutboxEvent.objects.values("uid", "version").annotate(n=Count("id")).filter(n__gt=1).count())
    say(f"  applied twice: {created_twice} entities and {records_twice} records created twice in the history, "
        f"{emitted_twice} changes emitted twice to the outbox")
    if created_twice or records_twice or emitted_twice:
        miss("something was applied twice")
    outbox = OutboxEvent.objects.aggregate(total=Count("id"), redelivered=Count("id", filter=_q_redelivered()))
    delivered = OutboxEvent.objects.filter(delivered_at__isnull=False).count()
    say(f"  outbox: {delivered} of {outbox['total']} rows delivered "
        f"({outbox['redelivered']} delivered more than once, which the graph's versions make harmless)")
    if delivered != outbox["total"]:
        miss(f"{outbox['total'] - delivered} outbox rows not delivered")
    if catch_up is None:
        miss("it never caught up after the last fault")
    else:
        say(f"  time to catch up after the last fault: {catch_up:.0f} s (target {catch_up_target:.0f} s)")
        if catch_up > catch_up_target:
            miss(f"catching up took {catch_up:.0f} s")
    configure()
    try:
        report = parity_check()
    except GraphUnavailable as exc:
        miss(f"graph_check could not reach Neo4j: {exc}")
    else:
        graph_entities = sum(report.graph_counts["entities"].values())
        graph_records = sum(report.graph_counts["records"].values())
        say(f"  graph_check: {'parity OK' if report.ok else f'{len(report.differences)} differences'} "
            f"(graph: {graph_entities} entities, {graph_records} records)")
        for line in report.differences[:10]:
            say(f"    DIFF {line}")
        if not report.ok:
            miss("the graph does not agree with the store of record")
    say(f"  workers started: {svc.workers_started}")
    say("  targets: " + ("all met" if not result.missed else f"{len(result.missed)} missed"))


def _q_redelivered():
    from django.db.models import Q

    return Q(deliveries__gt=1)
