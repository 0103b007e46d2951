"""Benchmark the graph sync: batched UNWIND/MERGE vs row-by-row neomodel save().

Runs against its own Neo4j (var/bench/neo4j on port 7712, started and stopped here) unless
--url points at another one, so it never touches development or test data.
"""
import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

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

    def handle(self, *args, n, sample, batch_size, workers, warmup, url, port, **options):
        data_dir = Path(settings.VAR_DIR) / "bench" / "neo4j"
        started_here = False
        if not url:
            info = server.start(data_dir=data_dir, host="127.0.0.1", port=port, pagecache="1g", heap="2g",
                                timeout=settings.NEO4J_START_TIMEOUT)
            started_here = not info.reused
            url = f"bolt://neo4j:neo4j@127.0.0.1:{port}"
        configure(url)
        try:
            install_schema()
            schema_prune()
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
        create_s = bench.batched(changes, batch_size, workers)
        assert bench.count_nodes() == n
        updates = bench.synthetic_changes(n, version=2)
        update_s = bench.batched(updates, batch_size, workers)
        batched_create = n / create_s
        batched_update = n / update_s
        out(f"batched   create: {n} nodes in {create_s:.2f} s = {batched_create:,.0f} upserts/s (batch {batch_size}, {workers} writer(s))")
        out(f"batched   update: {n} nodes in {update_s:.2f} s = {batched_update:,.0f} upserts/s")

        bench.reset()
        rows = bench.synthetic_changes(sample, seed="rowbyrow")
        row_s = bench.row_by_row(rows)
        assert bench.count_nodes() == sample
        row_rate = sample / row_s
        out(f"row-by-row save(): {sample} nodes in {row_s:.2f} s = {row_rate:,.0f} upserts/s")
        ratio = batched_create / row_rate
        out(f"ratio batched/row-by-row: {ratio:.1f}x")
        out(f"targets: >= 25,000 upserts/s ({'met' if batched_create >= 25_000 else 'NOT met'}), "
            f">= 60x ({'met' if ratio >= 60 else 'NOT met'})")
        out(f"machine load while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        bench.reset()
