"""Exports of a set of published records with their entities, citations and sources:
CSV (a zip of nodes, edges, citations and sources), FollowTheMoney JSON lines and GraphML.

FollowTheMoney mapping (written by hand: the followthemoney package is not a dependency)

| vendorgraph            | FtM schema                                  | notes |
|------------------------|---------------------------------------------|-------|
| company                | Company                                     | |
| person                 | Person                                      | |
| public_body            | PublicBody                                  | |
| organization           | Organization                                | |
| country                | PublicBody (`country`, `jurisdiction`)      | a country entity stands for its state (data/casestudy/README.md); FtM has no Country schema |
| site                   | Address (`full`, `country`)                 | border crossings, airports, ports |
| source                 | Document (`title`, `publisher`, `publishedAt`, `sourceUrl`, `contentHash`) | |
| ownership              | Ownership (owner, asset, percentage)        | |
| role                   | Directorship (company) / Membership (other) | `role` from attributes |
| contract               | Contract (authority) + ContractAward (supplier) | |
| ban                    | Sanction (authority, entity)                | scope → `provisions`, jurisdiction → `country` |
| loan                   | Debt (creditor, debtor)                     | |
| donation               | Payment (payer, beneficiary)                | `what` → `purpose` |
| deployment, investigation, court_case, statement | UnknownLink (subject, object, role) | |

Every relationship carries `startDate`, `endDate`, `summary` (the claim), `description`
(its quotes with their sources), `sourceUrl`, `publisher` and `proof` (the Document ids).
"""
from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from django.db.models import Prefetch, Q, prefetch_related_objects

from apps.catalog.models import Citation, Entity, Record, Source
from apps.catalog.selectors.visibility import entity_is_public, public_aliases, public_citations
from apps.citations.cite import record_claim_text

FORMATS = {"csv": "application/zip", "ftm": "application/x-ndjson", "graphml": "application/graphml+xml"}
EXTENSIONS = {"csv": "zip", "ftm": "ftm.jsonl", "graphml": "graphml"}


@dataclass
class Bundle:
    entities: list[Entity] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)


def bundle_build(records, extra_entities=()) -> Bundle:
    """Collect the records' ends (and `extra_entities`), their public citations and sources.

    `records` must already be public (apps.catalog.selectors); entities, names and
    citations are filtered here by the same rule."""
    records = list(records)
    entities: dict[int, Entity] = {e.pk: e for e in extra_entities}
    for r in records:
        for e in (r.subject, r.object, r.site, r.party):
            if e is not None and entity_is_public(e):
                entities.setdefault(e.pk, e)
    # Only public names travel: `e.aliases.all()` below reads this filtered prefetch.
    for e in entities.values():
        getattr(e, "_prefetched_objects_cache", {}).pop("aliases", None)
    prefetch_related_objects(list(entities.values()), Prefetch("aliases", queryset=public_aliases()))
    citations = list(
        public_citations().filter(Q(record__in=[r.pk for r in records]) | Q(entity__in=list(entities)))
        .select_related("source", "record", "entity")
    )
    sources = {c.source_id: c.source for c in citations}
    return Bundle(
        entities=sorted(entities.values(), key=lambda e: e.name.lower()),
        records=records,
        citations=sorted(citations, key=lambda c: c.id),
        sources=sorted(sources.values(), key=lambda s: s.title.lower()),
    )


def _id(obj) -> str:
    return f"vg-{obj.uuid}"


# --- CSV ---------------------------------------------------------------------------------

def to_csv_zip(bundle: Bundle) -> bytes:
    def table(header, rows) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
        return out.getvalue()

    nodes = table(["id", "kind", "name", "aliases", "country", "state_owned", "description"], [
        [str(e.uuid), e.kind, e.name, "; ".join(a.name for a in e.aliases.all()), e.country,
         "" if e.state_owned is None else str(e.state_owned).lower(), e.description] for e in bundle.entities])
    edges = table(["id", "kind", "source", "target", "title", "claim", "start", "end", "amount", "currency",
                   "amount_kind", "share_pct", "status", "procedure", "site", "party", "workflow", "published_at"], [
        [str(r.uuid), r.kind, str(r.subject.uuid), str(r.object.uuid), r.title, record_claim_text(r), r.start, r.end,
         "" if r.amount is None else str(r.amount), r.currency, r.amount_kind,
         "" if r.share_pct is None else str(r.share_pct), r.status, r.procedure,
         str(r.site.uuid) if r.site_id else "", str(r.party.uuid) if r.party_id else "", r.workflow,
         r.published_at.isoformat() if r.published_at else ""] for r in bundle.records])
    citations = table(["record", "entity", "field", "source", "quote", "offset_start", "offset_end"], [
        [str(c.record.uuid) if c.record_id else "", str(c.entity.uuid) if c.entity_id else "", c.field,
         str(c.source.uuid), c.quote, "" if c.start is None else c.start, "" if c.end is None else c.end]
        for c in bundle.citations])
    sources = table(["id", "title", "publisher", "author", "published", "url", "language", "source_type",
                     "content_hash"], [
        [str(s.uuid), s.title, s.publisher, s.author, s.published, s.url, s.language, s.source_type, s.content_hash]
        for s in bundle.sources])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in (("nodes.csv", nodes), ("edges.csv", edges), ("citations.csv", citations),
                           ("sources.csv", sources)):
            archive.writestr(name, text)
    return buffer.getvalue()


