"""manage.py fault_drill [--n 1000000] [--seed S] [--db sqlite|postgres] [--neo4j-kills 3]
[--worker-kills 2] [--redis-restarts 1] [--max-minutes 120]

Imports N synthetic FtM objects through the real import job on a real worker while killing
Neo4j and the worker (kill -9) and restarting Redis at seeded moments, then prints what
arrived and exits 1 if a target was missed. Loopback only, on servers and a data folder of
its own (var/drill, wiped first): it never touches the development or test data."""
import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.ops import ownenv


class Command(BaseCommand):
    help = ("Fault drill: a big import while Neo4j and the worker are killed and Redis restarted; checks that "
            "nothing is lost or applied twice and that the graph catches up. Exit 1 when a target is missed.")

    def add_arguments(self, parser):
        parser.add_argument("--n", type=int, default=1_000_000, help="objects in the synthetic file")
        parser.add_argument("--seed", type=int, default=13, help="the moments and lengths of the faults")
        parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
        parser.add_argument("--neo4j-kills", type=int, default=3)
        parser.add_argument("--worker-kills", type=int, default=2)
        parser.add_argument("--redis-restarts", type=int, default=1)
        parser.add_argument("--max-minutes", type=float, default=120.0, help="give up (and fail) after this long")
        parser.add_argument("--dir", default="var/drill", help="the drill's data folder (wiped first)")
        parser.add_argument("--neo4j-port", type=int, default=7761)
        parser.add_argument("--redis-port", type=int, default=6461)
        parser.add_argument("--postgres-port", type=int, default=5461)

    def handle(self, *args, **opts):
        if opts["n"] < 1 or min(opts["neo4j_kills"], opts["worker_kills"], opts["redis_restarts"]) < 0:
            raise CommandError("--n must be positive and the numbers of faults at least 0")
        if os.environ.get("VENDORGRAPH_FAULT_DRILL") != "1":
            return self._in_drill_environment(opts)
        from apps.ops.drill import drill_run

        ownenv.folder_wipe(Path(settings.VAR_DIR), name="drill", stamp=".fault-drill")
        result = drill_run(n=opts["n"], seed=opts["seed"], neo4j_kills=opts["neo4j_kills"],
                           worker_kills=opts["worker_kills"], redis_restarts=opts["redis_restarts"],
                           max_minutes=opts["max_minutes"], out=lambda line: self.stdout.write(line))
        self.stdout.write("\n".join(result.lines))
        if result.missed:
            raise CommandError(f"fault drill: {len(result.missed)} target(s) missed", returncode=1)

    def _in_drill_environment(self, opts) -> None:
        """Run this command again with the drill's settings: its own folder, ports and database."""
        argv = []
        for name in ("n", "seed", "db", "neo4j_kills", "worker_kills", "redis_restarts", "max_minutes"):
            argv += [f"--{name.replace('_', '-')}", str(opts[name])]
        ownenv.rerun("fault_drill", argv, workdir=ownenv.folder(opts["dir"]), flag="VENDORGRAPH_FAULT_DRILL",
                     db=opts["db"], neo4j_port=opts["neo4j_port"], redis_port=opts["redis_port"],
                     postgres_port=opts["postgres_port"])
