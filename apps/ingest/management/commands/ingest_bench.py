"""manage.py ingest_bench [--n 3000] [--db sqlite|postgres] [--graph] [--worker] [--seed 9] [--catalogue N]:
synthesise an FtM file, import it, print the figures.

With --db it runs on a folder of its own (var/bench-ingest, emptied first: SQLite, or the
project's own PostgreSQL; its own Redis and Neo4j on ports of its own; DEBUG off, as in
production), all stopped at the end. Without --db it writes into the configured database,
so it refuses one that already holds entities.

--graph: the graph is then brought in sync and checked (graph_check), timed from the moment
the job finished. By default one process drains the whole outbox after the import (the serial
figure). --worker is the deployed arrangement: a real Celery worker process (with its beat)
drains the outbox WHILE the job imports, as in production (where the import job runs in one
worker process and the drain in another), both competing for the same cores; it prints the
objects/s into the store under that competition, the time from the job's end until the
outbox is empty and graph_check is clean, and the draining worker's peak memory and CPU."""
import os
import resource
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings

from apps.catalog.models import Entity
from apps.ingest.bench import ftm_synthesize
from apps.ingest.services import import_job_create, import_job_run
from apps.ops import ownenv

FLAG = "VENDORGRAPH_INGEST_BENCH"
SYNC_TIMEOUT = 3600.0  # seconds the draining worker gets to empty the outbox before the benchmark gives up


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _group_usage(pgid: int) -> tuple[float, float]:
    """(largest peak resident memory of one process in MB, CPU seconds of all) of the live
    processes of process group `pgid` (a worker: its main process, its pool, its beat)."""
    peak, cpu, tick = 0.0, 0.0, os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[2]) != pgid:
                continue
            cpu += (int(fields[11]) + int(fields[12])) / tick
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) / 1024)
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
    return peak, cpu


def _process_cpu(pid: int | None) -> float | None:
    """CPU seconds process `pid` has used so far, or None (not on this machine, gone)."""
    if not pid:
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2:].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return None


def _neo4j_cpu() -> float | None:
    """CPU seconds the local Neo4j has used so far, or None."""
    from graph import server

    info = server.status(data_dir=settings.NEO4J_DATA_DIR, host=settings.NEO4J_BOLT_HOST,
                         port=settings.NEO4J_BOLT_PORT)
    return _process_cpu(info.pid)