# --- FollowTheMoney ------------------------------------------------------------------------

_ENTITY_SCHEMA = {"company": "Company", "person": "Person", "public_body": "PublicBody",
                  "organization": "Organization", "country": "PublicBody", "site": "Address"}


def _ftm_entity(e: Entity) -> dict:
    schema = _ENTITY_SCHEMA[e.kind]
    props: dict[str, list[str]] = {"name": [e.name]}
    if schema == "Address":
        props = {"full": [e.name]}
    aliases = [a.name for a in e.aliases.all()]
    if aliases and schema != "Address":
        props["alias"] = aliases
    if e.country:
        props["country"] = [e.country.lower()]
        if e.kind == "country":
            props["jurisdiction"] = [e.country.lower()]
    if e.description:
        props["description" if schema != "Address" else "summary"] = [e.description]
    return {"id": _id(e), "schema": schema, "properties": props}


def _ftm_source(s: Source) -> dict:
    props = {"title": [s.title]}
    for name, value in (("publisher", s.publisher), ("author", s.author), ("publishedAt", s.published),
                        ("sourceUrl", s.url), ("language", s.language), ("contentHash", s.content_hash)):
        if value:
            props[name] = [value]
    return {"id": _id(s), "schema": "Document", "properties": props}


def _ftm_records(r: Record, citations: list[Citation]) -> list[dict]:
    attrs = r.attributes or {}
    common: dict[str, list[str]] = {"summary": [record_claim_text(r)]}
    if r.start:
        common["startDate"] = [r.start]
    if r.end:
        common["endDate"] = [r.end]
    quotes = [f"“{' '.join(c.quote.split())}” ({c.source.publisher or 'publisher not stated'}, {c.source.title})"
              for c in citations]
    if r.description or quotes:
        common["description"] = ["\n".join(filter(None, [r.description, *quotes]))]
    urls = sorted({c.source.url for c in citations if c.source.url})
    publishers = sorted({c.source.publisher for c in citations if c.source.publisher})
    if urls:
        common["sourceUrl"] = urls
    if publishers:
        common["publisher"] = publishers
    common["proof"] = sorted({_id(c.source) for c in citations})
    money = {"amount": [str(r.amount)], "currency": [r.currency]} if r.amount is not None else {}
    s, o = _id(r.subject), _id(r.object)

    if r.kind == "ownership":
        props = {"owner": [s], "asset": [o], **common}
        if r.share_pct is not None:
            props["percentage"] = [str(r.share_pct)]
        return [{"id": _id(r), "schema": "Ownership", "properties": props}]
    if r.kind == "role":
        schema, a, b = ("Directorship", "director", "organization") if r.object.kind == "company" else (
            "Membership", "member", "organization")
        props = {a: [s], b: [o], **common}
        if attrs.get("role"):
            props["role"] = [str(attrs["role"])]
        return [{"id": _id(r), "schema": schema, "properties": props}]
    if r.kind == "contract":
        contract = {"authority": [s], "title": [r.title or record_claim_text(r)], **money, **common}
        if r.procedure:
            contract["procedure"] = [r.procedure]
        if r.status:
            contract["status"] = [r.status]
        award = {"contract": [_id(r)], "supplier": [o], **money, **common}
        return [{"id": _id(r), "schema": "Contract", "properties": contract},
                {"id": f"{_id(r)}-award", "schema": "ContractAward", "properties": award}]
    if r.kind == "ban":
        props = {"authority": [r.subject.name], "entity": [o], **common}
        for key, prop in (("scope", "provisions"), ("legal_basis", "program"), ("grounds", "reason")):
            if attrs.get(key):
                props[prop] = [str(attrs[key])]
        if attrs.get("jurisdiction"):
            props["country"] = [str(attrs["jurisdiction"]).lower()]
        if r.status:
            props["status"] = [r.status]
        return [{"id": _id(r), "schema": "Sanction", "properties": props}]
    if r.kind == "loan":
        return [{"id": _id(r), "schema": "Debt", "properties": {"creditor": [s], "debtor": [o], **money, **common}}]
    if r.kind == "donation":
        props = {"payer": [s], "beneficiary": [o], **money, **common}
        if attrs.get("what"):
            props["purpose"] = [str(attrs["what"])]
        return [{"id": _id(r), "schema": "Payment", "properties": props}]
    return [{"id": _id(r), "schema": "UnknownLink",
             "properties": {"subject": [s], "object": [o], "role": [r.get_kind_display()], **common}}]


