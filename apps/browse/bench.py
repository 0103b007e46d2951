"""A synthetic graph for the browsing benchmark (`manage.py browse_bench`).

It never touches development or test data: the command points Django at a SQLite file
and Neo4j of its own before calling anything here. The store is filled with bulk inserts
(the models' managers refuse bulk_create because it bypasses the outbox, which is what a
one-off benchmark build wants) and projected with graph.sync.apply_changes — the same
batched, versioned write path the outbox worker uses — from payloads built in memory.
"""
from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass, field

from django.db import models, transaction
from django.utils import timezone

from apps.catalog.models import Citation, Entity, Record, Source
from apps.catalog.text import normalize_name

SYLLABLES = ["na", "vo", "tek", "lum", "sar", "qi", "dor", "ven", "ex", "tra", "mon", "zu", "ka", "ri", "pol", "gen",
             "sun", "bel", "cor", "mar", "tis", "ul", "fen", "ho"]
SUFFIXES = ["Holdings", "Group", "Systems", "Technologies", "Security", "Ltd", "Trading", "Capital", "Industries"]
COUNTRIES = ["RS", "LT", "FI", "DE", "FR", "IT", "PL", "BE", "NL", "GE", "US", "CA", "CN", "GR", "HU", "PT", "ES", "SE",
             "NO", "DK", "AT", "CZ", "SK", "RO", "BG", "HR", "SI", "EE", "LV", "IE", "GB", "UA", "TR", "IN", "BR", "ZA",
             "KE", "NG", "EG", "MA", "JP", "KR", "AU", "NZ", "MX", "AR", "CL", "PE", "ID", "VN"]
SOURCE_TEXT = "The authority confirmed the agreement with the company in a statement published that day. " * 3
QUOTE = "The authority confirmed the agreement with the company"
OTHER_KINDS = ["contract", "contract", "deployment", "deployment", "ban", "loan", "donation", "role", "investigation",
               "court_case", "statement"]
STATUSES = {"contract": ["awarded", "completed", "cancelled", ""], "deployment": ["active", "removed", "", "planned"],
            "ban": ["in_force", "lifted"], "loan": ["active", "repaid"], "donation": ["delivered"],
            "role": ["current", "former"], "investigation": ["open", "closed"], "court_case": ["pending", "decided"],
            "statement": [""], "ownership": ["active"]}


@dataclass
class BuildReport:
    entities: int = 0
    records: int = 0
    hubs: list[str] = field(default_factory=list)
    chain_bottoms: list[str] = field(default_factory=list)
    seconds_store: float = 0.0
    seconds_graph: float = 0.0


def _name(rng: random.Random, i: int) -> str:
    word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
    return f"{word} {rng.choice(SUFFIXES)} {i}"