def _backend_cpu() -> float | None:
    """PostgreSQL: CPU seconds of the server process serving this connection (the import's
    inserts cost there too, not in this process), or None."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return _process_cpu(cursor.fetchone()[0])


class Command(BaseCommand):
    help = "Benchmark the FtM import: objects/s into the store of record, time until the graph is in sync, peak memory."

    def add_arguments(self, parser):
        parser.add_argument("--n", type=int, default=3000, help="objects in the synthetic file")
        parser.add_argument("--seed", type=int, default=9)
        parser.add_argument("--no-matches", action="store_true",
                            help="skip the end-of-job name-match proposals (VENDORGRAPH_IMPORT_MATCHES=0)")
        parser.add_argument("--catalogue", type=int, default=0, metavar="N",
                            help="first import N other synthetic objects (another seed, untimed, no matches), "
                                 "so that the timed import's match proposals have entities to compare with")
        parser.add_argument("--graph", action="store_true",
                            help="then drain the outbox into this folder's own Neo4j (one process, after the "
                                 "import: the serial figure) and check parity, timed")
        parser.add_argument("--worker", action="store_true",
                            help="a real Celery worker drains the outbox during the import, as deployed "
                                 "(implies --graph)")
        parser.add_argument("--db", choices=["sqlite", "postgres"],
                            help="run on a folder, database and servers of its own (see --dir)")
        parser.add_argument("--dir", default="var/bench-ingest", help="with --db: the folder (emptied first)")
        parser.add_argument("--neo4j-port", type=int, default=7762)
        parser.add_argument("--redis-port", type=int, default=6462)
        parser.add_argument("--postgres-port", type=int, default=5462)

    def handle(self, *args, **opts):
        if opts["n"] < 1:
            raise CommandError("--n must be positive")
        if opts["db"] and os.environ.get(FLAG) != "1":
            argv = [f"--n={opts['n']}", f"--seed={opts['seed']}", f"--catalogue={opts['catalogue']}",
                    f"--db={opts['db']}"]
            argv += [f"--{name}" for name in ("no-matches", "graph", "worker") if opts[name.replace("-", "_")]]
            return ownenv.rerun("ingest_bench", argv, workdir=ownenv.folder(opts["dir"]), flag=FLAG, db=opts["db"],
                                neo4j_port=opts["neo4j_port"], redis_port=opts["redis_port"],
                                postgres_port=opts["postgres_port"])
        if opts["db"]:  # here: in the bench's own environment
            return self._own_folder(opts)
        return self._bench(opts, servers=None)

    def _own_folder(self, opts):
        import random

        from apps.ops.drill import Services

        workdir = Path(settings.VAR_DIR)
        ownenv.folder_wipe(workdir, name="bench-ingest", stamp=".ingest-bench")
        svc = Services(workdir=workdir, rng=random.Random(0), out=self.stdout.write)
        try:
            if svc.local_pg:
                svc.postgres_start()
            call_command("migrate", verbosity=0)
            self.stdout.write(f"database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]} in {workdir}")
            self._bench(opts, servers=svc)
        finally:
            svc.stop_all()

    def _servers_start(self, svc, *, graph: bool, worker: bool):
        """Before the clock starts: Redis (each committed chunk asks a worker to drain the
        outbox, as in production: the benchmark measures that ask too), with --graph Neo4j
        and its schema, with --worker the draining worker. Returns the worker or None."""
        from apps.ops.localworker import WorkerProcess

        if svc is not None:
            svc.redis_start()
            if graph:
                from graph.connection import configure

                svc.log(f"Neo4j started in {svc.neo4j_start():.0f} s")
                configure()
                call_command("graph_install", verbosity=0)
            if worker:
                svc.worker_start(concurrency=1, name="bench")
                return svc.worker
            return None
        call_command("redis_server", "start", stdout=self.stdout)
        if graph:
            call_command("graph_server", "start", stdout=self.stdout)
            call_command("graph_install", stdout=self.stdout)
        if worker:
            log = Path(settings.VAR_DIR) / "ingest-bench-worker.log"
            return WorkerProcess(log, name="bench@%h", env=dict(os.environ), beat=True, concurrency=1).start(
                timeout=120)
        return None

    def _bench(self, opts, *, servers):
        n, seed, no_matches, catalogue = opts["n"], opts["seed"], opts["no_matches"], opts["catalogue"]
        worker_wanted = opts["worker"]
        graph = opts["graph"] or worker_wanted
        if Entity.objects.exists():
            raise CommandError("This database already holds entities: run the benchmark on one of its own "
                               "(ingest_bench --db sqlite, or e.g. VENDORGRAPH_VAR_DIR=var/bench-ingest "
                               "manage.py migrate && VENDORGRAPH_VAR_DIR=var/bench-ingest manage.py ingest_bench)")
        user, _ = get_user_model().objects.get_or_create(username="ingest-bench", defaults={"is_superuser": True})
        if not user.is_superuser:
            raise CommandError("The user ingest-bench exists and is not an admin.")
        worker = None
        try:
            worker = self._servers_start(servers, graph=graph, worker=worker_wanted)
            self._run(n=n, seed=seed, no_matches=no_matches, catalogue=catalogue, graph=graph, worker=worker,
                      user=user)
        finally:
            if worker is not None and servers is None:
                worker.stop()

    def _run(self, *, n, seed, no_matches, catalogue, graph, worker, user):
        with tempfile.TemporaryDirectory() as tmp:
            if catalogue:
                base = Path(tmp) / "base.ftm.jsonl"
                ftm_synthesize(base, catalogue, seed + 1, prefix="base-")
                with override_settings(VENDORGRAPH_IMPORT_MATCHES=False):
                    done = import_job_run(job=import_job_create(user=user, path=base, dataset="bench-base"))
                self.stdout.write(f"catalogue before the timed import: {done.entities_created} entities, "
                                  f"{done.records_created} records (dataset bench-base)")
                if worker is not None:
                    self._wait_in_sync(timeout=SYNC_TIMEOUT)  # the timed import starts with the graph in sync
            path = Path(tmp) / "bench.ftm.jsonl"
            counts = ftm_synthesize(path, n, seed)
            total = sum(counts.values())
            self.stdout.write(f"synthesised {total} objects: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
            job = import_job_create(user=user, path=path, dataset="bench")
            self.stdout.write(f"load average before the import: {_load()}")
            neo4j_cpu = _neo4j_cpu() if graph else None
            worker_cpu = _group_usage(worker.proc.pid)[1] if worker is not None else 0.0
            backend_cpu = _backend_cpu()
            started, cpu_started = time.perf_counter(), time.process_time()
            with override_settings(VENDORGRAPH_IMPORT_MATCHES=settings.VENDORGRAPH_IMPORT_MATCHES and not no_matches):
                job = import_job_run(job=job)
            seconds, cpu_job = time.perf_counter() - started, time.process_time() - cpu_started
            finished = time.perf_counter()
            if backend_cpu is not None and (backend_now := _backend_cpu()) is not None:
                backend_cpu = backend_now - backend_cpu
        self.stdout.write(f"load average after the import: {_load()}")
        phases = getattr(job, "phase_seconds", {})
        store, cpu = phases.get("store", seconds), phases.get("store_cpu", seconds)
        self.stdout.write(f"store of record: {job.entities_created} entities, {job.records_created} records, "
                          f"{job.rows_refused} refused; rows written in {store:.1f} s = "
                          f"{total / store:.0f} objects/s into the store"
                          + (" (a worker draining the outbox meanwhile)" if worker is not None else ""))
        # On a shared machine the wall clock counts the other processes too; the importer is
        # one thread, so its CPU time is what it would take on an idle core.
        self.stdout.write(f"CPU time of the store phase {cpu:.1f} s = {total / cpu:.0f} objects/s per core")
        if backend_cpu is not None:
            self.stdout.write(f"CPU time of the PostgreSQL server process serving the job: {backend_cpu:.1f} s; "
                              f"together with the job's {total / (cpu_job + backend_cpu):.0f} objects/s per CPU second")
        if "matches" in phases:
            self.stdout.write(f"match proposals: {phases['proposed']} proposed in {phases['matches']:.1f} s "
                              f"(CPU {phases['matches_cpu']:.1f} s)")
        self.stdout.write(f"whole job ({'without' if no_matches else 'with'} the end-of-job match proposals) "
                          f"{seconds:.1f} s = "
                          f"{total / seconds:.0f} objects/s; CPU {cpu_job:.1f} s = {total / cpu_job:.0f} objects/s "
                          f"per CPU second")
        if graph:
            self._graph(finished=finished, worker=worker, worker_cpu=worker_cpu, neo4j_cpu=neo4j_cpu)
        self.stdout.write(f"peak memory of this process (the importing worker's work): {peak_rss_mb():.0f} MB")

    def _wait_in_sync(self, *, timeout: float) -> int:
        """Until a worker has drained the outbox; returns the rows still pending (0 when done)."""
        from apps.sync.models import OutboxEvent

        deadline = time.monotonic() + timeout
        while True:
            pending = OutboxEvent.objects.filter(delivered_at__isnull=True).count()
            if not pending or time.monotonic() > deadline:
                return pending
            time.sleep(0.5)

    def _graph(self, *, finished, worker, worker_cpu, neo4j_cpu):
        from apps.sync.models import OutboxEvent
        from apps.sync.parity import parity_check
        from apps.sync.services import outbox_drain

        total = OutboxEvent.objects.count()
        backlog = OutboxEvent.objects.filter(delivered_at__isnull=True).count()
        self.stdout.write(f"outbox when the job finished: {backlog} of {total} rows still to deliver")
        if worker is None:  # the serial figure: this process drains everything, after the import
            while OutboxEvent.objects.filter(delivered_at__isnull=True).exists():
                outbox_drain()
        else:
            left = self._wait_in_sync(timeout=SYNC_TIMEOUT)
            if left:
                raise CommandError(f"the worker left {left} outbox rows undelivered after {SYNC_TIMEOUT:.0f} s")
        drained = time.perf_counter() - finished
        report = parity_check()
        self.stdout.write(f"graph in sync {time.perf_counter() - finished:.1f} s after the job finished "
                          f"(outbox empty after {drained:.1f} s, "
                          f"{'drained by the worker during and after the import' if worker else 'drained here, after the import'}); "
                          f"graph_check {'clean' if report.ok else f'{len(report.differences)} differences'}")
        if neo4j_cpu is not None and (now := _neo4j_cpu()) is not None:
            self.stdout.write(f"Neo4j CPU from the import's start until in sync: {now - neo4j_cpu:.1f} s")
        if worker is not None:
            peak, cpu = _group_usage(worker.proc.pid)
            self.stdout.write(f"draining worker: CPU {cpu - worker_cpu:.1f} s from the import's start until in sync; "
                              f"peak memory {peak:.0f} MB (its largest process)")
