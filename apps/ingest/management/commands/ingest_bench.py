"""manage.py ingest_bench [--n 3000] [--graph] [--seed 9] [--catalogue N]: synthesise an FtM file, import it, print the figures.

It writes into the configured database, so it refuses one that already holds entities: run it
on a database of its own, e.g. VENDORGRAPH_VAR_DIR=var/bench-ingest (migrate first). With
--graph it starts that folder's own Neo4j (NEO4J_DATA_DIR, NEO4J_BOLT_PORT), drains the outbox
into it and checks parity (graph_check), timed from the moment the store finished."""
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


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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
                            help="then drain the outbox into this folder's own Neo4j and check parity, timed")

    def handle(self, *args, n, seed, graph, no_matches, catalogue, **options):
        if Entity.objects.exists():
            raise CommandError("This database already holds entities: run the benchmark on one of its own, e.g. "
                               "VENDORGRAPH_VAR_DIR=var/bench-ingest manage.py migrate && "
                               "VENDORGRAPH_VAR_DIR=var/bench-ingest manage.py ingest_bench")
        user, _ = get_user_model().objects.get_or_create(username="ingest-bench", defaults={"is_superuser": True})
        if not user.is_superuser:
            raise CommandError("The user ingest-bench exists and is not an admin.")
        # Before the clock starts: this folder's own Redis (each committed chunk asks a worker to
        # drain the outbox, as in production: the benchmark measures that ask too) and, with
        # --graph, its own Neo4j and schema.
        call_command("redis_server", "start", stdout=self.stdout)
        if graph:
            call_command("graph_server", "start", stdout=self.stdout)
            call_command("graph_install", stdout=self.stdout)
        with tempfile.TemporaryDirectory() as tmp:
            if catalogue:
                base = Path(tmp) / "base.ftm.jsonl"
                ftm_synthesize(base, catalogue, seed + 1, prefix="base-")
                with override_settings(VENDORGRAPH_IMPORT_MATCHES=False):
                    done = import_job_run(job=import_job_create(user=user, path=base, dataset="bench-base"))
                self.stdout.write(f"catalogue before the timed import: {done.entities_created} entities, "
                                  f"{done.records_created} records (dataset bench-base)")
            path = Path(tmp) / "bench.ftm.jsonl"
            counts = ftm_synthesize(path, n, seed)
            total = sum(counts.values())
            self.stdout.write(f"synthesised {total} objects: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
            job = import_job_create(user=user, path=path, dataset="bench")
            self.stdout.write(f"load average before the import: {_load()}")
            started, cpu_started = time.perf_counter(), time.process_time()
            with override_settings(VENDORGRAPH_IMPORT_MATCHES=settings.VENDORGRAPH_IMPORT_MATCHES and not no_matches):
                job = import_job_run(job=job)
            seconds, cpu_job = time.perf_counter() - started, time.process_time() - cpu_started
        self.stdout.write(f"load average after the import: {_load()}")
        phases = getattr(job, "phase_seconds", {})
        store, cpu = phases.get("store", seconds), phases.get("store_cpu", seconds)
        self.stdout.write(f"store of record: {job.entities_created} entities, {job.records_created} records, "
                          f"{job.rows_refused} refused; rows written in {store:.1f} s = "
                          f"{total / store:.0f} objects/s into the store")
        # On a shared machine the wall clock counts the other processes too; the importer is
        # one thread, so its CPU time is what it would take on an idle core.
        self.stdout.write(f"CPU time of the store phase {cpu:.1f} s = {total / cpu:.0f} objects/s per core")
        if "matches" in phases:
            self.stdout.write(f"match proposals: {phases['proposed']} proposed in {phases['matches']:.1f} s "
                              f"(CPU {phases['matches_cpu']:.1f} s)")
        self.stdout.write(f"whole job ({'without' if no_matches else 'with'} the end-of-job match proposals) "
                          f"{seconds:.1f} s = "
                          f"{total / seconds:.0f} objects/s; CPU {cpu_job:.1f} s = {total / cpu_job:.0f} objects/s "
                          f"per CPU second")
        if graph:
            from apps.sync.parity import parity_check
            from apps.sync.selectors import sync_lag
            from apps.sync.services import outbox_drain

            started = time.perf_counter()
            while sync_lag().pending:
                outbox_drain()
            drained = time.perf_counter() - started
            report = parity_check()
            self.stdout.write(f"graph in sync {time.perf_counter() - started:.1f} s after the store finished "
                              f"(outbox drained in {drained:.1f} s); "
                              f"graph_check {'clean' if report.ok else f'{len(report.differences)} differences'}")
        self.stdout.write(f"peak memory of this process (the worker's work): {peak_rss_mb():.0f} MB")
