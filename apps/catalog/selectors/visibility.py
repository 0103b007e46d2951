"""What is public: the single visibility rule of the catalogue.

- An entity is public when its workflow is published.
- A record is public when it is published and every entity it names -- subject, object,
  site and party -- is public. Its `related` record shows only when public itself.
- A name (alias) or a fact is public when it is published and its entity is public.
- A source is public when it supports something public (a public record, or a public
  entity, name or fact); a source cited only by unpublished items is not.

Curators (any role) also see drafts where the pages say so (`record_visible_to`).
The graph queries apply the same rule in Cypher (`graph.queries._REL_VISIBLE`, which the
tests check against this module); everything else calls the functions here.
"""
from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Left, Length

from apps.catalog.models import Alias, Citation, Entity, Fact, Record, Source
from apps.catalog.vocab import Workflow

PUBLISHED = Workflow.PUBLISHED
# The four ends by which a record names an entity.
RECORD_ENDS = ("subject", "object", "site", "party")
# A relationship with one of these statuses and no end date is over (graph.queries agrees).
from graph.queries import ENDED_STATUSES  # noqa: E402  (the graph's copy is the one the Cypher uses)


def _public_ends_q(prefix: str = "") -> Q:
    q = Q(**{f"{prefix}workflow": PUBLISHED})
    for end in RECORD_ENDS:
        if end in ("subject", "object"):
            q &= Q(**{f"{prefix}{end}__workflow": PUBLISHED})
        else:
            q &= Q(**{f"{prefix}{end}__isnull": True}) | Q(**{f"{prefix}{end}__workflow": PUBLISHED})
    return q


def public_entities() -> QuerySet[Entity]:
    return Entity.objects.filter(workflow=PUBLISHED)


def public_records() -> QuerySet[Record]:
    """Published records whose every named entity is published too."""
    return Record.objects.filter(_public_ends_q())


def public_record_q(prefix: str = "") -> Q:
    """The rule as a Q on a relation to records (e.g. prefix="record__")."""
    return _public_ends_q(prefix)


def public_aliases() -> QuerySet[Alias]:
    return Alias.objects.filter(workflow=PUBLISHED, entity__workflow=PUBLISHED)


def public_alias_names(entity: Entity) -> list[str]:
    """The names of `entity` that may be shown (and searched) wherever the entity is: the
    reviewed ones. (The graph projects these; the entity's own state is checked there.)"""
    cached = getattr(entity, "_prefetched_objects_cache", {}).get("aliases")
    if cached is not None:  # a rebuild prefetches every entity's names
        return [a.name for a in cached if a.workflow == PUBLISHED]
    return list(entity.aliases.filter(workflow=PUBLISHED).values_list("name", flat=True))


def public_alias_names_by_entity(*, first_id: int | None = None, last_id: int | None = None,
                                 ids: list[int] | None = None) -> dict[int, list[str]]:
    """public_alias_names() for every entity whose id lies in [first_id, last_id] (the graph
    rebuild streams entities in id ranges) or is one of `ids` (the outbox's drain reads a
    batch of entities), in one query."""
    within = {"entity_id__in": ids} if ids is not None else {"entity_id__gte": first_id, "entity_id__lte": last_id}
    names: dict[int, list[str]] = {}
    for entity_id, name in Alias.objects.filter(**within, workflow=PUBLISHED).values_list("entity_id", "name"):
        names.setdefault(entity_id, []).append(name)
    return names


def public_revisions(record: Record):
    """The history rows of a record that were public: its published revisions."""
    return record.history.filter(workflow=PUBLISHED)


def public_facts() -> QuerySet[Fact]:
    return Fact.objects.filter(workflow=PUBLISHED, entity__workflow=PUBLISHED)


def public_citations() -> QuerySet[Citation]:
    """Citations of public items: a public record, or a public entity's own claims (its
    published names and facts, and the citations of the entity as a whole)."""
    entity_level = Q(record__isnull=True, entity__workflow=PUBLISHED) & (
        Q(fact__isnull=True) | Q(fact__workflow=PUBLISHED))
    alias_ok = ~Q(field__startswith="alias:") | Exists(
        Alias.objects.filter(entity=OuterRef("entity"), workflow=PUBLISHED,
                             name=_alias_name_of_field()))
    return Citation.objects.filter(public_record_q("record__") | (entity_level & alias_ok))


def _alias_name_of_field():
    # "alias:<name>" -> "<name>" (the prefix is 6 characters long).
    from django.db.models.functions import Substr

    return Substr(OuterRef("field"), 7)


def public_sources() -> QuerySet[Source]:
    return Source.objects.filter(Exists(public_citations().filter(source=OuterRef("pk"))))


def entity_is_public(entity: Entity) -> bool:
    return entity.workflow == PUBLISHED


def record_is_public(record: Record) -> bool:
    if record.workflow != PUBLISHED:
        return False
    return all(getattr(record, end) is None or getattr(record, end).workflow == PUBLISHED for end in RECORD_ENDS)


def source_is_public(source: Source) -> bool:
    return public_citations().filter(source=source).exists()


def record_visible_to(record: Record, user) -> bool:
    """Curators see every record (drafts marked as such); readers only public ones."""
    from apps.curation.roles import is_curator

    return is_curator(user) or record_is_public(record)


def entity_visible_to(entity: Entity, user) -> bool:
    from apps.curation.roles import is_curator

    return is_curator(user) or entity_is_public(entity)


def related_if_public(record: Record) -> Record | None:
    related = record.related
    return related if related is not None and record_is_public(related) else None


def current_on(as_of: str | None) -> Q:
    """Records current on `as_of` (same rule as graph.queries: partial dates compare as
    prefixes; an ended status without an end date is not current)."""
    if not as_of:
        return Q()
    return (
        (Q(start="") | Q(start__lte=as_of))
        & (Q(end="") | Q(end__gte=Left(Value(as_of), Length("end"))))
        & ~(Q(end="") & Q(status__in=ENDED_STATUSES))
    )


def records_naming(entity: Entity) -> QuerySet[Record]:
    """Records that name `entity` by any of their four ends."""
    q = Q()
    for end in RECORD_ENDS:
        q |= Q(**{end: entity})
    return Record.objects.filter(q)


def published_records_naming(entity: Entity) -> QuerySet[Record]:
    """Published records that name `entity` by any end: while there are any, the entity
    must stay published (else they would vanish from the public view unexplained)."""
    return records_naming(entity).filter(workflow=PUBLISHED)
