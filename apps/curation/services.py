"""Curation writes: create and change drafts, the review workflow, revert, merge, delete.

Every function checks the acting user's role on the server (apps.curation.roles) and
raises PermissionDenied before touching anything; bad input raises ValidationError with
messages by field and changes nothing (each function is one transaction). Entities and
records are written through their save()/delete(), so every change reaches Neo4j through
the outbox, and every change gets a history row naming the user (`_history_user`) and,
where it helps, a reason.
"""
from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from apps.catalog.models import Alias, Citation, Entity, Record, Source
from apps.catalog.vocab import Workflow
from apps.curation import roles
from apps.curation.models import MergeDecision

RECORD_FIELDS = ["kind", "subject", "object", "site", "party", "related", "title", "description", "start", "end",
                 "amount", "currency", "amount_kind", "share_pct", "status", "procedure", "attributes"]
ENTITY_FIELDS = ["kind", "name", "country", "iso_code", "state_owned", "description", "identifiers", "facts"]
SOURCE_FIELDS = ["title", "publisher", "author", "published", "url", "language", "source_type", "text",
                 "metadata_quotes"]

# What a revert copies back from a revision: the content, never the identity, the version or
# the workflow (publishing and retracting are decisions of their own, see workflow_transition).
REVERT_FIELDS = {
    "record": [f if f in ("title", "description", "start", "end", "amount", "currency", "amount_kind", "share_pct",
                          "status", "procedure", "attributes", "kind") else f"{f}_id" for f in RECORD_FIELDS],
    "entity": ENTITY_FIELDS,
    "source": SOURCE_FIELDS,
}


def _attribute(obj, user, reason: str = "") -> None:
    obj._history_user = user
    if reason:
        obj._change_reason = reason


def _assign(obj, fields: dict, allowed: list[str]) -> None:
    unknown = set(fields) - set(allowed)
    if unknown:
        raise ValidationError({name: "This field cannot be set here." for name in sorted(unknown)})
    for name, value in fields.items():
        setattr(obj, name, value)


def roles_install() -> None:
    """Create or repair the role groups with their permissions (idempotent).

    The migration curation/0002 does this on install; this is for databases that were
    flushed since (transactional tests) and for `create_demo_users`.
    """
    from django.contrib.auth.models import Group, Permission

    for name, codenames in roles.GROUP_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        perms = Permission.objects.filter(codename__in=codenames,
                                          content_type__app_label__in=["catalog", "curation", "auth"])
        group.permissions.set(perms)


# --- create and change ------------------------------------------------------------------

def record_create(*, user, citations: list[dict] | None = None, **fields) -> Record:
    """A new draft record; `citations` ([{source, quote, field}]) are added in the same transaction."""
    roles.require(user, "catalog.add_record", "Only editors, reviewers and admins may create records.")
    record = Record(workflow=Workflow.DRAFT)
    _assign(record, fields, RECORD_FIELDS)
    _attribute(record, user, "created")
    with transaction.atomic():
        record.save()
        for item in citations or []:
            citation_create(user=user, target=record, **item)
    return record


def record_update(*, user, record: Record, **fields) -> Record:
    roles.require_change(user, record)
    _assign(record, fields, RECORD_FIELDS)
    _attribute(record, user)
    record.save()
    return record


def entity_create(*, user, **fields) -> Entity:
    roles.require(user, "catalog.add_entity", "Only editors, reviewers and admins may create entities.")
    entity = Entity(status=Workflow.DRAFT)
    _assign(entity, fields, ENTITY_FIELDS)
    _attribute(entity, user, "created")
    entity.save()
    return entity


def entity_update(*, user, entity: Entity, **fields) -> Entity:
    roles.require_change(user, entity)
    _assign(entity, fields, ENTITY_FIELDS)
    _attribute(entity, user)
    entity.save()
    return entity


def source_create(*, user, **fields) -> Source:
    roles.require(user, "catalog.add_source", "Only editors, reviewers and admins may add sources.")
    source = Source()
    _assign(source, fields, SOURCE_FIELDS)
    _attribute(source, user, "created")
    source.full_clean()
    source.save()
    return source


def source_update(*, user, source: Source, **fields) -> Source:
    roles.require(user, "catalog.change_source", "Only editors, reviewers and admins may change sources.")
    _assign(source, fields, SOURCE_FIELDS)
    _attribute(source, user)
    with transaction.atomic():
        source.full_clean()
        source.save()
        # A changed text may no longer contain a quote: such a citation stops counting.
        for citation in source.citations.select_related("source"):
            citation.source = source
            citation.save(validate=False)
    return source


