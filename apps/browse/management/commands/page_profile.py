"""Profile every public page on the benchmark's synthetic store (never dev or test data).

    manage.py page_profile --dir var/bench-browse --port 7711 [--n 40] [--only entity,timeline]
    manage.py page_profile --db postgres --dir var/bench-browse-pg --pg-port 5463 --port 7711 ...

Run `browse_bench` first to build the store (its --dir and --port). Each page is requested
`--n` times through Django's test Client in this process, one request at a time, so the
figures are the page's own cost (no queueing); for each page it prints p50/p95 in ms, the
SQL queries of one request, and the issue's target. With --explain it also prints the
slowest SQL statement of one request of each page with its query plan.
"""
from __future__ import annotations

import random
import time
from pathlib import Path

from django.conf import settings
from urllib.parse import urlparse

from django.core.management import BaseCommand, call_command

TARGETS = {"entity": 150, "busiest entities": 400, "busiest: a group, page 2": 400, "path finder (<= 4 steps)": 100,
           "search": 100, "suggestions": 100, "timeline by vendor": 200, "timeline, first page": 300,
           "country": 300, "home": 300, "vendors": 300}


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, int(round(pct / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


class Command(BaseCommand):
    help = "Profile every public page (p50/p95, SQL queries per request) on browse_bench's synthetic store."

    def add_arguments(self, parser):
        parser.add_argument("--dir", default=str(Path(settings.VAR_DIR) / "bench-browse"))
        parser.add_argument("--port", type=int, default=7711)
        parser.add_argument("--n", type=int, default=40, help="requests per page")
        parser.add_argument("--only", default="", help="comma-separated page names (a prefix is enough)")
        parser.add_argument("--explain", action="store_true")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite",
                            help="the store browse_bench built in --dir: its SQLite file or its PostgreSQL cluster")
        parser.add_argument("--pg-port", type=int, default=5463, help="the bench PostgreSQL's port (as browse_bench)")

    def handle(self, *args, **opts):
        from django.db import connections

        from apps.ops import localredis
        from apps.ops.dbstats import planner_statistics_refresh
        from graph import server
        from graph.connection import configure

        base = Path(opts["dir"])
        db_path = base / "bench.sqlite3"
        if opts["db"] == "postgres":
            if not (base / "postgres" / "PG_VERSION").exists():
                self.stderr.write(f"No benchmark PostgreSQL in {base}: run browse_bench --db postgres with the same "
                                  f"--dir first.")
                return
            if not self.on_bench_postgres(opts):
                return self.rerun_on_bench_postgres(base, opts)
        elif not db_path.exists():
            self.stderr.write(f"No benchmark store in {base}: run browse_bench with the same --dir first.")
            return
        settings.DEBUG = False
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        # Measure the pages, not the rate limiter (one client sends every request).
        settings.VENDORGRAPH_PAGE_RATES = {scope: "1000000/min" for scope in settings.VENDORGRAPH_PAGE_RATES}
        connections.close_all()
        if opts["db"] == "sqlite":
            for target in (settings.DATABASES["default"], connections.settings["default"],
                           connections["default"].settings_dict):
                target["NAME"] = str(db_path)
        call_command("migrate", verbosity=0, interactive=False)  # the indexes the pages read
        if connections["default"].vendor == "sqlite":
            with connections["default"].cursor() as cursor:
                cursor.execute("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
                analysed = cursor.fetchone()[0]
            if not analysed:
                self.stdout.write("No planner statistics in the store yet: ANALYZE (as an import does) ...")
                planner_statistics_refresh()
        server.start(data_dir=base / "neo4j", port=opts["port"], heap="2g", pagecache="1g",
                     timeout=settings.NEO4J_START_TIMEOUT)
        redis = urlparse(settings.REDIS_URL)  # the cache of the vendors overview
        localredis.start(data_dir=(base / f"redis-{redis.port}").resolve(), host=redis.hostname, port=redis.port)
        configure(f"bolt://neo4j:neo4j@127.0.0.1:{opts['port']}")
        pages = self.plan(random.Random(opts["seed"]), opts["n"])
        only = [o.strip() for o in opts["only"].split(",") if o.strip()]
        self.stdout.write(f"{'page':<28}{'n':>4}{'p50 ms':>9}{'p95 ms':>9}{'SQL':>5}{'target':>8}  result")
        for name, urls in pages.items():
            if only and not any(name.startswith(o) for o in only):
                continue
            self.measure(name, urls, explain=opts["explain"])

    @staticmethod
    def on_bench_postgres(opts) -> bool:
        from django.db import connections

        from apps.browse.management.commands.browse_bench import PG_DATABASE

        db = connections["default"].settings_dict
        return (connections["default"].vendor == "postgresql" and db["NAME"] == PG_DATABASE
                and str(db["PORT"]) == str(opts["pg_port"]))

    def rerun_on_bench_postgres(self, base: Path, opts):
        """Start browse_bench's PostgreSQL cluster (if it is down) and run this command again
        with DATABASE_URL pointing at it, as browse_bench runs its child: the settings then
        configure that database exactly as for the benchmark (pg_trgm threshold included)."""
        import os
        import subprocess
        import sys

        from apps.browse.management.commands.browse_bench import PG_DATABASE
        from apps.ops import localpg

        user = password = "vendorgraph"
        localpg.start(data_dir=base / "postgres", port=opts["pg_port"], user=user, password=password,
                      durable=False, shared_buffers="1GB")
        env = dict(os.environ, DATABASE_URL=f"postgres://{user}:{password}@127.0.0.1:{opts['pg_port']}/{PG_DATABASE}")
        argv = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "page_profile", "--db", "postgres"]
        for name in ("dir", "port", "n", "only", "seed", "pg_port"):
            argv += [f"--{name.replace('_', '-')}", str(opts[name])]
        if opts["explain"]:
            argv.append("--explain")
        code = subprocess.run(argv, env=env).returncode
        if code:
            raise SystemExit(code)

    def plan(self, rng: random.Random, n: int) -> dict[str, list[str]]:
        """The URLs to request for each page, drawn from the store."""
        from django.db.models import Count

        from apps.catalog.models import Entity, Record

        last_id = Entity.objects.order_by("-id").values_list("id", flat=True).first()
        ids = [rng.randint(1, last_id) for _ in range(n)]
        sample = list(Entity.objects.filter(id__in=ids).values_list("uuid", "name", "kind"))
        hubs = list(Record.objects.values("object").annotate(n=Count("id")).order_by("-n")
                    .values_list("object__uuid", flat=True)[:5])
        companies = [u for u, _, k in sample if k == "company"]
        countries = list(Entity.objects.filter(kind="country").values_list("iso_code", flat=True))
        words = [name.split()[0] for _, name, _ in sample]
        paths = self.path_pairs(rng, n, set(hubs))
        return {
            "entity": [f"/entities/{u}/" for u, _, _ in sample],
            "busiest entities": [f"/entities/{u}/" for u in hubs] * max(1, n // 5),
            "busiest: a group, page 2": [f"/entities/{u}/records/contracts/?page=2" for u in hubs] * max(1, n // 5),
            "path finder (<= 4 steps)": [f"/paths/?from={a}&to={b}&hops=4" for a, b in paths],
            "search": [f"/search/?q={w}" for w in words],
            "suggestions": [f"/search/suggest/?q={w[:5]}" for w in words],
            "timeline by vendor": [f"/timeline/?vendor={u}" for u in (hubs + companies)[:n]],
            "timeline, first page": ["/timeline/"] * n,
            "country": [f"/countries/{rng.choice(countries)}/" for _ in range(n)],
            "home": ["/"] * n,
            "vendors": ["/vendors/"] * n,
        }

    def path_pairs(self, rng: random.Random, n: int, hubs: set) -> list[tuple[str, str]]:
        """Pairs of entities 2..4 records apart (a random walk over the store, avoiding hubs)."""
        from django.db.models import Q

        from apps.catalog.models import Record

        last = Record.objects.order_by("-id").values_list("id", flat=True).first()
        pairs = []
        while len(pairs) < n:
            rec = Record.objects.filter(id=rng.randint(1, last)).values_list("subject_id", "object_id",
                                                                             "subject__uuid").first()
            if not rec:
                continue
            start, here, start_uuid = rec[0], rec[1], rec[2]
            seen = {start, here}
            for _ in range(rng.randint(1, 3)):
                step = (Record.objects.filter(Q(subject_id=here) | Q(object_id=here)).exclude(object__uuid__in=hubs)
                        .exclude(subject__uuid__in=hubs).values_list("subject_id", "object_id")[:20])
                options = [s if o == here else o for s, o in step if (s if o == here else o) not in seen]
                if not options:
                    break
                here = rng.choice(options)
                seen.add(here)
            from apps.catalog.models import Entity

            end = Entity.objects.filter(id=here).values_list("uuid", flat=True).first()
            pairs.append((str(start_uuid), str(end)))
        return pairs

    def measure(self, name: str, urls: list[str], *, explain: bool) -> None:
        from django.db import connection
        from django.test import Client

        client = Client()
        client.get(urls[0])  # warm
        statements: list[tuple[float, str, object]] = []

        def timed(execute, sql, params, many, context):
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                statements.append((time.perf_counter() - started, sql, params))

        with connection.execute_wrapper(timed):
            started = time.perf_counter()
            response = client.get(urls[0])
            first = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            self.stdout.write(f"{name:<28} HTTP {response.status_code} for {urls[0]}")
            return
        times = []
        for url in urls:
            started = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        p50, p95 = percentile(times, 50), percentile(times, 95)
        target = TARGETS.get(name)
        verdict = "" if target is None else ("OK" if p95 <= target else "MISSED")
        self.stdout.write(f"{name:<28}{len(times):>4}{p50:>9.1f}{p95:>9.1f}{len(statements):>5}"
                          f"{target or '':>8}  {verdict}")
        if explain:
            self.stdout.write(f"    one request: {first:.0f} ms; slowest SQL:")
            for seconds, sql, params in sorted(statements, key=lambda q: -q[0])[:2]:
                self.stdout.write(f"    {seconds * 1000:.0f} ms  {sql[:600]}")
                with connection.cursor() as cursor:
                    cursor.execute(("EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN ") + sql,
                                   params)
                    for row in cursor.fetchall():
                        self.stdout.write(f"        {row[-1]}")