def _date(rng: random.Random) -> str:
    year = rng.randint(2000, 2024)
    precision = rng.random()
    if precision < 0.4:
        return str(year)
    if precision < 0.7:
        return f"{year}-{rng.randint(1, 12):02d}"
    return f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def build_synthetic(*, entities: int = 100_000, records: int = 300_000, hubs: int = 5, max_depth: int = 10,
                    seed: int = 42, batch: int = 5000, stdout=None) -> BuildReport:
    """Fill an EMPTY store with a synthetic published graph and project it into Neo4j.

    A tenth of the records are ownership links forming disjoint chains of 1..`max_depth`
    steps (a third topped by a country, i.e. state-owned; some under a hub; a few with a
    diamond); `hubs` companies take part in about 5% of the other records each; the rest
    join random entities.
    """
    rng = random.Random(seed)
    report = BuildReport()
    say = (lambda msg: stdout.write(msg)) if stdout else (lambda msg: None)
    started = time.monotonic()
    now = timezone.now()
    n_countries = min(len(COUNTRIES), max(1, entities // 100))

    # --- entities ------------------------------------------------------------------
    kinds = ["company"] * 60 + ["person"] * 20 + ["public_body"] * 10 + ["organization"] * 5 + ["site"] * 5
    rows: list[Entity] = []
    meta: list[tuple[str, str, str]] = []  # (uuid, kind, country)
    for i in range(entities):
        if i < n_countries:
            kind, country, name = "country", COUNTRIES[i], f"Country {COUNTRIES[i]}"
        else:
            kind, country, name = rng.choice(kinds), rng.choice(COUNTRIES), _name(rng, i)
        uid = uuid.uuid4()
        rows.append(Entity(uuid=uid, kind=kind, name=name, name_norm=normalize_name(name), country=country,
                           iso_code=country if kind == "country" else None, workflow="published", version=1,
                           published_at=now, identifiers={}))
        meta.append((str(uid), kind, country))
    models.QuerySet(model=Entity).bulk_create(rows, batch_size=batch)
    ids = list(Entity.objects.order_by("id").values_list("id", flat=True))
    report.entities = len(ids)
    say(f"  {len(ids)} entities stored")

    companies = [i for i, m in enumerate(meta) if m[1] == "company"]
    countries = list(range(n_countries))
    hub_idx = rng.sample(companies, min(hubs, len(companies)))
    report.hubs = [meta[i][0] for i in hub_idx]

    # --- sources ---------------------------------------------------------------------
    sources = [Source(uuid=uuid.uuid4(), title=f"Synthetic report {i}", publisher=f"Wire {i % 50}",
                      published=_date(rng), url=f"https://example.org/report/{i}", text=SOURCE_TEXT,
                      content_hash="", metadata_quotes={}) for i in range(max(10, records // 300))]
    models.QuerySet(model=Source).bulk_create(sources, batch_size=batch)
    source_rows = list(Source.objects.order_by("id").values_list("id", "uuid"))

    # --- records ---------------------------------------------------------------------
    plan: list[tuple[str, int, int, dict]] = []

    def own(owner: int, owned: int) -> None:
        extra = {"share_pct": rng.choice([None, 100, 75, 51, 50, 30, 20, 10]),
                 "direct": rng.random() > 0.05, "state_control": meta[owner][1] == "country"}
        plan.append(("ownership", owner, owned, extra))

    # Ownership: disjoint chains of 1..max_depth steps over distinct companies (a third
    # topped by a state); some chains hang under a hub (a conglomerate), and one chain in
    # twenty gets a second owner for one of its links (a diamond).
    free = companies[:]
    rng.shuffle(free)
    free = [c for c in free if c not in set(hub_idx)]
    n_ownership = records // 10
    while len(plan) < n_ownership and len(free) > max_depth + 1:
        depth = rng.randint(1, max_depth)
        chain = [free.pop() for _ in range(depth + 1)]  # chain[0] is the bottom
        roll = rng.random()
        if roll < 0.33:
            chain.append(rng.choice(countries))
        elif roll < 0.5 and hub_idx:
            chain.append(rng.choice(hub_idx))
        if len(report.chain_bottoms) < 5000:
            report.chain_bottoms.append(meta[chain[0]][0])
        for owned, owner in zip(chain, chain[1:]):
            own(owner, owned)
        if depth > 2 and rng.random() < 0.05:
            own(chain[-1], chain[rng.randint(0, depth - 2)])
    while len(plan) < records:
        kind = rng.choice(OTHER_KINDS)
        a, b = rng.randrange(len(meta)), rng.randrange(len(meta))
        if rng.random() < 0.05 * len(hub_idx):
            b = rng.choice(hub_idx)
            if rng.random() < 0.5:
                a, b = b, a
        if a == b:
            continue
        plan.append((kind, a, b, {}))
    plan = plan[:records]

    record_rows = []
    payloads = []
    for kind, a, b, extra in plan:
        uid = uuid.uuid4()
        start = _date(rng) if rng.random() < 0.8 else ""
        end = ""
        if start and rng.random() < 0.25:
            end = str(min(2025, int(start[:4]) + rng.randint(0, 5)))
        status = rng.choice(STATUSES[kind])
        amount = rng.randint(10_000, 50_000_000) if kind in ("contract", "loan") and rng.random() < 0.6 else None
        source_id, source_uuid = source_rows[rng.randrange(len(source_rows))]
        record_rows.append(Record(uuid=uid, kind=kind, subject_id=ids[a], object_id=ids[b], title=f"{kind} {len(record_rows)}",
                                  start=start, end=end, amount=amount, currency="EUR" if amount else "",
                                  share_pct=extra.get("share_pct"), status=status, workflow="published",
                                  attributes={k: v for k, v in extra.items() if k in ("direct", "state_control")},
                                  version=1, published_at=now))
        payloads.append({"aggregate": "record", "op": "upsert", "uid": str(uid), "version": 1, "source": source_id,
                         "payload": {"uid": str(uid), "kind": kind, "s": meta[a][0], "o": meta[b][0], "props": {
                             "kind": kind, "title": f"{kind} {len(payloads)}", "start": start or None, "end": end or None,
                             "amount": None if amount is None else f"{amount}.00",
                             "amount_value": None if amount is None else float(amount),
                             "currency": "EUR" if amount else None, "amount_kind": None,
                             "share_pct": None if extra.get("share_pct") is None else float(extra["share_pct"]),
                             "status": status or None, "procedure": None, "direct": extra.get("direct"),
                             "state_control": extra.get("state_control"), "site": None, "party": None,
                             "related": None, "workflow": "published", "sources": [str(source_uuid)],
                             "publishers": 1}}})
    with transaction.atomic():
        models.QuerySet(model=Record).bulk_create(record_rows, batch_size=batch)
    record_ids = list(Record.objects.order_by("id").values_list("id", flat=True))
    start_at = SOURCE_TEXT.index(QUOTE)
    citations = [Citation(source_id=p["source"], record_id=rid, quote=QUOTE, start=start_at, end=start_at + len(QUOTE))
                 for p, rid in zip(payloads, record_ids)]
    models.QuerySet(model=Citation).bulk_create(citations, batch_size=batch)
    report.records = len(record_ids)
    report.seconds_store = time.monotonic() - started
    say(f"  {len(record_ids)} records and {len(citations)} citations stored in {report.seconds_store:.0f} s")

    # --- graph -----------------------------------------------------------------------
    from graph.sync import apply_changes

    started = time.monotonic()
    entity_changes = [{"aggregate": "entity", "op": "upsert", "uid": uid, "version": 1, "payload": {
        "uid": uid, "kind": kind, "props": {"name": e.name, "kind": kind, "aliases": [],
                                            "country": country or None, "iso_code": e.iso_code, "state_owned": None,
                                            "workflow": "published"}}}
        for (uid, kind, country), e in zip(meta, rows)]
    for i in range(0, len(entity_changes), batch):
        apply_changes(entity_changes[i:i + batch], force=True)
    say(f"  {len(entity_changes)} nodes written to Neo4j")
    for i in range(0, len(payloads), batch):
        apply_changes(payloads[i:i + batch], force=True)
        if (i // batch) % 10 == 0:
            say(f"  {min(i + batch, len(payloads))} relationships written")
    report.seconds_graph = time.monotonic() - started
    say(f"  graph projected in {report.seconds_graph:.0f} s")
    return report