def citation_create(*, user, target: Record | Entity, source: Source, quote: str, field: str = "") -> Citation:
    """Cite `source` for `target`. The quote must be found verbatim in the source's text."""
    roles.require(user, "catalog.add_citation", "Only editors, reviewers and admins may add citations.")
    roles.require_change(user, target)
    if not (source.text or "").strip():
        raise ValidationError({"source": "This source has no stored text, so no quote can be checked against it."})
    citation = Citation(source=source, quote=quote, field=field or "",
                        **({"record": target} if isinstance(target, Record) else {"entity": target}))
    _attribute(citation, user, "cited")
    citation.save()
    return citation


def citation_delete(*, user, citation: Citation) -> None:
    roles.require(user, "catalog.delete_citation", "Only editors, reviewers and admins may remove citations.")
    target = citation.record or citation.entity
    roles.require_change(user, target)
    with transaction.atomic():
        if isinstance(target, Record) and target.workflow == Workflow.PUBLISHED:
            others = target.citations.exclude(pk=citation.pk).filter(start__isnull=False).exists()
            if not others:
                raise ValidationError({"citation": "This is the published record's last verified citation: "
                                                   "add another one first, or retract the record."})
        _attribute(citation, user, "removed")
        citation.delete()


def alias_create(*, user, entity: Entity, name: str) -> Alias:
    roles.require(user, "catalog.add_alias", "Only editors, reviewers and admins may add names.")
    roles.require_change(user, entity)
    alias = Alias(entity=entity, name=name)
    alias.full_clean()
    _attribute(alias, user, "added")
    alias.save()
    return alias


# --- workflow ---------------------------------------------------------------------------

# (from, to) -> whether it needs the publish permission (else the change permission does).
TRANSITIONS = {
    (Workflow.DRAFT, Workflow.REVIEW): False,
    (Workflow.REVIEW, Workflow.DRAFT): False,
    (Workflow.DRAFT, Workflow.PUBLISHED): True,
    (Workflow.REVIEW, Workflow.PUBLISHED): True,
    (Workflow.PUBLISHED, Workflow.RETRACTED): True,
    (Workflow.RETRACTED, Workflow.DRAFT): True,
}
TRANSITION_NAMES = {Workflow.REVIEW: "submitted for review", Workflow.DRAFT: "returned to draft",
                    Workflow.PUBLISHED: "published", Workflow.RETRACTED: "retracted"}


def workflow_transition(*, user, obj: Record | Entity, to: str, reason: str = "") -> Record | Entity:
    """Move `obj` through draft -> review -> published -> retracted (see TRANSITIONS).

    Publishing needs a reviewer, at least one citation whose quote is found in its source
    and, for a record, both of its ends published; it stamps who published and when.
    """
    kind = obj._meta.model_name
    status_field = "workflow" if kind == "record" else "status"
    current = getattr(obj, status_field)
    if (current, to) not in TRANSITIONS:
        raise ValidationError({status_field: f"A {kind} that is {Workflow(current).label.lower()} cannot be "
                                             f"{TRANSITION_NAMES.get(to, to)}."})
    if TRANSITIONS[(current, to)]:
        if not roles.can_publish(user, obj):
            raise PermissionDenied(f"Only reviewers and admins may publish or retract a {kind}.")
    else:
        roles.require_change(user, obj)
    errors = {}
    if to == Workflow.PUBLISHED:
        if not obj.citations.filter(start__isnull=False).exists():
            errors[status_field] = (f"A {kind} cannot be published without at least one citation whose quote "
                                    "is found in its source.")
        if kind == "record":
            for end in ("subject", "object"):
                entity = getattr(obj, end)
                if entity.status != Workflow.PUBLISHED:
                    errors[end] = f"{entity.name} is not published yet: publish it first."
    if to == Workflow.RETRACTED and kind == "entity":
        live = Record.objects.filter(workflow=Workflow.PUBLISHED).filter(subject=obj) | Record.objects.filter(
            workflow=Workflow.PUBLISHED, object=obj)
        if live.exists():
            errors["status"] = f"Retract this entity's {live.count()} published record(s) first."
    if errors:
        raise ValidationError(errors)
    setattr(obj, status_field, to)
    if to == Workflow.PUBLISHED:
        obj.published_at = timezone.now()
        obj.published_by = user
    _attribute(obj, user, TRANSITION_NAMES[to] + (f": {reason}" if reason else ""))
    obj.save()
    return obj


# --- revert ----------------------------------------------------------------------------

