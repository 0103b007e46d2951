"""Reads for journalists: what is public, evidence strength, sources and revisions.

What is public is said once, in apps.catalog.selectors.visibility; curators (any role)
also see drafts on the permalink and history pages, marked as such.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Prefetch, Q, QuerySet

from apps.catalog.models import Citation, Entity, Record, Source
from apps.catalog.selectors.visibility import public_citations, public_records, public_revisions, record_is_public
from apps.catalog.text import normalize_name
from apps.catalog.vocab import RecordKind

# A statement with one of these stances, answering a record (its `related`), contradicts it.
DISPUTING_STANCES = {"denial", "dispute"}
# ... and with one of these it is a response by the people concerned, shown with the record.
RESPONSE_STANCES = DISPUTING_STANCES | {"response", "no_response"}
# A citation whose `field` is this contradicts the record rather than supporting it.
DISPUTES_FIELD = "disputes"

LEVELS = {
    "disputed": "Disputed",
    "confirmed": "Confirmed by a primary source",
    "corroborated": "Corroborated",
    "reported": "Reported",
    "unsourced": "No source yet",
}


def records_for_display(qs: QuerySet[Record]) -> QuerySet[Record]:
    """`qs` with what record pages, cite texts and evidence badges read, in a few queries."""
    statements = (
        public_records().filter(kind=RecordKind.STATEMENT)
        .select_related("subject", "object")
        .prefetch_related(Prefetch("citations", queryset=Citation.objects.select_related("source")))
    )
    return qs.select_related("subject", "object", "site", "party", "related", "published_by").prefetch_related(
        Prefetch("citations", queryset=Citation.objects.select_related("source")),
        Prefetch("followups", queryset=statements, to_attr="published_followups"),
    )


@dataclass
class Response:
    """A statement answering a record: a company's denial, a ministry's reply, a non-answer."""

    record: Record
    speaker: Entity
    stance: str
    citations: list[Citation]


@dataclass
class Evidence:
    """How strong the support of a record is, for the badge shown with every record.

    `level` is one of LEVELS: "disputed" when a source or a published statement
    contradicts the record, else the strength of its support (`support`):
    "confirmed" (a primary source: a register, a court, an official statement),
    "corroborated" (two or more independent publishers), "reported" (one),
    "unsourced" (no citation yet, drafts only).
    """

    level: str
    support: str
    publishers: list[str]
    primary_sources: list[Source]
    sources: list[Source]
    disputes: list[Citation | Response] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)

    @property
    def label(self) -> str:
        return LEVELS[self.level]

    @property
    def summary(self) -> str:
        n = len(self.publishers)
        parts = [LEVELS[self.support]]
        if self.support in ("reported", "corroborated"):
            parts.append(f"{n} independent publisher{'s' if n != 1 else ''}")
        if self.level == "disputed":
            parts.insert(0, "Disputed")
        return " · ".join(parts)


def _publisher_key(source: Source) -> str:
    # Sources that do not name their publisher count on their own: we cannot tell
    # whether two of them share one, but each is a distinct document (as the graph counts).
    return normalize_name(source.publisher) if source.publisher else f"source:{source.uuid}"


def record_evidence(record: Record) -> Evidence:
    """The evidence strength of one record (use records_for_display() to prefetch)."""
    citations = list(record.citations.all())
    supporting = [c for c in citations if c.field != DISPUTES_FIELD]
    disputing: list[Citation | Response] = [c for c in citations if c.field == DISPUTES_FIELD]
    sources: dict[int, Source] = {}
    for c in supporting:
        sources.setdefault(c.source_id, c.source)
    publishers: dict[str, str] = {}
    for s in sources.values():
        publishers.setdefault(_publisher_key(s), s.publisher or f"unnamed publisher of “{s.title}”")
    primary = [s for s in sources.values() if s.source_type == Source.SourceType.PRIMARY]

    followups = getattr(record, "published_followups", None)
    if followups is None:
        followups = list(
            public_records().filter(related=record, kind=RecordKind.STATEMENT)
            .select_related("subject").prefetch_related(Prefetch("citations", queryset=Citation.objects.select_related("source")))
        )
    parties = {record.subject_id, record.object_id, record.party_id} - {None}
    responses = []
    for statement in followups:
        stance = (statement.attributes or {}).get("stance", "")
        if stance in RESPONSE_STANCES or statement.subject_id in parties:
            response = Response(record=statement, speaker=statement.subject, stance=stance,
                                citations=list(statement.citations.all()))
            responses.append(response)
            if stance in DISPUTING_STANCES:
                disputing.append(response)

    if primary:
        support = "confirmed"
    elif len(publishers) >= 2:
        support = "corroborated"
    elif publishers:
        support = "reported"
    else:
        support = "unsourced"
    return Evidence(
        level="disputed" if disputing else support, support=support, publishers=sorted(publishers.values()),
        primary_sources=primary, sources=list(sources.values()), disputes=disputing, responses=responses,
    )


def record_revisions(record: Record, *, public_only: bool):
    """History rows of a record, newest first; `public_only` keeps the published revisions."""
    revisions = public_revisions(record) if public_only else record.history.all()
    return revisions.select_related("history_user").order_by("-history_date", "-history_id")


def source_page(source: Source, *, public_only: bool = True) -> dict:
    """What a source supports: records (under both of their ends) and entity facts."""
    citations = source.citations.select_related("record__subject", "record__object", "record__site", "record__party",
                                                "entity").order_by("start", "id")
    public_entity_citations = set(public_citations().filter(source=source, record__isnull=True)
                                  .values_list("pk", flat=True)) if public_only else set()
    records: dict[int, dict] = {}
    facts = []
    for c in citations:
        if c.record_id:
            r = c.record
            if public_only and not record_is_public(r):
                continue
            records.setdefault(r.pk, {"record": r, "citations": []})["citations"].append(c)
        elif c.entity_id:
            if public_only and c.pk not in public_entity_citations:
                continue
            facts.append(c)
    by_entity: dict[int, dict] = {}
    for item in records.values():
        r = item["record"]
        for end, role in ((r.subject, r.subject_role), (r.object, r.object_role)):
            group = by_entity.setdefault(end.pk, {"entity": end, "records": []})
            group["records"].append({"record": r, "role": role,
                                     "other": r.object if end.pk == r.subject_id else r.subject})
    return {
        "records": list(records.values()),
        "facts": facts,
        "by_entity": sorted(by_entity.values(), key=lambda g: g["entity"].name.lower()),
    }


def merged_into(uuid) -> Entity | None:
    """The entity an entity with `uuid` was merged into (for redirects of old links)."""
    from apps.curation.models import MergeDecision

    seen = set()
    current = uuid
    while current not in seen:
        seen.add(current)
        decision = (
            MergeDecision.objects.filter(verdict=MergeDecision.Verdict.SAME, kept__isnull=False)
            .filter(Q(entity_a=current) | Q(entity_b=current)).exclude(kept=current).first()
        )
        if decision is None:
            break
        current = decision.kept
        entity = Entity.objects.filter(uuid=current).first()
        if entity is not None:
            return entity
    return None
