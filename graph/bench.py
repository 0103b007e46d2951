"""Sync throughput benchmark: the batched UNWIND/MERGE path against row-by-row neomodel save().

Not part of the test suite; run through `manage.py graph_bench`.
"""
from __future__ import annotations

import time
import uuid

from graph.connection import run, write_transaction
from graph.models import NODE_CLASSES
from graph.sync import apply_changes, clear_graph

_KINDS = ["company", "person", "public_body", "organization", "site"]


def synthetic_changes(n: int, *, version: int = 1, seed: str = "bench") -> list[dict]:
    changes = []
    for i in range(n):
        kind = _KINDS[i % len(_KINDS)]
        uid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{seed}/{i}"))
        props = {"name": f"Synthetic {kind} {i}", "kind": kind, "aliases": [f"Alias {i}"],
                 "country": "PL",
                 "state_owned": None, "workflow": "published"}
        changes.append({"aggregate": "entity", "op": "upsert", "uid": uid, "version": version,
                        "payload": {"uid": uid, "kind": kind, "props": props}})
    return changes


def batched(changes: list[dict], batch_size: int, workers: int = 1) -> float:
    """Seconds to write all changes through graph.sync.apply_changes, one transaction a
    batch, with `workers` concurrent writers (as several Celery worker processes would)."""
    from concurrent.futures import ThreadPoolExecutor

    batches = [changes[i:i + batch_size] for i in range(0, len(changes), batch_size)]

    def write(batch):
        outcomes = apply_changes(batch)
        if any(o != "applied" for o in outcomes.values()):
            raise RuntimeError("benchmark rows were not applied")

    started = time.perf_counter()
    if workers == 1:
        for batch in batches:
            write(batch)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(write, batches))
    return time.perf_counter() - started


def row_by_row(changes: list[dict]) -> float:
    """Seconds to write the same nodes one neomodel save() at a time (the naive path)."""
    started = time.perf_counter()
    for change in changes:
        props = change["payload"]["props"]
        node = NODE_CLASSES[change["payload"]["kind"]](uid=change["uid"], version=change["version"], **props)
        node.save()
    return time.perf_counter() - started


def count_nodes() -> int:
    return run("MATCH (n:Entity) RETURN count(n) AS n")[0]["n"]


def count_relationships() -> int:
    return run("MATCH ()-[r]->() RETURN count(r) AS n")[0]["n"]


def reset() -> None:
    clear_graph()
    with write_transaction():
        run("MATCH (t:Tombstone) DELETE t")