def revision_revert(*, user, obj: Record | Entity | Source, history_id: int):
    """Restore the content of an earlier revision as a new version (which reaches the graph)."""
    kind = obj._meta.model_name
    if kind == "source":
        roles.require(user, "catalog.change_source", "Only editors, reviewers and admins may revert sources.")
    else:
        roles.require_change(user, obj)
    revision = obj.history.filter(history_id=history_id).first()
    if revision is None:
        raise ValidationError({"revision": f"Revision {history_id} is not a revision of this {kind}."})
    for name in REVERT_FIELDS[kind]:
        setattr(obj, name, getattr(revision, name))
    _attribute(obj, user, f"reverted to revision {history_id} ({revision.history_date:%Y-%m-%d %H:%M} UTC)")
    with transaction.atomic():
        if kind == "source":
            obj.full_clean()
        obj.save()
    return obj


# --- delete (admins) ---------------------------------------------------------------------

def record_delete(*, user, record: Record) -> None:
    roles.require(user, "catalog.delete_record", "Only admins may delete records.")
    _attribute(record, user, "deleted")
    record.delete()


def entity_delete(*, user, entity: Entity) -> None:
    roles.require(user, "catalog.delete_entity", "Only admins may delete entities.")
    if entity.records_out.exists() or entity.records_in.exists() or entity.records_at.exists() \
            or entity.records_party.exists():
        raise ValidationError({"entity": f"{entity.name} still has records: delete or move them first "
                                         "(or merge it into another entity)."})
    _attribute(entity, user, "deleted")
    entity.delete()


# --- duplicates and merge ------------------------------------------------------------------

def merge_decision_record(*, user, a: Entity, b: Entity, verdict: str, note: str = "",
                          kept: Entity | None = None) -> MergeDecision:
    """Record that `a` and `b` are (or are not) the same, so the pair is not proposed again."""
    roles.require(user, "catalog.merge_entity", "Only admins may decide about duplicates.")
    if a.pk == b.pk:
        raise ValidationError({"entity_b": "An entity is always the same as itself."})
    if verdict not in MergeDecision.Verdict.values:
        raise ValidationError({"verdict": f"{verdict!r} is not one of: {', '.join(MergeDecision.Verdict.values)}."})
    (ua, na), (ub, nb) = MergeDecision.ordered((a.uuid, a.name), (b.uuid, b.name))
    decision, _ = MergeDecision.objects.update_or_create(
        entity_a=ua, entity_b=ub,
        defaults={"name_a": na, "name_b": nb, "verdict": verdict, "note": note, "decided_by": user,
                  "kept": kept.uuid if kept else None},
    )
    return decision


def entity_merge(*, user, keep: Entity, merge: Entity, note: str = "") -> Entity:
    """Merge `merge` into `keep`: its names become aliases of `keep`, its records, citations,
    facts and identifiers move over, the decision is recorded, and `merge` is deleted.

    One transaction: if any moved record would become invalid (e.g. an entity owning
    itself), nothing changes and the ValidationError names that record.
    """
    if not roles.can_merge(user):
        raise PermissionDenied("Only admins may merge entities.")
    if keep.pk == merge.pk:
        raise ValidationError({"merge": "An entity cannot be merged into itself."})
    if keep.kind != merge.kind:
        raise ValidationError({"merge": f"{merge.name} is a {merge.get_kind_display().lower()} and {keep.name} a "
                                        f"{keep.get_kind_display().lower()}: only entities of one kind can be merged."})
    reason = f"merged {merge.name} ({merge.uuid}) into {keep.name}"
    with transaction.atomic():
        names = {a.name for a in keep.aliases.all()} | {keep.name}
        for name in [merge.name, *merge.aliases.values_list("name", flat=True)]:
            if name not in names:
                alias = Alias(entity=keep, name=name)
                _attribute(alias, user, reason)
                alias.save()
                names.add(name)
        for end in ("subject", "object", "site", "party"):
            for record in Record.objects.filter(**{end: merge}):
                setattr(record, end, keep)
                _attribute(record, user, reason)
                try:
                    record.save()
                except ValidationError as exc:
                    raise ValidationError({"merge": f"Record “{record}” would become invalid: "
                                                    + "; ".join(exc.messages)}) from exc
        for citation in Citation.objects.filter(entity=merge).select_related("source"):
            citation.entity = keep
            _attribute(citation, user, reason)
            citation.save(validate=False)
        keep.facts = {**(merge.facts or {}), **(keep.facts or {})}
        keep.identifiers = {**(merge.identifiers or {}), **(keep.identifiers or {})}
        if not keep.country and merge.country and keep.kind != "country":
            keep.country = merge.country
        if not keep.description:
            keep.description = merge.description
        _attribute(keep, user, reason)
        keep.save()
        merge_decision_record(user=user, a=keep, b=merge, verdict=MergeDecision.Verdict.SAME, note=note, kept=keep)
        merged_uuid = merge.uuid
        _attribute(merge, user, reason)
        merge.delete()
        merge.uuid = merged_uuid
    return keep
