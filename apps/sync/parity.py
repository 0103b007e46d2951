"""Rebuild the graph from the store of record, and check that the two agree."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from apps.catalog.models import Entity, Record
from graph import sync as graph_sync

REBUILD_BATCH = 2000


@dataclass
class ParityReport:
    store_counts: dict[str, dict[str, int]]
    graph_counts: dict[str, dict[str, int]]
    store_hash: str
    graph_hash: str
    differences: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences


def _store_versions() -> tuple[dict[str, tuple[str, int]], dict[str, tuple[str, int]]]:
    entities = {str(u): (k, v) for u, k, v in Entity.objects.values_list("uuid", "kind", "version").iterator()}
    records = {str(u): (k, v) for u, k, v in Record.objects.values_list("uuid", "kind", "version").iterator()}
    return entities, records


def _hash(entities: dict, records: dict) -> str:
    digest = hashlib.sha256()
    for name, items in (("e", entities), ("r", records)):
        for uid in sorted(items):
            kind, version = items[uid]
            digest.update(f"{name}|{uid}|{kind}|{version}\n".encode())
    return digest.hexdigest()


def _by_kind(items: dict) -> dict[str, int]:
    counts: dict[str, int] = {}
    for kind, _version in items.values():
        counts[kind] = counts.get(kind, 0) + 1
    return dict(sorted(counts.items()))


def parity_check(*, max_listed: int = 50) -> ParityReport:
    """Compare counts and per-object versions of the store of record and the graph."""
    s_entities, s_records = _store_versions()
    g_entities, g_records = graph_sync.graph_versions()
    report = ParityReport(
        store_counts={"entities": _by_kind(s_entities), "records": _by_kind(s_records)},
        graph_counts={"entities": _by_kind(g_entities), "records": _by_kind(g_records)},
        store_hash=_hash(s_entities, s_records),
        graph_hash=_hash(g_entities, g_records),
    )
    diffs: list[str] = []
    for name, store, graph in (("entity", s_entities, g_entities), ("record", s_records, g_records)):
        for uid in sorted(store.keys() - graph.keys()):
            diffs.append(f"{name} {uid} ({store[uid][0]} v{store[uid][1]}) missing from the graph")
        for uid in sorted(graph.keys() - store.keys()):
            diffs.append(f"{name} {uid} ({graph[uid][0]} v{graph[uid][1]}) in the graph but not in the store")
        for uid in sorted(store.keys() & graph.keys()):
            if store[uid] != graph[uid]:
                diffs.append(f"{name} {uid}: store {store[uid][0]} v{store[uid][1]}, graph {graph[uid][0]} v{graph[uid][1]}")
    report.differences = diffs
    return report


def graph_rebuild(*, batch_size: int = REBUILD_BATCH, stdout=None) -> dict[str, int]:
    """Write the whole store of record into the graph, then remove what the store lacks.

    Upserts come first and pruning last, so readers never see an empty graph.
    """
    written = {"entities": 0, "records": 0, "pruned": 0}

    def flush(changes):
        if changes:
            graph_sync.apply_changes(changes, force=True)

    batch: list[dict] = []
    for entity in Entity.objects.prefetch_related("aliases").iterator(chunk_size=batch_size):
        batch.append({"aggregate": "entity", "op": "upsert", "uid": str(entity.uuid), "version": entity.version,
                      "payload": entity.graph_payload()})
        written["entities"] += 1
        if len(batch) >= batch_size:
            flush(batch)
            batch = []
    flush(batch)
    batch = []
    records = Record.objects.select_related("subject", "object", "site", "party", "related")
    for record in records.iterator(chunk_size=batch_size):
        batch.append({"aggregate": "record", "op": "upsert", "uid": str(record.uuid), "version": record.version,
                      "payload": record.graph_payload()})
        written["records"] += 1
        if len(batch) >= batch_size:
            flush(batch)
            batch = []
    flush(batch)

    s_entities, s_records = _store_versions()
    g_entities, g_records = graph_sync.graph_versions()
    extra_entities = sorted(g_entities.keys() - s_entities.keys())
    extra_records: dict[str, list[str]] = {}
    for uid in g_records.keys() - s_records.keys():
        extra_records.setdefault(g_records[uid][0], []).append(uid)
    graph_sync.prune(entity_uids=extra_entities, record_uids_by_kind=extra_records)
    written["pruned"] = len(extra_entities) + sum(len(v) for v in extra_records.values())
    return written
