"""Benchmark the browsing pages on a synthetic graph of its own (never dev or test data).

    manage.py browse_bench [--entities 100000 --records 300000 --clients 8 --requests 400]

Uses var/bench-browse/ (a SQLite file and an embedded Neo4j on port 7711 by default); the
store is built once and reused while its size matches (--rebuild forces a new one).
Measures the entity page through Django's test Client and the ownership chain query
(graph.queries.ownership_chains) directly, each from `--clients` concurrent threads, and
prints p50/p95 against the targets (entity page p95 <= 150 ms, chain p95 <= 25 ms).
"""
from __future__ import annotations

import random
import statistics
import threading
import time
from pathlib import Path

from django.conf import settings
from django.core.management import BaseCommand, call_command

TARGETS = {"entity page": 150.0, "ownership chain": 25.0}


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, int(round(pct / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


def run_concurrently(work: list, fn, clients: int) -> list[float]:
    """Run fn(item) for every item from `clients` threads; latencies in ms."""
    latencies: list[float] = []
    lock = threading.Lock()
    queue = list(work)

    def worker():
        from django.db import connection

        local = []
        while True:
            with lock:
                if not queue:
                    break
                item = queue.pop()
            started = time.perf_counter()
            fn(item)
            local.append((time.perf_counter() - started) * 1000)
        connection.close()
        with lock:
            latencies.extend(local)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies


class Command(BaseCommand):
    help = "Benchmark the entity page and the ownership chain on a synthetic graph (own SQLite and Neo4j)."

    def add_arguments(self, parser):
        parser.add_argument("--entities", type=int, default=100_000)
        parser.add_argument("--records", type=int, default=300_000)
        parser.add_argument("--clients", type=int, default=8)
        parser.add_argument("--requests", type=int, default=400, help="measured requests per benchmark")
        parser.add_argument("--dir", default=str(Path(settings.VAR_DIR) / "bench-browse"))
        parser.add_argument("--port", type=int, default=7711)
        parser.add_argument("--rebuild", action="store_true")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--server", choices=["gunicorn", "client"], default="gunicorn",
                            help="serve the pages with gunicorn (real HTTP, --workers processes) or call them "
                                 "through Django's test Client in this process")
        parser.add_argument("--workers", type=int, default=3)
        parser.add_argument("--http-port", type=int, default=8711)

    def handle(self, *args, **opts):
        from django.db import connections

        from graph import server
        from graph.connection import configure
        from graph.sync import clear_graph, install_schema

        base = Path(opts["dir"])
        base.mkdir(parents=True, exist_ok=True)
        db_path = base / "bench.sqlite3"
        if opts["rebuild"] and db_path.exists():
            for suffix in ("", "-wal", "-shm"):
                Path(str(db_path) + suffix).unlink(missing_ok=True)

        # Our own store of record: every connection (one per thread) opens this file.
        settings.DEBUG = False
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        connections.close_all()
        settings.DATABASES["default"]["NAME"] = str(db_path)
        connections.settings["default"]["NAME"] = str(db_path)
        connections["default"].settings_dict["NAME"] = str(db_path)
        call_command("migrate", verbosity=0, interactive=False)

        # Our own Neo4j.
        self.stdout.write(f"Neo4j for the benchmark: {base / 'neo4j'} on port {opts['port']}")
        info = server.start(data_dir=base / "neo4j", port=opts["port"], heap="2g", pagecache="1g",
                            timeout=settings.NEO4J_START_TIMEOUT)
        configure(f"bolt://neo4j:neo4j@127.0.0.1:{opts['port']}")
        install_schema()

        from apps.browse.bench import build_synthetic
        from apps.catalog.models import Entity, Record

        have = (Entity.objects.count(), Record.objects.count())
        if have != (opts["entities"], opts["records"]):
            if have != (0, 0):
                self.stderr.write(f"The benchmark store holds {have}; rerun with --rebuild to start again.")
                return
            self.stdout.write(f"Building {opts['entities']} entities and {opts['records']} records ...")
            clear_graph()
            started = time.monotonic()
            build_synthetic(entities=opts["entities"], records=opts["records"], seed=opts["seed"], stdout=self.stdout)
            self.stdout.write(f"Built in {time.monotonic() - started:.0f} s")
        else:
            self.stdout.write(f"Reusing the benchmark store ({have[0]} entities, {have[1]} records)")
        self.measure(opts, db_path)

    def start_gunicorn(self, opts, db_path: Path):
        import os
        import subprocess
        import sys
        import urllib.request

        env = dict(os.environ, DATABASE_URL=f"sqlite:///{db_path.resolve()}", DJANGO_DEBUG="0",
                   NEO4J_URL=f"bolt://neo4j:neo4j@127.0.0.1:{opts['port']}", DJANGO_ALLOWED_HOSTS="127.0.0.1",
                   DJANGO_SETTINGS_MODULE="config.settings.dev", LOG_LEVEL="WARNING")
        gunicorn = Path(sys.executable).with_name("gunicorn")
        proc = subprocess.Popen([str(gunicorn), "config.wsgi:application", "--workers", str(opts["workers"]),
                                 "--bind", f"127.0.0.1:{opts['http_port']}", "--log-level", "warning"],
                                cwd=settings.BASE_DIR, env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{opts['http_port']}/search/", timeout=2).read()
                return proc
            except OSError:
                time.sleep(0.5)
        proc.terminate()
        raise RuntimeError("gunicorn did not start")

    def measure(self, opts, db_path):
        from django.db.models import Count
        from django.test import Client

        from apps.catalog.models import Entity, Record
        from graph import queries

        rng = random.Random(opts["seed"])
        clients, n = opts["clients"], opts["requests"]
        all_uuids = list(Entity.objects.values_list("uuid", flat=True))
        hubs = list(Record.objects.values("object").annotate(n=Count("id")).order_by("-n")
                    .values_list("object__uuid", flat=True)[:5])
        owned = list(Record.objects.filter(kind="ownership").values_list("object__uuid", flat=True).distinct())
        # Bottoms of the longest chains weigh in: pick entities with owners, uniformly.
        entity_sample = [str(rng.choice(all_uuids)) for _ in range(n)]
        chain_sample = [str(rng.choice(owned)) for _ in range(n)]

        local = threading.local()
        proc = None
        if opts["server"] == "gunicorn":
            import urllib.request

            proc = self.start_gunicorn(opts, db_path)
            self.stdout.write(f"Entity pages served by gunicorn ({opts['workers']} worker processes) over HTTP")

            def get_entity(uid):
                with urllib.request.urlopen(f"http://127.0.0.1:{opts['http_port']}/entities/{uid}/", timeout=30) as r:
                    r.read()
                    assert r.status == 200, r.status
        else:
            self.stdout.write("Entity pages called through Django's test Client in this process")

            def get_entity(uid):
                client = getattr(local, "client", None)
                if client is None:
                    client = local.client = Client()
                response = client.get(f"/entities/{uid}/")
                assert response.status_code == 200, response.status_code

        def chain(uid):
            queries.ownership_chains(uid)

        self.stdout.write(f"Warming up ({clients} clients) ...")
        run_concurrently(entity_sample[: n // 4], get_entity, clients)
        run_concurrently(chain_sample[: n // 4], chain, clients)

        results = {}
        started = time.monotonic()
        results["entity page"] = run_concurrently(entity_sample, get_entity, clients)
        page_secs = time.monotonic() - started
        started = time.monotonic()
        results["ownership chain"] = run_concurrently(chain_sample, chain, clients)
        chain_secs = time.monotonic() - started
        hub_times = run_concurrently([str(h) for h in hubs] * 4, get_entity, clients)
        if proc is not None:
            proc.terminate()
            proc.wait(20)

        depths = [max((len(c["steps"]) for c in queries.ownership_chains(u)["chains"]), default=0)
                  for u in chain_sample[:200]]
        self.stdout.write("")
        self.stdout.write(f"{'benchmark':<18}{'requests':>9}{'p50 ms':>9}{'p95 ms':>9}{'target p95':>12}  result")
        for name, values in results.items():
            p50, p95 = percentile(values, 50), percentile(values, 95)
            verdict = "OK" if p95 <= TARGETS[name] else "MISSED"
            self.stdout.write(f"{name:<18}{len(values):>9}{p50:>9.1f}{p95:>9.1f}{TARGETS[name]:>10.0f} ms  {verdict}")
        self.stdout.write(f"(entity pages: {len(results['entity page']) / page_secs:.0f} req/s; chains: "
                          f"{len(results['ownership chain']) / chain_secs:.0f} queries/s; {clients} concurrent clients)")
        self.stdout.write(f"hub entity pages (5 busiest entities): p50 {percentile(hub_times, 50):.1f} ms, "
                          f"max {max(hub_times):.1f} ms")
        self.stdout.write(f"chain depth in the sample: mean {statistics.mean(depths):.1f}, max {max(depths)}")
