"""Article intake writes: store an article with its mentions and proposals, then accept,
reject or corroborate proposals. Catalogue writes go through the curation services (roles,
validation, history, outbox); each function is one transaction."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.articles.analysis import text_analyse
from apps.articles.models import Article, Proposal
from apps.articles.reading import Document
from apps.catalog.models import Entity, Record, Source
from apps.catalog.text import normalize_name
from apps.catalog.vocab import EntityKind, RecordKind
from apps.catalog import services as catalog
from apps.curation import roles

METADATA = ("title", "publisher", "author", "published", "url", "language")


def article_create(*, user, document: Document, overrides: dict | None = None) -> Article:
    """Store `document` as a Source (text and hash as citations expect) with its mentions and
    proposed records. Fields in `overrides` win over what the document states."""
    roles.require(user, "catalog.add_source", "Only editors, reviewers and admins may add articles.")
    fields = document.metadata()
    fields.update({k: v for k, v in (overrides or {}).items() if k in METADATA and v})
    if not fields.get("title"):
        fields["title"] = document.filename or ""
    if not fields["title"]:
        raise ValidationError({"title": "The document states no title: enter one."})
    result = text_analyse(text=document.text, language=fields.get("language", ""))
    with transaction.atomic():
        source = catalog.source_create(user=user, text=document.text, source_type=Source.SourceType.ARTICLE,
                                        **{k: (v or "") for k, v in fields.items()})
        article = Article.objects.create(source=source, filename=document.filename[:300], format=document.format,
                                         notes=document.notes, mentions=[m.as_dict() for m in result.mentions],
                                         used_model=result.used_model, created_by=user)
        _proposals_store(article, result.proposals)
    return article


def _entity(uuid: str | None) -> Entity | None:
    return Entity.objects.filter(uuid=uuid).first() if uuid else None


def _proposals_store(article: Article, proposals: list[dict]) -> None:
    rows = []
    for p in proposals:
        subject, obj = _entity(p["subject"].get("entity")), _entity(p["object"].get("entity"))
        try:
            amount = Decimal(p["amount"]) if p.get("amount") else None
        except InvalidOperation:
            amount = None
        rows.append(Proposal(
            article=article, kind=p["kind"], subject_name=p["subject"]["name"][:500],
            subject_kind=p["subject"].get("kind") or "", subject_entity=subject,
            object_name=p["object"]["name"][:500], object_kind=p["object"].get("kind") or "", object_entity=obj,
            site_entity=_entity((p.get("site") or {}).get("entity")), date=p.get("date") or "",
            amount=amount, currency=(p.get("currency") or "") if amount is not None else "",
            signal=p.get("signal", "")[:100], quote=p["quote"], start=p["start"], end=p["end"],
            matches=_matching_record(p["kind"], subject, obj),
        ))
    Proposal.objects.bulk_create(rows)


def _matching_record(kind: str, subject: Entity | None, obj: Entity | None) -> Record | None:
    """An existing record of the same kind between the same two entities (either way round)."""
    if subject is None or obj is None:
        return None
    return (Record.objects.filter(kind=kind)
            .filter(Q(subject=subject, object=obj) | Q(subject=obj, object=subject))
            .order_by("-workflow", "id").first())


def _resolve(*, user, entity: Entity | None, name: str, kind: str) -> Entity:
    """The entity a party names: the chosen one, one already named exactly so, or a new draft."""
    if entity is not None:
        return entity
    name = (name or "").strip()
    if not name:
        raise ValidationError({"subject": "Choose an entity or type a name."})
    existing = Entity.objects.filter(name_norm=normalize_name(name)).order_by("id").first()
    if existing is not None:
        return existing
    if kind not in EntityKind.values:
        kind = EntityKind.ORGANIZATION
    return catalog.entity_create(user=user, kind=kind, name=name)


def _decide(proposal: Proposal, user, state: str, record: Record | None = None) -> None:
    proposal.state = state
    proposal.record = record
    proposal.decided_by = user
    proposal.decided_at = timezone.now()
    proposal.save(update_fields=["state", "record", "decided_by", "decided_at"])


def _pending(proposal: Proposal) -> None:
    if proposal.state != Proposal.State.PENDING:
        raise ValidationError({"proposal": f"This proposal was already {proposal.get_state_display().lower()}."})


def proposal_accept(*, user, proposal: Proposal, kind: str | None = None, subject: Entity | None = None,
                    subject_name: str = "", subject_kind: str = "", object: Entity | None = None,  # noqa: A002
                    object_name: str = "", object_kind: str = "", date: str | None = None,
                    amount: Decimal | None | str = "", currency: str | None = None) -> Record:
    """Make the (possibly edited) proposal a draft record citing the article with its quote.

    Unset arguments keep the proposal's values; a party without an entity becomes the entity
    already named exactly so, or a new draft entity."""
    roles.require(user, "catalog.add_record", "Only editors, reviewers and admins may accept proposals.")
    _pending(proposal)
    kind = kind or proposal.kind
    if kind not in RecordKind.values:
        raise ValidationError({"kind": f"{kind!r} is not a kind of record."})
    with transaction.atomic():
        subj = _resolve(user=user, entity=subject if subject is not None else (None if subject_name else proposal.subject_entity),
                        name=subject_name or proposal.subject_name, kind=subject_kind or proposal.subject_kind)
        obj = _resolve(user=user, entity=object if object is not None else (None if object_name else proposal.object_entity),
                       name=object_name or proposal.object_name, kind=object_kind or proposal.object_kind)
        if amount == "":
            amount = proposal.amount
        record = catalog.record_create(
            user=user, kind=kind, subject=subj, object=obj, site=proposal.site_entity,
            title=f"{RecordKind(kind).label}: {subj.name} → {obj.name}"[:300],
            start=proposal.date if date is None else date,
            amount=amount, currency=(proposal.currency if currency is None else currency) if amount is not None else "",
            citations=[{"source": proposal.article.source, "quote": proposal.quote}],
        )
        _decide(proposal, user, Proposal.State.ACCEPTED, record)
    return record


def article_proposals_draft(*, user, article: Article) -> list[Record]:
    """Every pending proposal that matches no existing record, as a draft record (batch use).
    One transaction: a proposal the catalogue refuses stops the whole batch."""
    with transaction.atomic():
        return [proposal_accept(user=user, proposal=p)
                for p in article.proposals.filter(state=Proposal.State.PENDING, matches__isnull=True)]


def proposal_corroborate(*, user, proposal: Proposal) -> Record:
    """Add the article, with the proposal's quote, as a further source of the matching record."""
    _pending(proposal)
    if proposal.matches is None:
        raise ValidationError({"proposal": "No existing record matches this proposal."})
    with transaction.atomic():
        catalog.citation_create(user=user, target=proposal.matches, source=proposal.article.source,
                                 quote=proposal.quote)
        _decide(proposal, user, Proposal.State.CORROBORATED, proposal.matches)
    return proposal.matches


