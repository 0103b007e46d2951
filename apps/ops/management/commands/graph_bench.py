"""Benchmark the graph sync: batched UNWIND/MERGE vs row-by-row neomodel save().

Runs against its own Neo4j (var/bench/neo4j on port 7712, started and stopped here) unless
--url points at another one, so it never touches development or test data.

`--drain N` measures the outbox drain instead: it fills the (empty) outbox of the configured
database with N import-like rows and times `outbox_drain` until none is pending, in wall
seconds and in CPU seconds of this process and of Neo4j. Run it on a database of its own,
e.g. `VENDORGRAPH_VAR_DIR=var/bench-drain manage.py migrate` first.
"""
import os
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from graph import bench, server
from graph.connection import configure
from graph.sync import install_schema, schema_prune


class Command(BaseCommand):
    help = "Measure node upserts/s of the batched sync path and of row-by-row neomodel save()."

    def add_arguments(self, parser):
        parser.add_argument("--n", type=int, default=100_000, help="rows for the batched path")
        parser.add_argument("--sample", type=int, default=2_000, help="rows for the row-by-row path")
        parser.add_argument("--batch-size", type=int, default=5_000)
        parser.add_argument("--workers", type=int, default=2, help="concurrent batch writers (like Celery processes)")
        parser.add_argument("--warmup", type=int, default=60_000,
                            help="rows written (and discarded) first: the JVM's JIT needs them to reach speed")
        parser.add_argument("--url", help="use this Neo4j instead of starting a bench server (it will be CLEARED)")
        parser.add_argument("--port", type=int, default=7712)
        parser.add_argument("--drain", type=int, default=0, metavar="N",
                            help="instead: time the outbox drain of N import-like rows (needs an empty outbox)")
        parser.add_argument("--drain-workers", type=int, default=1, help="concurrent drains (--drain)")
        parser.add_argument("--drain-batch", type=int, default=None, help="rows per batch (default OUTBOX_BATCH_SIZE)")

    def handle(self, *args, n, sample, batch_size, workers, warmup, url, port, drain, drain_workers, drain_batch,
               **options):
        if drain:
            from apps.sync.models import OutboxEvent

            if OutboxEvent.objects.exists():
                raise CommandError("The outbox of this database is not empty: run --drain on a database of its own, "
                                   "e.g. VENDORGRAPH_VAR_DIR=var/bench-drain manage.py migrate first")
        data_dir = Path(settings.VAR_DIR) / "bench" / "neo4j"
        started_here = False
        if not url:
            info = server.start(data_dir=data_dir, host="127.0.0.1", port=port, pagecache="1g", heap="2g",
                                timeout=settings.NEO4J_START_TIMEOUT)
            started_here = not info.reused
            url = f"bolt://neo4j:neo4j@127.0.0.1:{port}"
            self.neo4j_pid = info.pid
        else:
            self.neo4j_pid = None
        configure(url)
        try:
            install_schema()
            schema_prune()
            if drain:
                self._drain(drain, drain_workers, drain_batch)
            else:
                self._run(n, sample, batch_size, workers, warmup)
        finally:
            if started_here:
                server.stop(data_dir=data_dir)

    def _run(self, n, sample, batch_size, workers, warmup):
        out = self.stdout.write
        bench.reset()
        if warmup:
            bench.batched(bench.synthetic_changes(warmup, seed="warmup"), batch_size, workers)
            bench.row_by_row(bench.synthetic_changes(200, seed="warmup-rows"))
        bench.reset()

        changes = bench.synthetic_changes(n)
        cpu = self._cpu()
        create_s = bench.batched(changes, batch_size, workers)
        create_cpu = self._cpu(cpu)
        assert bench.count_nodes() == n
        updates = bench.synthetic_changes(n, version=2)
        cpu = self._cpu()
        update_s = bench.batched(updates, batch_size, workers)
        update_cpu = self._cpu(cpu)
        batched_create = n / create_s
        batched_update = n / update_s
        out(f"batched   create: {n} nodes in {create_s:.2f} s = {batched_create:,.0f} upserts/s (batch {batch_size}, "
            f"{workers} writer(s)){self._per_cpu(n, create_cpu)}")
        out(f"batched   update: {n} nodes in {update_s:.2f} s = {batched_update:,.0f} upserts/s"
            f"{self._per_cpu(n, update_cpu)}")

        bench.reset()
        rows = bench.synthetic_changes(sample, seed="rowbyrow")
        cpu = self._cpu()
        row_s = bench.row_by_row(rows)
        row_cpu = self._cpu(cpu)
        assert bench.count_nodes() == sample
        row_rate = sample / row_s
        out(f"row-by-row save(): {sample} nodes in {row_s:.2f} s = {row_rate:,.0f} upserts/s"
            f"{self._per_cpu(sample, row_cpu)}")
        ratio = batched_create / row_rate
        out(f"ratio batched/row-by-row: {ratio:.1f}x")
        out(f"targets: >= 25,000 upserts/s ({'met' if batched_create >= 25_000 else 'NOT met'}), "
            f">= 60x ({'met' if ratio >= 60 else 'NOT met'})")
        out(f"machine load while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        bench.reset()

    def _cpu(self, since: tuple | None = None) -> tuple[float | None, float]:
        """(Neo4j CPU seconds, this process's CPU seconds), or the difference to `since`: on a
        shared machine the rate per CPU-second says what the code costs, the wall clock the load."""
        from apps.sync.bench import cpu_seconds

        now = (cpu_seconds(self.neo4j_pid) if self.neo4j_pid else None, time.process_time())
        if since is None:
            return now
        return (None if now[0] is None else now[0] - since[0], now[1] - since[1])

    @staticmethod
    def _per_cpu(n: int, cpu: tuple) -> str:
        neo4j, python = cpu
        text = f"; CPU: this process {python:.1f} s"
        if neo4j is not None:
            text += f", Neo4j {neo4j:.1f} s = {n / max(neo4j, 1e-9):,.0f} per Neo4j CPU-second"
        return text

    def _drain(self, n, workers, batch_size):
        from apps.sync import bench as drain_bench
        from apps.sync.models import OutboxEvent

        out = self.stdout.write
        bench.reset()
        try:
            rows = drain_bench.outbox_fill(n)
            out(f"outbox filled with {rows} import-like rows (a third entities, two thirds records)")
            f = drain_bench.drain_timed(workers=workers, batch_size=batch_size, neo4j_pid=self.neo4j_pid)
            entities, records = bench.count_nodes(), bench.count_relationships()
            out(f"drained {f.rows} rows in {f.seconds:.1f} s = {f.rows / f.seconds:,.0f} rows/s "
                f"({workers} drain(s), batch {batch_size or settings.OUTBOX_BATCH_SIZE}, {f.result.batches} batches, "
                f"{f.result.waiting} waits for an endpoint); graph: {entities} entities, {records} relationships")
            out(f"CPU: this process {f.python_cpu:.1f} s = {f.rows / max(f.python_cpu, 1e-9):,.0f} rows per CPU-second"
                + ("" if f.neo4j_cpu is None else
                   f"; Neo4j {f.neo4j_cpu:.1f} s = {f.rows / max(f.neo4j_cpu, 1e-9):,.0f} rows per Neo4j CPU-second")
                + ("" if f.database_cpu is None else f"; PostgreSQL's server process {f.database_cpu:.1f} s"))
            out(f"machine load: {f.load[0]:.1f} before, {f.load[1]:.1f} after, on {os.cpu_count()} cores; "
                f"database {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}")
            if OutboxEvent.objects.filter(delivered_at__isnull=True).exists():
                raise CommandError("rows left pending after the drain")
        finally:
            OutboxEvent.objects.all().delete()
            bench.reset()