def to_ftm_lines(bundle: Bundle) -> str:
    by_record: dict[int, list[Citation]] = {}
    for c in bundle.citations:
        if c.record_id:
            by_record.setdefault(c.record_id, []).append(c)
    lines = [_ftm_source(s) for s in bundle.sources]
    lines += [_ftm_entity(e) for e in bundle.entities]
    for r in bundle.records:
        lines += _ftm_records(r, by_record.get(r.pk, []))
    return "".join(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n" for line in lines)


# --- GraphML -------------------------------------------------------------------------------

_NODE_KEYS = ["name", "kind", "country", "aliases", "state_owned"]
_EDGE_KEYS = ["kind", "title", "claim", "start", "end", "amount", "currency", "share_pct", "status", "workflow",
              "sources", "publishers", "urls", "quotes"]


def to_graphml(bundle: Bundle) -> str:
    by_record: dict[int, list[Citation]] = {}
    for c in bundle.citations:
        if c.record_id:
            by_record.setdefault(c.record_id, []).append(c)
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<graphml xmlns="http://graphml.graphdrawing.org/xmlns">']
    for key in _NODE_KEYS:
        out.append(f'  <key id="n_{key}" for="node" attr.name="{key}" attr.type="string"/>')
    for key in _EDGE_KEYS:
        out.append(f'  <key id="e_{key}" for="edge" attr.name="{key}" attr.type="string"/>')
    out.append('  <graph id="vendorgraph" edgedefault="directed">')

    def data(prefix, key, value):
        return f'      <data key="{prefix}_{key}">{escape(str(value))}</data>' if value not in (None, "") else None

    ids = {e.pk for e in bundle.entities}
    for e in bundle.entities:
        out.append(f"    <node id={quoteattr(str(e.uuid))}>")
        for line in (data("n", "name", e.name), data("n", "kind", e.kind), data("n", "country", e.country),
                     data("n", "aliases", "; ".join(a.name for a in e.aliases.all())),
                     data("n", "state_owned", "" if e.state_owned is None else str(e.state_owned).lower())):
            if line:
                out.append(line)
        out.append("    </node>")
    for r in bundle.records:
        if r.subject_id not in ids or r.object_id not in ids:
            continue
        cits = by_record.get(r.pk, [])
        out.append(f"    <edge id={quoteattr(str(r.uuid))} source={quoteattr(str(r.subject.uuid))} "
                   f"target={quoteattr(str(r.object.uuid))}>")
        values = {
            "kind": r.kind, "title": r.title, "claim": record_claim_text(r), "start": r.start, "end": r.end,
            "amount": "" if r.amount is None else r.amount, "currency": r.currency,
            "share_pct": "" if r.share_pct is None else r.share_pct, "status": r.status, "workflow": r.workflow,
            "sources": " | ".join(sorted({c.source.title for c in cits})),
            "publishers": " | ".join(sorted({c.source.publisher for c in cits if c.source.publisher})),
            "urls": " | ".join(sorted({c.source.url for c in cits if c.source.url})),
            "quotes": " | ".join(" ".join(c.quote.split()) for c in cits),
        }
        for key in _EDGE_KEYS:
            line = data("e", key, values[key])
            if line:
                out.append(line)
        out.append("    </edge>")
    out.append("  </graph>")
    out.append("</graphml>")
    return "\n".join(out) + "\n"


def render(bundle: Bundle, fmt: str) -> bytes:
    if fmt == "csv":
        return to_csv_zip(bundle)
    if fmt == "ftm":
        return to_ftm_lines(bundle).encode("utf-8")
    if fmt == "graphml":
        return to_graphml(bundle).encode("utf-8")
    raise ValueError(f"unknown export format {fmt!r}")