def proposal_reject(*, user, proposal: Proposal) -> None:
    roles.require(user, "catalog.add_record", "Only editors, reviewers and admins may reject proposals.")
    _pending(proposal)
    _decide(proposal, user, Proposal.State.REJECTED)


def _unlinked_mention(article: Article, index: int) -> dict:
    try:
        mention = article.mentions[index]
    except (IndexError, TypeError):
        raise ValidationError({"mention": "There is no such mention in this article."}) from None
    if mention.get("type") != "name" or mention.get("entity_uuid"):
        raise ValidationError({"mention": "This mention already names an entity."})
    return mention


def mention_entity_create(*, user, article: Article, index: int, kind: str = "") -> Entity:
    """A draft entity from a name the catalogue lacks; the mention and the pending proposals
    naming it are linked to it."""
    mention = _unlinked_mention(article, index)
    kind = kind or mention.get("kind") or EntityKind.ORGANIZATION
    with transaction.atomic():
        entity = _resolve(user=user, entity=None, name=mention["text"], kind=kind)
        _mention_link(article, mention["text"], entity)
    return entity


def mention_entity_link(*, user, article: Article, index: int, entity: Entity) -> Entity:
    """Link a name the catalogue lacked to an existing entity: the name becomes one of its
    aliases (so the next article finds it), the mention and pending proposals point to it."""
    mention = _unlinked_mention(article, index)
    with transaction.atomic():
        names = {normalize_name(entity.name), *(normalize_name(a) for a in entity.aliases.values_list("name", flat=True))}
        if normalize_name(mention["text"]) not in names:
            catalog.alias_create(user=user, entity=entity, name=mention["text"])
        _mention_link(article, mention["text"], entity)
    return entity


def _mention_link(article: Article, text: str, entity: Entity) -> None:
    """Point every mention of `text` in the article, and the pending proposals naming it, to `entity`."""
    norm = normalize_name(text)
    for m in article.mentions:
        if m.get("type") == "name" and normalize_name(m.get("text", "")) == norm:
            m.update(entity_uuid=str(entity.uuid), entity_id=entity.id, entity_name=entity.name, kind=entity.kind)
    article.save(update_fields=["mentions"])
    pending = article.proposals.filter(state=Proposal.State.PENDING)
    for p in pending:
        changed = []
        if p.subject_entity_id is None and normalize_name(p.subject_name) == norm:
            p.subject_entity, p.subject_name = entity, entity.name
            changed += ["subject_entity", "subject_name"]
        if p.object_entity_id is None and normalize_name(p.object_name) == norm:
            p.object_entity, p.object_name = entity, entity.name
            changed += ["object_entity", "object_name"]
        if changed:
            p.save(update_fields=changed)


def article_details_update(*, user, article: Article, **fields) -> Source:
    """Correct the metadata the document stated (or did not)."""
    unknown = set(fields) - set(METADATA) - {"source_type"}
    if unknown:
        raise ValidationError({name: "This field cannot be set here." for name in sorted(unknown)})
    return catalog.source_update(user=user, source=article.source, **fields)
