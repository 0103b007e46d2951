"""Benchmark the browsing pages on a synthetic graph of its own (never dev or test data).

    manage.py browse_bench [--db sqlite|postgres] [--entities 1000000 --records 5000000]
                           [--clients 16 --requests 400] [--ops]

Uses var/bench-browse/ (SQLite) or var/bench-browse-pg/ (the project's own PostgreSQL,
started here on --pg-port) with an embedded Neo4j (--port) and a Redis (--redis-port) of
its own; the store is built once and reused while its size matches (--rebuild forces a new
one). The pages are served by gunicorn over HTTP and requested by `--clients` concurrent
clients; the graph queries are also timed directly, beside the same questions answered by
the store of record alone (recursive CTEs, apps.browse.bench_sql). Prints p50/p95 against
the targets, the store and graph build times, the web workers' memory and, with --ops,
the time of `graph_check` and `graph_rebuild` on the full graph.
"""
from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.management import BaseCommand, CommandError, call_command

# p95 targets, ms (issue 13).
TARGETS = {
    "entity page": 150.0,
    "busiest entities' pages": 400.0,
    "ownership chain": 15.0,
    "path finder page (4 steps)": 100.0,
    "search page": 100.0,
    "suggestions": 100.0,
    "timeline by vendor": 200.0,
    "timeline first page": 300.0,
    "country page": 300.0,
}
WORKER_RSS_TARGET_MB = 300
PG_DATABASE = "vendorgraph_bench"


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, int(round(pct / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


def run_concurrently(work: list, fn, clients: int, budget: float = 1e9) -> tuple[list[float], int]:
    """Run fn(item) for every item from `clients` threads: (latencies in ms, errors). No new
    item starts after `budget` seconds (a slow page must not stall the whole run)."""
    deadline = time.monotonic() + budget
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    queue = list(work)

    def worker():
        from django.db import connection

        local = []
        failed = 0
        while True:
            with lock:
                if not queue or time.monotonic() > deadline:
                    break
                item = queue.pop()
            started = time.perf_counter()
            try:
                fn(item)
            except Exception:  # noqa: BLE001 -- counted and reported, the run goes on
                failed += 1
                continue
            local.append((time.perf_counter() - started) * 1000)
        connection.close()
        with lock:
            latencies.extend(local)
            errors[0] += failed

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors[0]


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


class Command(BaseCommand):
    help = "Benchmark the browsing pages and graph queries on a synthetic graph (own database, Neo4j and Redis)."

    def add_arguments(self, parser):
        parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
        parser.add_argument("--entities", type=int, default=100_000)
        parser.add_argument("--records", type=int, default=300_000)
        parser.add_argument("--clients", type=int, default=16)
        parser.add_argument("--requests", type=int, default=400, help="measured requests per benchmark")
        parser.add_argument("--dir", help="data folder (default var/bench-browse, or var/bench-browse-pg)")
        parser.add_argument("--port", type=int, default=7711, help="the bench Neo4j's Bolt port")
        parser.add_argument("--pg-port", type=int, default=5463, help="the bench PostgreSQL's port")
        parser.add_argument("--redis-port", type=int, default=6463, help="the bench Redis's port")
        parser.add_argument("--neo4j-heap", default="3g")
        parser.add_argument("--neo4j-pagecache", default="4g")
        parser.add_argument("--rebuild", action="store_true")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
        parser.add_argument("--http-port", type=int, default=8711)
        parser.add_argument("--budget", type=float, default=120.0,
                            help="seconds at most per benchmark (fewer requests are then measured)")
        parser.add_argument("--ops", action="store_true", help="also time graph_check")
        parser.add_argument("--ops-rebuild", action="store_true", help="also time graph_rebuild on the full graph")
        parser.add_argument("--keep", action="store_true", help="leave the bench servers running")
        parser.add_argument("--build-only", action="store_true",
                            help="build (or check) the store and graph, measure nothing (page_profile can then run)")
        parser.add_argument("--reuse-graph", action="store_true",
                            help="the bench Neo4j already holds this synthetic graph (same --entities, --records and "
                                 "--seed, built on the other database): build only the store, then check parity")
        parser.add_argument("--child", action="store_true", help="(internal) run with the bench database configured")

    # --- parent: servers and a child process configured for the bench database ----------

    def handle(self, *args, **opts):
        if opts["child"]:
            return self.child(opts)
        from apps.ops import localpg, localredis
        from graph import server

        base = Path(opts["dir"] or Path(settings.VAR_DIR) / ("bench-browse-pg" if opts["db"] == "postgres"
                                                              else "bench-browse"))
        opts["dir"] = str(base)
        base.mkdir(parents=True, exist_ok=True)
        user, password = "vendorgraph", "vendorgraph"
        if opts["rebuild"]:
            server.stop(data_dir=base / "neo4j")
            shutil.rmtree(base / "neo4j", ignore_errors=True)
            for suffix in ("", "-wal", "-shm"):
                Path(f"{base / 'bench.sqlite3'}{suffix}").unlink(missing_ok=True)
        env = dict(os.environ, REDIS_URL=f"redis://127.0.0.1:{opts['redis_port']}/0")
        pg_dir = base / "postgres"
        if opts["db"] == "postgres":
            # A throw-away benchmark cluster: no fsync, bigger buffers than the test clusters.
            localpg.start(data_dir=pg_dir, port=opts["pg_port"], user=user, password=password,
                          durable=False, shared_buffers="1GB")
            if opts["rebuild"]:
                import psycopg

                with psycopg.connect(host="127.0.0.1", port=opts["pg_port"], user=user, password=password,
                                     dbname="postgres", autocommit=True) as conn:
                    conn.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
            localpg.database_ensure(host="127.0.0.1", port=opts["pg_port"], user=user, password=password,
                                    name=PG_DATABASE)
            env["DATABASE_URL"] = f"postgres://{user}:{password}@127.0.0.1:{opts['pg_port']}/{PG_DATABASE}"
        else:
            env["DATABASE_URL"] = f"sqlite:///{(base / 'bench.sqlite3').resolve()}"
        localredis.start(data_dir=base / "redis", port=opts["redis_port"])
        argv = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "browse_bench", "--child"]
        for name in ("db", "entities", "records", "clients", "requests", "dir", "port", "neo4j_heap",
                     "neo4j_pagecache", "seed", "workers", "http_port", "budget"):
            argv += [f"--{name.replace('_', '-')}", str(opts[name])]
        for flag in ("ops", "ops_rebuild", "build_only", "reuse_graph"):
            if opts[flag]:
                argv.append(f"--{flag.replace('_', '-')}")
        try:
            code = subprocess.run(argv, env=env).returncode
        finally:
            if not opts["keep"]:
                server.stop(data_dir=base / "neo4j")
                localredis.stop(data_dir=base / "redis")
                if opts["db"] == "postgres":
                    localpg.stop(data_dir=pg_dir)
        if code:
            raise CommandError(f"the benchmark failed (exit {code})")

    # --- child: build (or reuse) the graph, then measure -----------------------------------

    def child(self, opts):
        from django.db import connection

        from graph import server
        from graph.connection import configure
        from graph.sync import graph_is_empty, install_schema

        base = Path(opts["dir"])
        settings.DEBUG = False
        call_command("migrate", verbosity=0, interactive=False)
        self.stdout.write(f"Store of record: {connection.vendor} ({connection.settings_dict['NAME']})")
        self.stdout.write(f"Neo4j for the benchmark: {base / 'neo4j'} on port {opts['port']} "
                          f"(heap {opts['neo4j_heap']}, page cache {opts['neo4j_pagecache']})")
        server.start(data_dir=base / "neo4j", port=opts["port"], heap=opts["neo4j_heap"],
                     pagecache=opts["neo4j_pagecache"], timeout=settings.NEO4J_START_TIMEOUT)
        configure(f"bolt://neo4j:neo4j@127.0.0.1:{opts['port']}")
        install_schema()

        from apps.browse.bench import build_synthetic
        from apps.catalog.models import Entity, Record

        have = (Entity.objects.count(), Record.objects.count())
        build = None
        # The graph is built offline by Neo4j's bulk importer (graph_rebuild --bulk), which
        # stops and restarts this bench server.
        bulk = {"data_dir": base / "neo4j", "server_options": {
            "port": opts["port"], "heap": opts["neo4j_heap"], "pagecache": opts["neo4j_pagecache"],
            "timeout": settings.NEO4J_START_TIMEOUT}}
        if have != (opts["entities"], opts["records"]):
            if have != (0, 0):
                raise CommandError(f"The benchmark store holds {have}; rerun with --rebuild to start again.")
            if opts["reuse_graph"]:
                build = self.build_store_for_graph(opts)
            else:
                self.stdout.write(f"Building {opts['entities']} entities and {opts['records']} records ...")
                build = build_synthetic(entities=opts["entities"], records=opts["records"], seed=opts["seed"],
                                        bulk=bulk, stdout=self.stdout)
                self.stdout.write(f"Store built in {build.seconds_store:.0f} s, graph built (graph_rebuild --bulk) "
                                  f"in {build.seconds_graph:.0f} s (target <= 600 s)")
        else:
            self.stdout.write(f"Reusing the benchmark store ({have[0]} entities, {have[1]} records)")
            if graph_is_empty():  # e.g. a copied store, or a new Neo4j folder
                from apps.sync.parity import graph_rebuild_bulk

                done = graph_rebuild_bulk(stdout=self.stdout, **bulk)
                self.stdout.write(f"Graph built (graph_rebuild --bulk) in {done['seconds']:.0f} s (CSV "
                                  f"{done['seconds_csv']:.0f} s, import {done['seconds_import']:.0f} s, server "
                                  f"stop/start {done['seconds_stop'] + done['seconds_start']:.0f} s, indexes "
                                  f"{done['seconds_indexes']:.0f} s; CPU seconds: CSV {done['cpu_csv']:.0f}, import "
                                  f"{done['cpu_import']:.0f}; target <= 600 s)")
        if opts["build_only"]:
            return
        self.measure(opts, build)
        if opts["ops"] or opts["ops_rebuild"]:
            self.ops(rebuild=opts["ops_rebuild"])

    def build_store_for_graph(self, opts):
        """--reuse-graph: the synthetic data is seeded (names, uuids and shape come from one
        random.Random(seed)), so the store built here is the one whose graph the bench Neo4j
        already holds (e.g. built on the other database). Build only the store, then prove it:
        a graph_check that finds any difference fails the command."""
        from apps.browse.bench import build_synthetic
        from apps.sync.parity import parity_check
        from graph.sync import graph_totals

        in_graph = graph_totals()
        if in_graph != (opts["entities"], opts["records"]):
            raise CommandError(f"--reuse-graph: the bench graph holds {in_graph[0]} entities and {in_graph[1]} "
                               f"records, not {opts['entities']} and {opts['records']}")
        self.stdout.write(f"Building the store only ({opts['entities']} entities, {opts['records']} records); "
                          f"the graph is reused ...")
        build = build_synthetic(entities=opts["entities"], records=opts["records"], seed=opts["seed"],
                                graph=False, stdout=self.stdout)
        self.stdout.write(f"Store built in {build.seconds_store:.0f} s; checking the reused graph against it ...")
        started = time.monotonic()
        report = parity_check()
        if not report.ok:
            for line in report.differences[:20]:
                self.stdout.write(f"  {line}")
            raise CommandError(f"--reuse-graph: the graph is not this store's ({len(report.differences)} differences, "
                               f"the first above); "
                               "rerun without --reuse-graph and with --rebuild")
        self.stdout.write(f"graph_check: parity OK in {time.monotonic() - started:.0f} s (the reused graph is this "
                          f"store's)")
        return build

    def ops(self, *, rebuild: bool):
        from apps.sync.parity import graph_rebuild, parity_check

        started = time.monotonic()
        report = parity_check()
        check_s = time.monotonic() - started
        self.stdout.write(f"graph_check: {'parity OK' if report.ok else f'{len(report.differences)} differences'} "
                          f"in {check_s:.0f} s (target <= 120 s)")
        if not rebuild:
            return
        written = graph_rebuild(stdout=self.stdout)
        self.stdout.write(f"graph_rebuild on the full graph: {written['seconds']:.0f} s (entities "
                          f"{written['seconds_entities']:.0f} s, records {written['seconds_records']:.0f} s, prune "
                          f"{written['seconds_prune']:.0f} s; target <= 600 s)")

    def start_gunicorn(self, opts):
        env = dict(os.environ, DJANGO_DEBUG="0", NEO4J_URL=f"bolt://neo4j:neo4j@127.0.0.1:{opts['port']}",
                   DJANGO_ALLOWED_HOSTS="127.0.0.1", DJANGO_SETTINGS_MODULE="config.settings.dev",
                   LOG_LEVEL="WARNING", RATE_PATHS="1000000/min", RATE_SUGGEST="1000000/min",
                   RATE_CONNECTIONS="1000000/min")
        gunicorn = Path(sys.executable).with_name("gunicorn")
        proc = subprocess.Popen([str(gunicorn), "config.wsgi:application", "--workers", str(opts["workers"]),
                                 "--bind", f"127.0.0.1:{opts['http_port']}", "--log-level", "warning",
                                 "--timeout", "120"], cwd=settings.BASE_DIR, env=env)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{opts['http_port']}/healthz", timeout=5).read()
                return proc
            except urllib.error.HTTPError:
                return proc  # it answers (healthz may report a degraded part)
            except OSError:
                time.sleep(0.5)
        proc.terminate()
        raise CommandError("gunicorn did not start")

    def progress(self, name, result, unit):
        """One line as soon as a benchmark ends (a run stopped early still says something)."""
        values, errors = result
        self.stdout.write(f"  {name}: {len(values)} {unit}, {errors} errors, p50 {percentile(values, 50):.1f} ms, "
                          f"p95 {percentile(values, 95):.1f} ms")
        self.stdout.flush()

    def measure(self, opts, build):
        from django.db import connection
        from django.db.models import Count

        from apps.browse import bench_sql
        from apps.catalog.models import Entity, Record
        from graph import queries

        rng = random.Random(opts["seed"])
        clients, n, budget = opts["clients"], opts["requests"], opts["budget"]
        http = f"http://127.0.0.1:{opts['http_port']}"
        # Samples: ids drawn at random, then their uuids (no million-row list in memory).
        max_id = Entity.objects.order_by("-id").values_list("id", flat=True).first()

        def random_entities(count):
            ids = [rng.randint(1, max_id) for _ in range(count)]
            return [str(u) for u in Entity.objects.filter(id__in=ids).values_list("uuid", flat=True)]

        entity_sample = random_entities(n)
        busiest = [str(u) for u in Record.objects.values("object").annotate(c=Count("id")).order_by("-c")
                   .values_list("object__uuid", flat=True)[:5]]
        owned_ids = list(Record.objects.filter(kind="ownership").order_by("?").values_list("object_id", flat=True)[:n])
        chain_sample = [str(u) for u in Entity.objects.filter(id__in=owned_ids).values_list("uuid", flat=True)]
        pairs = list(zip(random_entities(n), random_entities(n)))
        names = list(Entity.objects.filter(id__in=[rng.randint(1, max_id) for _ in range(n)])
                     .exclude(kind="country").values_list("name", flat=True))
        # A word and the number of a real name: "Tekvo Holdings 4711" -> "Tekvo 4711".
        queries_q = [f"{name.split()[0]} {name.split()[-1]}" for name in names]
        prefixes = [name.split()[0][:5] for name in names]
        countries = list(Entity.objects.filter(kind="country").values_list("iso_code", flat=True))
        companies = random_entities(n)

        def get(path):
            with urllib.request.urlopen(http + path, timeout=120) as response:
                response.read()
                if response.status != 200:
                    raise RuntimeError(response.status)

        q = urllib.parse.quote
        pages = {
            "entity page": [f"/entities/{u}/" for u in entity_sample],
            "busiest entities' pages": [f"/entities/{u}/" for u in busiest] * max(1, n // 20),
            "path finder page (4 steps)": [f"/paths/?from={a}&to={b}&hops=4" for a, b in pairs],
            "search page": [f"/search/?q={q(x)}" for x in queries_q],
            "suggestions": [f"/search/suggest/?q={q(x)}" for x in prefixes],
            "timeline by vendor": [f"/timeline/?vendor={u}" for u in (busiest + companies)[:n]],
            "timeline first page": ["/timeline/"] * n,
            "country page": [f"/countries/{iso}/" for iso in countries] * max(1, n // max(1, len(countries))),
        }
        results: dict[str, tuple[list[float], int]] = {}
        proc = self.start_gunicorn(opts)
        worker_rss = []
        try:
            self.stdout.write(f"Pages served by gunicorn ({opts['workers']} worker processes), {clients} clients")
            for name, paths in pages.items():
                run_concurrently(paths[: max(clients, len(paths) // 10)], get, clients, budget / 4)  # warm-up
                results[name] = run_concurrently(paths, get, clients, budget)
                self.progress(name, results[name], "requests")
            worker_rss = [rss_mb(pid) for pid in children(proc.pid)]
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:  # a worker stuck in a slow page
                proc.kill()
                proc.wait(30)

        # Graph queries directly, and the same questions answered by the store alone.
        def chain(uid):
            queries.ownership_chains(uid)

        side = {
            "ownership chain": (chain_sample, chain),
            "ownership edges, Neo4j": (chain_sample, lambda u: queries.ownership_edges(u)),
            f"ownership edges, {connection.vendor} CTE": (chain_sample, lambda u: bench_sql.ownership_up_edges_sql(u)),
            "4-step path, Neo4j": (pairs, lambda p: queries.paths_between(p[0], p[1], max_hops=4)),
            f"4-step path, {connection.vendor} CTE": (pairs[: max(clients, n // 4)],
                                                     lambda p: bench_sql.shortest_paths_sql(p[0], p[1], max_hops=4)),
        }
        for name, (work, fn) in side.items():
            run_concurrently(work[: max(clients, len(work) // 10)], fn, clients, budget / 4)
            results[name] = run_concurrently(work, fn, clients, budget)
            self.progress(name, results[name], "queries")

        depths = [max((len(c["steps"]) for c in queries.ownership_chains(u)["chains"]), default=0)
                  for u in chain_sample[:200]]
        self.stdout.write("")
        self.stdout.write(f"{'benchmark':<34}{'n':>6}{'err':>5}{'p50 ms':>9}{'p95 ms':>9}{'target p95':>12}  result")
        for name, (values, errors) in results.items():
            p50, p95 = percentile(values, 50), percentile(values, 95)
            target = TARGETS.get(name)
            verdict = ("OK" if p95 <= target else "MISSED") if target else ""
            target_s = f"{target:>9.0f} ms" if target else f"{'':>12}"
            self.stdout.write(f"{name:<34}{len(values):>6}{errors:>5}{p50:>9.1f}{p95:>9.1f}{target_s}  {verdict}")
        for what, neo, sql in (("ownership edges", "ownership edges, Neo4j", f"ownership edges, {connection.vendor} CTE"),
                               ("4-step path", "4-step path, Neo4j", f"4-step path, {connection.vendor} CTE")):
            p50n, p95n = percentile(results[neo][0], 50), percentile(results[neo][0], 95)
            p50s, p95s = percentile(results[sql][0], 50), percentile(results[sql][0], 95)
            self.stdout.write(f"{what}: {connection.vendor} CTE / Neo4j = {p50s / p50n:.1f}x at p50, "
                              f"{p95s / p95n:.1f}x at p95")
        self.stdout.write(f"chain depth in the sample: mean {sum(depths) / max(1, len(depths)):.1f}, "
                          f"max {max(depths, default=0)}")
        if worker_rss:
            self.stdout.write(f"gunicorn worker RSS after the run: max {max(worker_rss):.0f} MB "
                              f"(target < {WORKER_RSS_TARGET_MB} MB; {', '.join(f'{r:.0f}' for r in worker_rss)})")
        if build is not None:
            self.stdout.write(f"store build {build.seconds_store:.0f} s (target <= 600 s); graph build "
                              f"{build.seconds_graph:.0f} s (target <= 600 s)")
