"""Exposure: contracts, deployments and loans whose supplier is, anywhere up its ownership
chain, state-owned or state-controlled, or banned by some authority; and a vendor's contracts
signed after a ban.

The traversals are answered by Neo4j (graph.exposure, with the one visibility and as-of
rule); every hop -- the supply record, each ownership step and each ban -- carries its
citations (source and exact quote) from the store of record, in one SQL batch per page.
"""
from __future__ import annotations

from apps.catalog.models import Entity
from apps.catalog.selectors.browse import records_by_uuid
from apps.catalog.vocab import EntityKind, RecordKind
from graph import exposure as graph_exposure

SUPPLY_KINDS = (RecordKind.CONTRACT, RecordKind.DEPLOYMENT, RecordKind.LOAN)


def _citations(record) -> list[dict]:
    """The record's sources, each once, with every quote the record takes from it."""
    by_source: dict[int, dict] = {}
    for c in record.citations.all():
        entry = by_source.setdefault(c.source_id, {
            "source": str(c.source.uuid), "publisher": c.source.publisher, "published": c.source.published,
            "title": c.source.title, "url": c.source.url, "quotes": []})
        if c.quote not in entry["quotes"]:
            entry["quotes"].append(c.quote)
    return list(by_source.values())


def _cite_all(rels: list[dict]) -> None:
    """Give every rel dict its `citations` (and drop nothing: Cypher already applied the
    visibility rule, so every uid here is a public record)."""
    records = records_by_uuid(rel["uid"] for rel in rels)
    for rel in rels:
        record = records.get(rel["uid"])
        rel["citations"] = _citations(record) if record is not None else []


def _is_state_node(node: dict) -> bool:
    return node.get("kind") == EntityKind.COUNTRY or bool(node.get("state_owned"))


def _exposure(rows: list[dict], *, as_of: str | None) -> dict:
    risks = graph_exposure.supplier_risks([row["supplier"]["uid"] for row in rows], as_of=as_of)
    exposed, clear = [], []
    for row in rows:
        risk = risks[row["supplier"]["uid"]]
        state = risk["state"] or _is_state_node(row["supplier"])
        item = {**row, "kind": row["rel"]["kind"], "state": state, "bans": risk["bans"],
                # the chains that reach a state are the ones that explain the exposure
                "chains": [c for c in risk["chains"] if c["state"]],
                "reasons": [r for r, on in (("state", state), ("banned", bool(risk["bans"]))) if on]}
        (exposed if item["reasons"] else clear).append(item)
    rels = [row["rel"] for row in exposed]
    for row in exposed:
        rels += [step["rel"] for chain in row["chains"] for step in chain["steps"]]
        rels += [ban["rel"] for ban in row["bans"]]
    _cite_all(rels)
    suppliers: dict[str, dict] = {}
    for row in exposed:
        entry = suppliers.setdefault(row["supplier"]["uid"], {
            "supplier": row["supplier"], "state": row["state"], "chains": row["chains"], "bans": row["bans"],
            "authorities": sorted({b["authority"]["name"] for b in row["bans"]}), "rows": []})
        entry["rows"].append(row)
    return {"rows": exposed, "suppliers": list(suppliers.values()), "not_exposed": len(clear)}


def country_exposure(iso: str, *, as_of: str | None = None) -> dict:
    """{rows, suppliers, not_exposed} for supplies bought in country `iso`."""
    return _exposure(graph_exposure.supplies(iso=iso, as_of=as_of), as_of=as_of)


def buyer_exposure(entity: Entity, *, as_of: str | None = None) -> dict:
    """The same for supplies bought by `entity` (a ministry, an agency, a state)."""
    return _exposure(graph_exposure.supplies(buyer=str(entity.uuid), as_of=as_of), as_of=as_of)


def contracts_after_bans(entity: Entity, *, as_of: str | None = None) -> dict:
    """A vendor's dated contracts set against the dated bans on it, one entry per contract:
    {contract, buyer, country, after: [bans], before: [bans], same_period: [bans]}.

    `after` lists the bans the contract was signed after (in another country or the same);
    a contract appears under "after" when that list is not empty."""
    rows = graph_exposure.contracts_against_bans(str(entity.uuid), as_of=as_of)
    contracts: dict[str, dict] = {}
    for row in rows:
        entry = contracts.setdefault(row["contract"]["uid"], {
            "contract": row["contract"], "buyer": row["buyer"], "country": row["contract_country"],
            "after": [], "before": [], "same_period": []})
        entry[row["order"]].append({"rel": row["ban"], "authority": row["authority"], "country": row["ban_country"]})
    rels = [e["contract"] for e in contracts.values()]
    bans: dict[str, dict] = {}
    for entry in contracts.values():
        for key in ("after", "before", "same_period"):
            for ban in entry[key]:
                bans.setdefault(ban["rel"]["uid"], ban["rel"])
                ban["rel"] = bans[ban["rel"]["uid"]]  # one dict per ban, cited once
    _cite_all(rels + list(bans.values()))
    ordered = sorted(contracts.values(), key=lambda e: (e["contract"].get("start") or "", e["contract"]["uid"]))
    return {"after": [e for e in ordered if e["after"]], "not_after": [e for e in ordered if not e["after"]],
            "bans": sorted(bans.values(), key=lambda b: (b.get("start") or "", b["uid"]))}
