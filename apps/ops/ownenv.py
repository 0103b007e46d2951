"""A folder, database and servers of its own for a command that loads a lot (`fault_drill`,
`ingest_bench --db`): the command runs itself again with settings that point everything
there (SQLite or the project's own PostgreSQL, Neo4j, Redis, on loopback ports of its own,
DEBUG off as in production), so the development and test data are never touched.
Standard library and Django settings only."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError

# The environment variables that could point such a run at another database or server.
FOREIGN = ("DATABASE_URL", "NEO4J_URL", "NEO4J_DATA_DIR", "CELERY_BROKER_URL", "CACHE_URL", "POSTGRES_DATA_DIR",
           "VENDORGRAPH_IMPORT_DIR", "VENDORGRAPH_USE_TEST_DB", "POSTGRES_DB", "VENDORGRAPH_TEST_DB")


def folder(path: str) -> Path:
    workdir = Path(path)
    return workdir if workdir.is_absolute() else Path(settings.BASE_DIR) / workdir


def rerun(command: str, argv: list[str], *, workdir: Path, flag: str, db: str, neo4j_port: int, redis_port: int,
          postgres_port: int) -> None:
    """Run `manage.py command argv` again in the environment of `workdir` (`flag`=1 tells the
    command it is there). Raises CommandError with the child's exit code when it fails."""
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN}
    env.update({
        flag: "1", "VENDORGRAPH_VAR_DIR": str(workdir), "VENDORGRAPH_DB": db,
        "DJANGO_SETTINGS_MODULE": "config.settings.dev", "DJANGO_DEBUG": "0",
        "NEO4J_BOLT_HOST": "127.0.0.1", "NEO4J_BOLT_PORT": str(neo4j_port),
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "POSTGRES_HOST": "127.0.0.1", "POSTGRES_PORT": str(postgres_port),
        "PYTHONUNBUFFERED": "1",
    })
    code = subprocess.run([sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), command, *argv],
                          env=env, cwd=settings.BASE_DIR).returncode
    if code:
        raise CommandError(f"{command} exited with {code}", returncode=code)


def folder_wipe(workdir: Path, *, name: str, stamp: str) -> None:
    """Stop what an earlier run left running in `workdir` (its Redis, Neo4j, PostgreSQL),
    then empty it. Refuses a folder that is neither called `name` nor holds the file `stamp`
    (which it then leaves there)."""
    from apps.ops import localpg, localredis
    from graph import server

    if workdir.name != name and not (workdir / stamp).exists() and any(workdir.iterdir() if workdir.exists() else []):
        raise CommandError(f"{workdir} is not a {name} folder: name it .../{name} or empty it")
    if workdir.exists():
        localredis.stop(data_dir=workdir / "redis")
        server.stop(data_dir=settings.NEO4J_DATA_DIR)
        pg = workdir / "postgres"
        if pg.exists():
            localpg.stop(data_dir=settings.POSTGRES_DATA_DIR)
            if pg.is_symlink():  # the cluster lives in the temp folder (localpg.resolve_data_dir)
                shutil.rmtree(pg.resolve(), ignore_errors=True)
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    (workdir / stamp).touch()
