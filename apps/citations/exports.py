"""Exports of a set of published records with their entities, citations and sources:
CSV (a zip of nodes, edges, citations and sources), FollowTheMoney JSON lines and GraphML.

FollowTheMoney mapping (built with the followthemoney package's model, FtM 4)

| vendorgraph            | FtM schema                                  | notes |
|------------------------|---------------------------------------------|-------|
| company                | Company                                     | |
| person                 | Person                                      | |
| public_body            | PublicBody                                  | |
| organization           | Organization                                | |
| country                | PublicBody (`country`, `jurisdiction`)      | a country entity stands for its state (data/casestudy/README.md); FtM has no Country schema |
| site                   | Address (`full`, `country`)                 | border crossings, airports, ports |
| source                 | Article (news) / HyperText / PlainText (`title`, `publisher`, `author`, `publishedAt`, `sourceUrl`, `language`) | all are Documents |
| ownership, state control | Control (controller, controlled, `controlType` "state control") | `state_control` in attributes |
| ownership              | Ownership (owner, asset, percentage)        | `role` says when it is indirect |
| role                   | Directorship (company) / Membership (other) | `role` from attributes |
| contract               | Contract (authority, title, amount) + ContractAward (supplier, startDate, endDate) | FtM's Contract has no dates |
| ban                    | Sanction (authority, entity)                | scope → `provisions`, jurisdiction → `country` |
| loan                   | Debt (creditor, debtor)                     | |
| donation               | Payment (payer, beneficiary)                | `what` → `purpose` |
| deployment, investigation, court_case, statement | UnknownLink (subject, object, role) | also any record whose ends do not fit the schema above (e.g. a site) |

Every relationship carries `startDate`, `endDate` (where its schema has them), `summary` (the
claim), `description` (its quotes with their sources), `sourceUrl`, `publisher` and `proof`
(the source documents' ids).
"""
from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from django.db.models import Prefetch, Q, prefetch_related_objects
from followthemoney import model as ftm_model
from followthemoney.proxy import EntityProxy

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

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """A cell that a spreadsheet shows as text: one starting like a formula (= + - @, a tab or
    a carriage return, e.g. an entity named '=HYPERLINK(...)') gets a leading single quote,
    so opening the export never runs what a name or a quote contains."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def to_csv_zip(bundle: Bundle) -> bytes:
    def table(header, rows) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows([csv_cell(value) for value in row] for row in rows)
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
# Built with the followthemoney package's own model: every property is added through it (an
# unknown property raises, values are cleaned to the format's types), and an edge whose end
# does not fit the property's range (a site is an Address, not a LegalEntity) falls back to
# UnknownLink, so every object validates and every reference resolves within the export.

_ENTITY_SCHEMA = {"company": "Company", "person": "Person", "public_body": "PublicBody",
                  "organization": "Organization", "country": "PublicBody", "site": "Address"}


def _ftm_make(schema: str, id_: str, props: dict) -> EntityProxy:
    proxy = ftm_model.make_entity(schema)
    proxy.id = id_
    for name, values in props.items():
        proxy.add(name, values)
    return proxy


def _ftm_entity(e: Entity) -> EntityProxy:
    schema = _ENTITY_SCHEMA[e.kind]
    props: dict[str, list[str]] = {"full" if schema == "Address" else "name": [e.name]}
    aliases = [a.name for a in e.aliases.all()]
    if aliases:
        props["alias"] = aliases
    if e.country:
        props["country"] = [e.country.lower()]
        if e.kind == "country":
            props["jurisdiction"] = [e.country.lower()]
    if e.description:
        props["description" if schema != "Address" else "summary"] = [e.description]
    return _ftm_make(schema, _id(e), props)


def _ftm_source(s: Source) -> EntityProxy:
    # Article for news; a primary source or a dataset is a web document (HyperText) or, with
    # no URL, the stored text (PlainText). FtM's plain Document needs a file name we do not have.
    # Our content hash (SHA-256 of the text) is left out: FtM's contentHash is the SHA-1 of a
    # file in an archive, another thing.
    schema = "Article" if s.source_type == Source.SourceType.ARTICLE else ("HyperText" if s.url else "PlainText")
    props = {"title": [s.title]}
    for name, value in (("publisher", s.publisher), ("author", s.author), ("publishedAt", s.published),
                        ("sourceUrl", s.url), ("language", s.language)):
        if value:
            props[name] = [value]
    return _ftm_make(schema, _id(s), props)


def _fits(schema: str, prop: str, end: Entity) -> bool:
    """Whether `end` (exported as its _ENTITY_SCHEMA) may be the value of `schema.prop`."""
    return ftm_model.get(_ENTITY_SCHEMA[end.kind]).is_a(ftm_model.get(schema).get(prop).range)


def _ftm_records(r: Record, citations: list[Citation]) -> list[EntityProxy]:
    attrs = r.attributes or {}
    dates: dict[str, list[str]] = {}
    if r.start:
        dates["startDate"] = [r.start]
    if r.end:
        dates["endDate"] = [r.end]
    common: dict[str, list[str]] = {"summary": [record_claim_text(r)]}
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

    def edge(schema: str, a: str, b: str, props: dict) -> list[EntityProxy] | None:
        if not (_fits(schema, a, r.subject) and _fits(schema, b, r.object)):
            return None
        return [_ftm_make(schema, _id(r), {a: [s], b: [o], **props, **dates, **common})]

    made = None
    if r.kind == "ownership" and attrs.get("state_control"):
        made = edge("Control", "controller", "controlled", {"controlType": ["state control"]})
    elif r.kind == "ownership":
        props = {"percentage": [str(r.share_pct)]} if r.share_pct is not None else {}
        if attrs.get("via_unknown_intermediate"):
            props["role"] = ["indirect, through an intermediate the sources do not name"]
        elif attrs.get("direct") is False:
            props["role"] = ["indirect"]
        made = edge("Ownership", "owner", "asset", props)
    elif r.kind == "role":
        schema, a = ("Directorship", "director") if r.object.kind == "company" else ("Membership", "member")
        made = edge(schema, a, "organization", {"role": [str(attrs["role"])]} if attrs.get("role") else {})
    elif r.kind == "contract":
        if _fits("Contract", "authority", r.subject) and _fits("ContractAward", "supplier", r.object):
            # FtM's Contract has no start or end: the dates go on the award (the supplier's
            # part in it), which has them.
            contract = {"authority": [s], "title": [r.title or record_claim_text(r)], **money, **common}
            if r.procedure:
                contract["procedure"] = [r.procedure]
            if r.status:
                contract["status"] = [r.status]
            award = {"contract": [_id(r)], "supplier": [o], **money, **dates, **common}
            made = [_ftm_make("Contract", _id(r), contract), _ftm_make("ContractAward", f"{_id(r)}-award", award)]
    elif r.kind == "ban":
        props = {"authority": [r.subject.name], "entity": [o], **dates, **common}
        for key, prop in (("scope", "provisions"), ("legal_basis", "program"), ("grounds", "reason")):
            if attrs.get(key):
                props[prop] = [str(attrs[key])]
        if attrs.get("jurisdiction"):
            props["country"] = [str(attrs["jurisdiction"]).lower()]
        if r.status:
            props["status"] = [r.status]
        made = [_ftm_make("Sanction", _id(r), props)]
    elif r.kind == "loan":
        made = edge("Debt", "creditor", "debtor", money)
    elif r.kind == "donation":
        made = edge("Payment", "payer", "beneficiary", {**money, **({"purpose": [str(attrs["what"])]}
                                                                   if attrs.get("what") else {})})
    if made is None:
        made = [_ftm_make("UnknownLink", _id(r), {"subject": [s], "object": [o], "role": [r.get_kind_display()],
                                                   **dates, **common})]
    return made


def ftm_proxies(bundle: Bundle) -> list[EntityProxy]:
    """Sources, entities, then records; a record whose ends are not in the bundle is left out
    (its reference would dangle)."""
    by_record: dict[int, list[Citation]] = {}
    for c in bundle.citations:
        if c.record_id:
            by_record.setdefault(c.record_id, []).append(c)
    exported = {e.pk for e in bundle.entities}
    proxies = [_ftm_source(s) for s in bundle.sources]
    proxies += [_ftm_entity(e) for e in bundle.entities]
    for r in bundle.records:
        if r.subject_id in exported and r.object_id in exported:
            proxies += _ftm_records(r, by_record.get(r.pk, []))
    return proxies


def to_ftm_lines(bundle: Bundle) -> str:
    return "".join(json.dumps(p.to_dict(), ensure_ascii=False, sort_keys=True) + "\n" for p in ftm_proxies(bundle))


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
