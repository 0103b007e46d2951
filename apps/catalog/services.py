"""The catalogue's writes: entities, names, facts, records, sources and citations; the review
workflow, revert, delete and merge. The one way in for pages, the API, the admin, imports
and commands.

Every function checks the acting user's role on the server (apps.curation.roles) and
raises PermissionDenied before touching anything; bad input raises ValidationError with
messages by field and changes nothing (each function is one transaction). Entities and
records are written through their save()/delete(), so every change reaches Neo4j through
the outbox, and every change gets a history row naming the user (`_history_user`) and,
where it helps, a reason.

The rules that keep the public view honest live here and in
apps.catalog.selectors.visibility: a record is published only when every entity it names
is; an entity named by a published record cannot be retracted; a name or a fact is
published only by a reviewer and with a citation whose quote is found.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from operator import itemgetter

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone

from apps.catalog.models import Alias, Citation, Entity, Fact, NameKey, Record, Source
from apps.catalog.selectors.visibility import RECORD_ENDS, published_records_naming
from apps.catalog.text import TYPO_KEY, head_word, name_keys, normalize_name
from apps.catalog.vocab import Workflow
from apps.curation import roles
from apps.sync.bulk import instance_new

RECORD_FIELDS = ["kind", "subject", "object", "site", "party", "related", "title", "description", "start", "end",
                 "amount", "currency", "amount_kind", "share_pct", "status", "procedure", "attributes"]
ENTITY_FIELDS = ["kind", "name", "country", "iso_code", "state_owned", "description", "identifiers"]
SOURCE_FIELDS = ["title", "publisher", "author", "published", "url", "language", "source_type", "text", "licence",
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


def _only_allowed(fields: dict, allowed: list[str]) -> None:
    unknown = set(fields) - set(allowed)
    if unknown:
        raise ValidationError({name: "This field cannot be set here." for name in sorted(unknown)})


def _new(model, fields: dict, allowed: list[str], **fixed):
    """A new instance with `fields` (only those `allowed`, as _assign) over `fixed`, built
    without Django's keyword path (see apps.sync.bulk.instance_new): the bulk writes'."""
    _only_allowed(fields, allowed)
    return instance_new(model, {**fixed, **fields})


def _assign(obj, fields: dict, allowed: list[str]) -> None:
    _only_allowed(fields, allowed)
    for name, value in fields.items():
        setattr(obj, name, value)


# --- create and change ------------------------------------------------------------------

def _require_record_add(user) -> None:
    roles.require(user, "catalog.add_record", "Only editors, reviewers and admins may create records.")


def _require_entity_add(user) -> None:
    roles.require(user, "catalog.add_entity", "Only editors, reviewers and admins may create entities.")


def _require_claims_add(user) -> None:
    for perm in ("catalog.add_alias", "catalog.add_fact", "catalog.add_citation"):
        roles.require(user, perm, "Only editors, reviewers and admins may add names, facts and citations.")


def record_create(*, user, citations: list[dict] | None = None, **fields) -> Record:
    """A new draft record; `citations` ([{source, quote, field}]) are added in the same transaction."""
    _require_record_add(user)
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
    if record.workflow == Workflow.PUBLISHED:
        _require_public_ends(record)
    _attribute(record, user)
    record.save()
    return record


def _require_public_ends(record: Record) -> None:
    """A published record names only published entities (subject, object, site, party)."""
    errors = {}
    for end in RECORD_ENDS:
        entity = getattr(record, end)
        if entity is not None and entity.workflow != Workflow.PUBLISHED:
            errors[end] = f"{entity.name} is not published yet: publish it first."
    if errors:
        raise ValidationError(errors)


def entity_create(*, user, **fields) -> Entity:
    _require_entity_add(user)
    entity = Entity(workflow=Workflow.DRAFT)
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


def dataset_source_create(*, user, title: str, publisher: str, url: str, licence: str, stored_file: str,
                          sha256: str, retrieved_at) -> Source:
    """The Source of one dataset file, kept unchanged under VENDORGRAPH_IMPORT_DIR and
    named by its SHA-256: quotes are checked in the line their citation names. One file is
    one Source, so importing the same file again reuses it."""
    roles.require(user, "catalog.add_source", "Only editors, reviewers and admins may add sources.")
    existing = Source.objects.filter(source_type=Source.SourceType.DATASET, content_hash=sha256).first()
    if existing is not None:
        return existing
    source = Source(title=title, publisher=publisher, url=url, licence=licence, source_type=Source.SourceType.DATASET,
                    retrieved_at=retrieved_at)
    source.stored_file, source.content_hash = stored_file, sha256
    _attribute(source, user, "imported")
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
        citations_reverify(source=source, user=user)
    return source


def citations_reverify(*, source: Source, user=None) -> list[Citation]:
    """Check every citation of `source` against its current text. A quote no longer found
    makes its citation unverified (it stops counting for publication) and flags what it
    supported for review; none silently stays verified. Returns the citations lost."""
    lost = []
    for citation in source.citations.select_related("record", "entity", "fact"):
        was_found = citation.start is not None
        citation.source = source
        _attribute(citation, user, "source text changed")
        citation.save(validate=False)
        if was_found and citation.start is None:
            lost.append(citation)
    for citation in lost:
        note = f"A quote is no longer found in “{source.title}”: “{citation.quote[:80]}”"
        if citation.record_id:
            record = citation.record
            record.flag = note[:300]
            _attribute(record, user, "flagged: " + note[:100])
            record.save(validate=False)
        else:
            target = citation.fact or _alias_of(citation)
            if target is not None and target.workflow == Workflow.PUBLISHED and not _has_found_citation(target):
                target.workflow = Workflow.REVIEW
                target.save()
    return lost


def _alias_of(citation: Citation) -> Alias | None:
    if citation.entity_id and citation.field.startswith("alias:"):
        return Alias.objects.filter(entity_id=citation.entity_id, name=citation.field[6:]).first()
    return None


def _citations_of(obj):
    """The citations that support `obj` (a record, entity, name or fact)."""
    if isinstance(obj, Alias):
        return Citation.objects.filter(entity_id=obj.entity_id, field=f"alias:{obj.name}")
    return obj.citations.all()


def _has_found_citation(obj) -> bool:
    return _citations_of(obj).filter(start__isnull=False).exists()


def source_delete(*, user, source: Source) -> None:
    roles.require(user, "catalog.delete_source", "Only admins may delete sources.")
    if source.citations.exists():
        raise ValidationError({"source": f"“{source.title}” is cited {source.citations.count()} time(s): "
                                         "remove those citations first."})
    _attribute(source, user, "deleted")
    source.delete()


def citation_create(*, user, target: Record | Entity | Alias | Fact, source: Source, quote: str,
                    field: str = "", locator: str = "") -> Citation:
    """Cite `source` for `target` (a record, an entity, one of its names or facts). The
    quote must be found verbatim in the source's text -- or, for a dataset's stored file,
    in the line that `locator` names ("line 12")."""
    roles.require(user, "catalog.add_citation", "Only editors, reviewers and admins may add citations.")
    roles.require_change(user, target)
    if not source.checkable:
        raise ValidationError({"source": "This source has no stored text, so no quote can be checked against it."})
    if isinstance(target, Record):
        where = {"record": target}
    elif isinstance(target, Alias):
        where, field = {"entity": target.entity}, f"alias:{target.name}"
    elif isinstance(target, Fact):
        where, field = {"entity": target.entity, "fact": target}, f"fact:{target.field}"
    else:
        if (field or "").startswith(("alias:", "fact:")):
            raise ValidationError({"field": "Cite a name or a fact through that name or fact, not by its label."})
        where = {"entity": target}
    citation = Citation(source=source, quote=quote, field=field or "", locator=locator or "", **where)
    _attribute(citation, user, "cited")
    citation.save()
    return citation


def citation_update(*, user, citation: Citation, **fields) -> Citation:
    """Change a citation's source, quote or field; the quote is checked again."""
    roles.require(user, "catalog.change_citation", "Only editors, reviewers and admins may change citations.")
    target = citation.record or citation.fact or _alias_of(citation) or citation.entity
    roles.require_change(user, target)
    _assign(citation, fields, ["source", "quote", "field"])
    with transaction.atomic():
        _attribute(citation, user, "changed")
        citation.save()
        if citation.start is None and citation.record_id and citation.record.workflow == Workflow.PUBLISHED:
            raise ValidationError({"quote": "This quote is not found in the source's text."})
    return citation


def citation_delete(*, user, citation: Citation) -> None:
    roles.require(user, "catalog.delete_citation", "Only editors, reviewers and admins may remove citations.")
    target = citation.record or citation.fact or _alias_of(citation) or citation.entity
    roles.require_change(user, target)
    with transaction.atomic():
        if target.workflow == Workflow.PUBLISHED:
            others = _citations_of(target).exclude(pk=citation.pk).filter(start__isnull=False).exists()
            if not others and (citation.start is not None):
                kind = target._meta.verbose_name
                raise ValidationError({"citation": f"This is the published {kind}'s last verified citation: "
                                                   f"add another one first, or retract the {kind}."})
        _attribute(citation, user, "removed")
        citation.delete()


def alias_create(*, user, entity: Entity, name: str, citations: list[dict] | None = None) -> Alias:
    """A new name of `entity`, as a draft: it is public only once a reviewer publishes it
    with a found citation. `citations` ([{source, quote}]) are added in the same transaction.

    Editors may propose names for any entity, published ones included (that is how a
    misspelling found in a new article gets reviewed); the name waits for review."""
    roles.require(user, "catalog.add_alias", "Only editors, reviewers and admins may add names.")
    if entity.workflow == Workflow.RETRACTED:
        raise ValidationError({"entity": f"{entity.name} is retracted."})
    alias = Alias(entity=entity, name=name, workflow=Workflow.DRAFT)
    alias.full_clean()
    _attribute(alias, user, "added")
    with transaction.atomic():
        alias.save()
        for item in citations or []:
            citation_create(user=user, target=alias, **item)
    return alias


def alias_update(*, user, alias: Alias, **fields) -> Alias:
    roles.require_change(user, alias)
    old_name = alias.name
    _assign(alias, fields, ["name"])
    alias.full_clean()
    with transaction.atomic():
        _attribute(alias, user)
        alias.save()
        if alias.name != old_name:
            # The citations follow the name they support; a renamed name is a new claim.
            Citation.objects.filter(entity_id=alias.entity_id, field=f"alias:{old_name}").update(
                field=f"alias:{alias.name}")
            if alias.workflow == Workflow.PUBLISHED:
                alias.workflow = Workflow.REVIEW
                alias.save()
    return alias


def alias_delete(*, user, alias: Alias) -> None:
    roles.require(user, "catalog.delete_alias", "Only editors, reviewers and admins may remove names.")
    roles.require_change(user, alias)
    with transaction.atomic():
        Citation.objects.filter(entity_id=alias.entity_id, field=f"alias:{alias.name}").delete()
        _attribute(alias, user, "removed")
        alias.delete()


def fact_create(*, user, entity: Entity, field: str, value: str, citations: list[dict] | None = None) -> Fact:
    """One more value of one field of `entity`, as a draft, with its citations. A value
    that another source gives differently is a fact of its own, shown side by side."""
    roles.require(user, "catalog.add_fact", "Only editors, reviewers and admins may add facts.")
    if entity.workflow == Workflow.RETRACTED:
        raise ValidationError({"entity": f"{entity.name} is retracted."})
    fact = Fact(entity=entity, field=field, value=value, workflow=Workflow.DRAFT)
    fact.full_clean()
    _attribute(fact, user, "added")
    with transaction.atomic():
        fact.save()
        for item in citations or []:
            citation_create(user=user, target=fact, **item)
    return fact


def entity_claims_bulk_create(*, user, entity: Entity, names: list[str], facts: list[tuple[str, str]],
                              citations: list[dict]) -> tuple[int, int]:
    """New draft names and facts of one entity, each with the same `citations`
    ([{source, quote, locator}]), in a few queries instead of a few per item: what an import
    adds to an entity it reads. The rules of alias_create, fact_create and citation_create,
    checked once: the roles, a retracted entity, empty values, a quote found where its
    citation says. Names and facts the entity already has are skipped. History rows are
    written in bulk; the entity is re-projected once. Returns (names added, facts added)."""
    _require_claims_add(user)
    # Like alias_create and fact_create: anyone who may add them proposes names and facts
    # for any entity, published ones included; they wait for review as drafts.
    if entity.workflow == Workflow.RETRACTED:
        raise ValidationError({"entity": f"{entity.name} is retracted."})
    found = []
    for item in citations:
        source = item["source"]
        start = source.locate(item["quote"], item.get("locator", ""))
        if start is None:
            raise ValidationError({"quote": f"This quote is not found at {item.get('locator') or 'its place'} "
                                            f"in “{source.title}”."})
        found.append((item, start))
    have_names = set(entity.aliases.values_list("name", flat=True)) | {entity.name}
    have_facts = set(entity.fact_set.values_list("field", "value"))
    aliases, new_facts = _claims_new(entity, names, facts, have_names=have_names, have_facts=have_facts)
    if not aliases and not new_facts:
        return 0, 0
    with transaction.atomic():
        _claims_write(user, [(entity, aliases, new_facts, found)])
        entity.touch()
    return len(aliases), len(new_facts)


def _claims_new(entity: Entity, names, facts, *, have_names: set, have_facts: set) -> tuple[list[Alias], list[Fact]]:
    """The names and facts of `entity` to add (drafts): empty, too long and known ones skipped."""
    aliases = []
    for name in dict.fromkeys((n or "").strip() for n in names):
        if name and name not in have_names and len(name) <= Alias._meta.get_field("name").max_length:
            aliases.append(instance_new(Alias, {"entity": entity, "name": name, "name_norm": normalize_name(name),
                                                "workflow": Workflow.DRAFT}))
    new_facts = []
    for field, value in dict.fromkeys(((f or "").strip()[:100], (v or "").strip()) for f, v in facts):
        if field and value and (field, value) not in have_facts:
            new_facts.append(instance_new(Fact, {"entity": entity, "field": field, "value": value,
                                                 "workflow": Workflow.DRAFT}))
    return aliases, new_facts


def _claims_write(user, claims: list[tuple[Entity, list[Alias], list[Fact], list[tuple[dict, int]]]], *,
                  keys: bool = True) -> None:
    """Insert names and facts with their citations (each cites the found quotes given with
    it, [(citation, start)]) and their history rows, a few statements for many entities.
    `keys`: bring the blocking keys of entities with new names up to date (a caller that
    refreshes them itself says False)."""
    aliases = [a for _, names, _, _ in claims for a in names]
    facts = [f for _, _, values, _ in claims for f in values]
    _rows_create(aliases, user, "added")
    if keys and aliases:  # bulk rows bypass save(): the matching keys follow the new names here
        name_keys_refresh(entity_ids={a.entity_id for a in aliases})
    _rows_create(facts, user, "added")
    rows = []
    for entity, names, values, found in claims:
        for item, start in found:
            quote, locator, source = item["quote"], item.get("locator", ""), item["source"]
            common = {"source": source, "quote": quote, "locator": locator, "start": start, "end": start + len(quote),
                      "entity": entity}
            rows += [instance_new(Citation, {"field": f"alias:{a.name}", **common}) for a in names]
            rows += [instance_new(Citation, {"fact": f, "field": f"fact:{f.field}", **common}) for f in values]
    _rows_create(rows, user, "cited")


def _rows_create(objs: list, user, reason: str) -> None:
    """Insert new validated rows (names, facts, citations) with their history rows."""
    from apps.sync.bulk import history_insert, objects_insert

    objects_insert(objs)
    history_insert(objs, user=user, reason=reason)


# --- bulk writes (imports) ------------------------------------------------------------------
# Thousands of new rows per transaction under the same rules as the one-row services above:
# the roles checked once, each row through its model's own validation (field validators and
# clean(), as save() runs them, see _row_validate), references and unique values checked
# once per call instead of one query per row; history and outbox rows written in bulk in
# the same transaction. A row the rules refuse is returned with its errors; the others go in.

@dataclass
class NewEntity:
    """One new entity for entities_bulk_create: its fields (ENTITY_FIELDS), its names and
    facts, and the citations ([{source, quote, locator}]) of the entity and of each of them."""
    fields: dict
    names: list = dataclass_field(default_factory=list)
    facts: list = dataclass_field(default_factory=list)
    citations: list = dataclass_field(default_factory=list)
    entity: Entity | None = None  # set once written


@dataclass
class NewRecord:
    """One new record for records_bulk_create: its fields (RECORD_FIELDS; the ends may be
    given by key: subject_id, object_id, site_id, party_id) and its citations."""
    fields: dict
    citations: list = dataclass_field(default_factory=list)
    record: Record | None = None  # set once written


BULK_RECORD_FIELDS = RECORD_FIELDS + [f"{end}_id" for end in ("subject", "object", "site", "party", "related")]


def _row_validate(obj) -> None:
    """The model's own rules for one new row, as save() runs them (full_clean: the field
    validators and clean()), without the per-row look-ups of its references and unique
    values, which a bulk write checks once for the whole chunk.

    Django's clean_fields costs tens of microseconds a field; an import validates millions
    of fields. So the fields are first checked by a plan made once per model from the
    fields themselves (their choices, blank, null, max_length and validators: the same rules,
    run directly); only a row that fails there goes through full_clean, which reports the
    errors exactly as Django words them. Then the model's clean(), as full_clean runs it."""
    plan = _FIELD_PLANS.get(type(obj))
    if plan is None:
        plan = _FIELD_PLANS[type(obj)] = _field_plan(type(obj))
    if not _fields_pass(obj, plan):
        obj.full_clean(exclude=_REFS[type(obj)], validate_unique=False, validate_constraints=False)
        return
    try:
        obj.clean()
    except ValidationError as exc:
        raise ValidationError(exc.update_error_dict({})) from exc


_FIELD_PLANS: dict = {}
_REFS: dict = {}
_TEXT_TO_PYTHON = {models.CharField.to_python, models.TextField.to_python}


def _field_plan(model) -> list[tuple]:
    """(attname, field, how, choices, max_length, other validators, blank, empty values,
    editable) for each field that full_clean checks on a bulk row (references excluded, see
    _row_validate)."""
    from django.core.validators import MaxLengthValidator

    _REFS[model] = [f.name for f in model._meta.concrete_fields if f.is_relation]
    plan = []
    for f in model._meta.fields:
        if f.is_relation or f.generated:
            continue
        text = type(f).to_python in _TEXT_TO_PYTHON
        limits = [v.limit_value for v in f.validators if type(v) is MaxLengthValidator and not callable(v.limit_value)]
        others = [v for v in f.validators if not (type(v) is MaxLengthValidator and not callable(v.limit_value))]
        choices = {str(k) for k, _ in f.flatchoices} if f.choices is not None else None
        how = "text" if text else "uuid" if type(f) is models.UUIDField and not f.validators else "field"
        plan.append((f.attname, f, how, choices, min(limits) if limits else None, others, f.blank, f.empty_values,
                     f.editable))
    return plan


def _fields_pass(obj, plan) -> bool:
    """Whether every field of `obj` passes what Field.clean checks (see _row_validate);
    values are converted as clean_fields converts them."""
    for attname, f, how, choices, max_length, others, blank, empty_values, editable in plan:
        value = getattr(obj, attname)
        if blank and value in empty_values:
            continue
        if how == "text" and type(value) is str:  # CharField.to_python: a str stays as it is
            if editable and ((choices is not None and value and value not in choices) or (not blank and not value)):
                return False
            if not value:
                continue
            if max_length is not None and len(value) > max_length:
                return False
            try:
                for validator in others:
                    validator(value)
            except ValidationError:
                return False
            continue
        if how == "uuid" and isinstance(value, uuid.UUID) and not editable:  # to_python keeps it; nothing to check
            continue
        try:
            setattr(obj, attname, f.clean(value, obj))
        except ValidationError:
            return False
    return True


def _citations_checked(target_field: str, target, citations: list[dict]) -> list[tuple[dict, Citation]]:
    """Each citation as the model checks it (its clean(): one target, a quote found at its
    locator in the source), placed (start, end). Raises ValidationError."""
    out = []
    for item in citations:
        citation = instance_new(Citation, {"source": item["source"], "quote": item["quote"],
                                           "field": item.get("field", ""), "locator": item.get("locator", ""),
                                           target_field: target})
        _row_validate(citation)
        citation.place()
        out.append((item, citation))
    return out


def _citations_create(user, ok: list[tuple], target: str) -> None:
    """The checked citations of bulk items [(item, [(_, citation)])], once their `target`
    ("entity" or "record", made with the citation and cached on it) has its key."""
    rows = []
    for item, checked in ok:
        pk = getattr(item, target).pk
        for _, citation in checked:
            setattr(citation, f"{target}_id", pk)
            rows.append(citation)
    _rows_create(rows, user, "cited")


def entities_bulk_create(*, user, items: list[NewEntity]) -> list[tuple[NewEntity, ValidationError]]:
    """New draft entities with their names, facts and citations, in a few statements: what
    entity_create, citation_create and entity_claims_bulk_create write for each, with their
    history and outbox rows. Returns the items refused, with why; the others go in (their
    `entity` set). Runs in the caller's transaction (or one of its own)."""
    from apps.sync.services import synced_bulk_create

    _require_entity_add(user)
    _require_claims_add(user)
    refused, ok = [], []
    for item in items:
        try:
            entity = _new(Entity, item.fields, ENTITY_FIELDS, workflow=Workflow.DRAFT)
            entity.normalize()
            _row_validate(entity)
            checked = _citations_checked("entity", entity, item.citations)
        except ValidationError as exc:
            refused.append((item, exc))
            continue
        _attribute(entity, user, "created")
        item.entity = entity
        ok.append((item, checked))
    codes = [item.entity.iso_code for item, _ in ok if item.entity.iso_code]
    if codes:  # the one unique value a new entity brings (a country's ISO code)
        taken = set(Entity.objects.filter(iso_code__in=codes).values_list("iso_code", flat=True))
        seen = set()
        for pair in list(ok):
            code = pair[0].entity.iso_code
            if code and (code in taken or code in seen):
                ok.remove(pair)
                refused.append((pair[0], ValidationError({"iso_code": "Entity with this Iso code already exists."})))
                pair[0].entity = None
            seen.add(code)

    new_names = []

    def claims(entities):
        rows = []
        for item, checked in ok:
            entity = item.entity
            aliases, facts = _claims_new(entity, item.names, item.facts, have_names={entity.name}, have_facts=set())
            new_names.append((item, aliases))
            rows.append((entity, aliases, facts, [(c, citation.start) for c, citation in checked]))
        _claims_write(user, rows, keys=False)
        _citations_create(user, ok, "entity")

    # No savepoint of its own inside the caller's transaction: a failure here fails the caller's
    # whole transaction anyway (the rows the rules refuse were set aside above), and each
    # savepoint would wait for the queued inserts of an import (apps.sync.bulk.write_behind).
    with transaction.atomic(savepoint=False):
        synced_bulk_create([item.entity for item, _ in ok], user=user, reason="created", then=claims)
        # Inserted without save(), so without its signal: the blocking keys of names and
        # aliases, from the rows just written (new entities have no keys yet).
        _name_keys_insert(_name_keys_wanted({
            item.entity.pk: (item.entity.kind, [item.entity.name, *(a.name for a in aliases)])
            for item, aliases in new_names}))
    return refused


def records_bulk_create(*, user, items: list[NewRecord], slice_size: int | None = None,
                        ) -> list[tuple[NewRecord, ValidationError]]:
    """New draft records with their citations, in a few statements: what record_create
    writes for each, with its history and outbox rows. Returns the items refused, with
    why; the others go in (their `record` set). `slice_size`: written in slices of that many
    items (an import's, see apps.ingest.services.SLICE), each validated while the one before
    is written; the check that the ends exist is made for all of them first."""
    from apps.sync.bulk import id_slices
    from apps.sync.services import synced_bulk_create

    _require_record_add(user)
    roles.require(user, "catalog.add_citation", "Only editors, reviewers and admins may add citations.")
    # The entities the records name, a query per 900: the check that they exist (as the
    # ForeignKey's own validation checks it for one row). All asked before the first slice is
    # written: a query beside an import's queued inserts shares the connection with them, and
    # took four times as long (a million objects: 26 s instead of 7).
    # An end given as an instance counts by its key; a key not asked for is refused below.
    def key(fields: dict, end: str):
        value = fields.get(f"{end}_id", fields.get(end))
        return getattr(value, "pk", value)

    ends = list({pk for item in items for end in RECORD_ENDS if type(pk := key(item.fields, end)) is int})
    found = set()
    for some in id_slices(ends):
        found.update(Entity.objects.filter(pk__in=some).values_list("pk", flat=True))
    nullable = {end: Record._meta.get_field(end).null for end in RECORD_ENDS}
    refused = []
    for some in id_slices(items, slice_size or max(1, len(items))):
        built = []
        for item in some:
            try:
                record = _new(Record, item.fields, BULK_RECORD_FIELDS, workflow=Workflow.DRAFT)
            except ValidationError as exc:
                built.append((item, Record(workflow=Workflow.DRAFT), exc))
                continue
            built.append((item, record, None))
        ok = []
        for item, record, error in built:
            if error is None:
                try:
                    missing = {}
                    for end in RECORD_ENDS:
                        pk = getattr(record, f"{end}_id")
                        if pk is None:
                            if not nullable[end]:
                                missing[end] = "This field cannot be null."
                        elif pk not in found:
                            missing[end] = f"There is no entity with id {pk!r}: it does not exist."
                    if missing:
                        raise ValidationError(missing)
                    _row_validate(record)
                    checked = _citations_checked("record", record, item.citations)
                except ValidationError as exc:
                    error = exc
            if error is not None:
                refused.append((item, error))
                continue
            _attribute(record, user, "created")
            item.record = record
            ok.append((item, checked))

        with transaction.atomic(savepoint=False):  # as in entities_bulk_create
            synced_bulk_create([item.record for item, _ in ok], user=user, reason="created",
                               then=lambda records, ok=ok: _citations_create(user, ok, "record"))
    return refused


def fact_update(*, user, fact: Fact, **fields) -> Fact:
    roles.require_change(user, fact)
    _assign(fact, fields, ["field", "value"])
    fact.full_clean()
    _attribute(fact, user)
    with transaction.atomic():
        fact.save()
        fact.citations.update(field=f"fact:{fact.field}")
    return fact


def fact_delete(*, user, fact: Fact) -> None:
    roles.require(user, "catalog.delete_fact", "Only editors, reviewers and admins may remove facts.")
    roles.require_change(user, fact)
    _attribute(fact, user, "removed")
    fact.delete()


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


def workflow_transition(*, user, obj: Record | Entity | Alias | Fact, to: str, reason: str = ""):
    """Move `obj` through draft -> review -> published -> retracted (see TRANSITIONS).

    Publishing needs a reviewer and at least one citation whose quote is found in its
    source; a record also needs every entity it names (subject, object, site, party)
    published. An entity that a published record names cannot be retracted: the message
    lists those records. Publishing stamps who published and when.
    """
    kind = obj._meta.model_name
    label = obj._meta.verbose_name
    current = obj.workflow
    if (current, to) not in TRANSITIONS:
        raise ValidationError({"workflow": f"A {label} that is {Workflow(current).label.lower()} cannot be "
                                           f"{TRANSITION_NAMES.get(to, to)}."})
    if TRANSITIONS[(current, to)]:
        if not roles.can_publish(user, obj):
            raise PermissionDenied(f"Only reviewers and admins may publish or retract a {label}.")
    else:
        roles.require_change(user, obj)
    errors = {}
    if to == Workflow.PUBLISHED:
        if not _has_found_citation(obj):
            errors["workflow"] = (f"A {label} cannot be published without at least one citation whose quote "
                                  "is found in its source.")
        if kind == "record":
            try:
                _require_public_ends(obj)
            except ValidationError as exc:
                errors.update(exc.message_dict)
    if to == Workflow.RETRACTED and kind == "entity":
        live = published_records_naming(obj)
        count = live.count()
        if count:
            shown = list(live.select_related("subject", "object")[:20])
            listed = "; ".join(f"“{r}” ({r.uuid})" for r in shown) + ("; …" if count > len(shown) else "")
            errors["workflow"] = (f"{obj.name} is named by {count} published record(s): "
                                  f"retract them first: {listed}.")
    if errors:
        raise ValidationError(errors)
    obj.workflow = to
    if to == Workflow.PUBLISHED and hasattr(obj, "published_at"):
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
    if kind == "record" and obj.workflow == Workflow.PUBLISHED:
        _require_public_ends(obj)
    with transaction.atomic():
        if kind == "source":
            obj.full_clean()
        obj.save()
        if kind == "source":
            citations_reverify(source=obj, user=user)
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


# --- merge ---------------------------------------------------------------------------------

def entity_merge(*, user, keep: Entity, merge: Entity, note: str = "") -> Entity:
    """Merge `merge` into `keep`: its names become names of `keep`, its records, facts,
    citations, identifiers and followers move over, the decision is recorded, and `merge` is deleted.

    What was public stays public; what was not (a draft merged into a published entity:
    its name, its facts, the citations of the draft itself) is put up for review on `keep`
    instead of being published by the merge. One transaction: if any moved record would
    become invalid (e.g. an entity owning itself), nothing changes and the
    ValidationError names that record.
    """
    from apps.curation.models import MergeDecision
    from apps.curation.services import merge_decision_record

    if not roles.can_merge(user):
        raise PermissionDenied("Only admins may merge entities.")
    if keep.pk == merge.pk:
        raise ValidationError({"merge": "An entity cannot be merged into itself."})
    if keep.kind != merge.kind:
        raise ValidationError({"merge": f"{merge.name} is a {merge.get_kind_display().lower()} and {keep.name} a "
                                        f"{keep.get_kind_display().lower()}: only entities of one kind can be merged."})
    reason = f"merged {merge.name} ({merge.uuid}) into {keep.name}"
    merge_public = merge.workflow == Workflow.PUBLISHED

    def carried(workflow: str) -> str:
        # A claim stays public only when it was public before; otherwise a reviewer decides.
        if workflow == Workflow.RETRACTED:
            return workflow
        return Workflow.PUBLISHED if merge_public and workflow == Workflow.PUBLISHED else Workflow.REVIEW

    from apps.ingest.models import ImportedItem

    with transaction.atomic():
        # What the merge moves and removes, recorded so that `entity_split` can undo it.
        undo = {
            "entity": json.loads(json.dumps({f.attname: f.value_from_object(merge) for f in Entity._meta.concrete_fields
                                             if f.attname not in ("name_norm", "updated_at")}, cls=DjangoJSONEncoder)),
            "aliases": list(merge.aliases.values("id", "name", "workflow")),
            "facts": list(Fact.objects.filter(entity=merge).values("id", "field", "value", "workflow")),
            "citations": list(Citation.objects.filter(entity=merge).values("id", "field", "fact_id")),
            "records": [[pk, end] for end in RECORD_ENDS
                        for pk in Record.objects.filter(**{end: merge}).values_list("pk", flat=True)],
            "items": list(ImportedItem.objects.filter(entity=merge).values("id", "owns_entity")),
            # Followers of the merged entity follow `keep` from now on (a user who followed
            # both keeps one follow); the split gives each back the follow they had.
            "follows": [[user_id, moved] for user_id, moved in _follows_move(merge=merge, keep=keep)],
            "keep": {"identifiers": keep.identifiers or {}, "country": keep.country, "description": keep.description},
            "added_aliases": [], "moved_facts": [],
        }
        names = {a.name for a in keep.aliases.all()} | {keep.name}
        # The merged entity's own name, as a name of `keep`, carries its entity-level citations.
        own = (merge.name, Workflow.PUBLISHED if merge_public else Workflow.REVIEW)
        for name, workflow in [own, *merge.aliases.values_list("name", "workflow")]:
            if name in names:
                continue
            alias = Alias(entity=keep, name=name, workflow=carried(workflow))
            _attribute(alias, user, reason)
            alias.save()
            undo["added_aliases"].append(alias.pk)
            names.add(name)
        for end in RECORD_ENDS:
            for record in Record.objects.filter(**{end: merge}):
                _record_end_move(record, end=end, to=keep, user=user, reason=reason, field="merge")
        for fact in Fact.objects.filter(entity=merge):
            twin = Fact.objects.filter(entity=keep, field=fact.field, value=fact.value).first()
            if twin is None:
                fact.entity = keep
                fact.workflow = carried(fact.workflow)
                _attribute(fact, user, reason)
                fact.save()
                undo["moved_facts"].append(fact.pk)
            else:
                fact.citations.update(fact=twin, entity=keep)
        for citation in Citation.objects.filter(entity=merge).select_related("source"):
            citation.entity = keep
            if not citation.field and merge.name != keep.name:
                # What supported the merged entity as a whole supports the name it went by.
                citation.field = f"alias:{merge.name}"
            _attribute(citation, user, reason)
            citation.save(validate=False)
        # The dataset items that named the merged entity name ours now: later imports update it.
        ImportedItem.objects.filter(entity=merge).update(entity=keep, owns_entity=False)
        keep.identifiers = {**(merge.identifiers or {}), **(keep.identifiers or {})}
        if not keep.country and merge.country and keep.kind != "country":
            keep.country = merge.country
        if not keep.description:
            keep.description = merge.description
        _attribute(keep, user, reason)
        keep.save()
        merge_decision_record(user=user, a=keep, b=merge, verdict=MergeDecision.Verdict.SAME, note=note, kept=keep,
                              undo=undo)
        merged_uuid = merge.uuid
        _attribute(merge, user, reason)
        merge.delete()
        merge.uuid = merged_uuid
    return keep


def entity_split(*, user, decision, note: str = "") -> Entity:
    """Undo a merge ("split"): the merged entity comes back (same uuid) with its own names,
    facts, citations, records and dataset items, `keep` loses what the merge gave it, and
    the decision becomes "not the same" (who, when, note), so neither the duplicates page
    nor a later import proposes the pair again. Admins only; one transaction; every change
    goes through save() (history and outbox: the graph follows). What was edited since the
    merge stays where it is now (a record moved elsewhere is not moved back). A record that
    would become invalid refuses the split and names it."""
    from apps.curation.models import MergeDecision
    from apps.ingest.models import ImportedItem
    from apps.sync.models import touches_coalesced

    if not roles.can_merge(user):
        raise PermissionDenied("Only admins may split merged entities.")
    if not decision.splittable:
        raise ValidationError({"decision": "This decision is not a merge that can be split "
                                           "(merged before merges were recorded, or split already)."})
    undo = decision.undo
    keep = Entity.objects.filter(uuid=decision.kept).first()
    if keep is None:
        raise ValidationError({"decision": "The entity the merge kept no longer exists."})
    data = undo["entity"]
    if Entity.objects.filter(uuid=data["uuid"]).exists():
        raise ValidationError({"decision": "The merged entity exists already."})
    reason = f"split {data['name']} ({data['uuid']}) off {keep.name} again"
    with transaction.atomic(), touches_coalesced():
        restored = Entity()
        for f in Entity._meta.concrete_fields:
            if f.attname in data:
                setattr(restored, f.attname, f.to_python(data[f.attname]))
        _attribute(restored, user, reason)
        restored.save(force_insert=True)
        for row in undo["aliases"]:
            alias = Alias(entity=restored, **row)
            _attribute(alias, user, reason)
            alias.save(force_insert=True)
        moved = set(undo["moved_facts"])
        for row in undo["facts"]:
            if row["id"] in moved:
                fact = Fact.objects.filter(pk=row["id"], entity=keep).first()
                if fact is None:
                    continue  # changed or removed since the merge: it stays as it is
                fact.entity, fact.workflow = restored, row["workflow"]
            else:  # it had a twin on `keep` and was removed by the merge
                fact = Fact(entity=restored, **row)
            _attribute(fact, user, reason)
            fact.save()
        for row in undo["citations"]:
            for citation in Citation.objects.filter(pk=row["id"], entity=keep):
                citation.entity, citation.field, citation.fact_id = restored, row["field"], row["fact_id"]
                _attribute(citation, user, reason)
                citation.save(validate=False)
        for pk, end in undo["records"]:
            record = Record.objects.filter(pk=pk, **{end: keep}).first()
            if record is not None:
                _record_end_move(record, end=end, to=restored, user=user, reason=reason, field="decision")
        for alias in Alias.objects.filter(pk__in=undo["added_aliases"], entity=keep):
            _attribute(alias, user, reason)
            alias.delete()
        for row in undo["items"]:
            ImportedItem.objects.filter(pk=row["id"], entity=keep).update(entity=restored,
                                                                          owns_entity=row["owns_entity"])
        _follows_restore(undo.get("follows", []), keep=keep, restored=restored)
        before, merged_ids = undo["keep"], data.get("identifiers") or {}
        keep.refresh_from_db()
        keep.identifiers = {k: v for k, v in (keep.identifiers or {}).items()
                            if k in before["identifiers"] or merged_ids.get(k) != v}
        if not before["country"] and keep.country == data.get("country"):
            keep.country = ""
        if not before["description"] and keep.description == data.get("description"):
            keep.description = ""
        _attribute(keep, user, reason)
        keep.save()
        decision.verdict, decision.undo, decision.kept = MergeDecision.Verdict.DIFFERENT, {}, None
        decision.note = f"split again: {note}" if note else "split again"
        decision.decided_by, decision.decided_at = user, timezone.now()
        decision.save()
    return restored


def _follows_move(*, merge: Entity, keep: Entity) -> list[tuple[int, bool]]:
    """Move the follows of `merge` to `keep` before `merge` is deleted (which would delete
    them): [(user id, moved)] — moved False when the user followed `keep` already."""
    from apps.following.models import Follow

    already = set(Follow.objects.filter(entity=keep).values_list("user_id", flat=True))
    done = []
    for follow in Follow.objects.filter(entity=merge):
        if follow.user_id in already:
            follow.delete()
            done.append((follow.user_id, False))
        else:
            follow.entity = keep
            follow.save(update_fields=["entity"])
            done.append((follow.user_id, True))
    return done


def _follows_restore(follows: list, *, keep: Entity, restored: Entity) -> None:
    """A split gives each follower of the merged entity its follow back: moved follows
    move back (unless the user has unfollowed since), removed ones are made again."""
    from apps.following.models import Follow

    for user_id, moved in follows:
        if moved:
            Follow.objects.filter(user_id=user_id, entity=keep).update(entity=restored)
        else:
            Follow.objects.get_or_create(user_id=user_id, entity=restored,
                                         defaults={"notified_at": timezone.now()})


def _record_end_move(record: Record, *, end: str, to: Entity, user, reason: str, field: str) -> None:
    """Point one end of a record at another entity (a merge, or a split undoing one), under
    the record's own rules: a record that would become invalid stops the whole move."""
    setattr(record, end, to)
    _attribute(record, user, reason)
    try:
        record.save()
    except ValidationError as exc:
        raise ValidationError({field: f"Record “{record}” would become invalid: "
                                      + "; ".join(exc.messages)}) from exc


# --- derived name data ------------------------------------------------------------------

def name_keys_refresh(*, entity_ids, new: bool = False) -> int:
    """Bring the blocking keys (NameKey) of these entities in line with their names and
    aliases. Derived data, no permission of its own: it runs after writes that were checked
    (from the Entity post_save signal), and from bulk writes that bypass save(). `new`:
    the entities were just created and have no aliases or keys yet (one query fewer).
    Returns the number of keys written."""
    ids = list(entity_ids)
    if not ids:
        return 0
    kinds = {}
    names: dict[int, list[str]] = {}
    for pk, kind, name in Entity.objects.filter(pk__in=ids).values_list("pk", "kind", "name"):
        kinds[pk] = kind
        names[pk] = [name]
    if not new:
        for pk, name in (Alias.objects.filter(entity_id__in=ids).exclude(workflow=Workflow.RETRACTED)
                         .values_list("entity_id", "name")):
            names[pk].append(name)
    wanted = _name_keys_wanted({pk: (kinds[pk], values) for pk, values in names.items()})
    stale = []
    if not new:
        for row_id, *row in NameKey.objects.filter(entity_id__in=ids).values_list("id", "entity_id", "kind", "key",
                                                                                  "head"):
            if tuple(row) in wanted:
                wanted.discard(tuple(row))
            else:
                stale.append(row_id)
    if stale:
        NameKey.objects.filter(id__in=stale).delete()
    return _name_keys_insert(wanted)


def _name_keys_wanted(names: dict[int, tuple[str, list[str]]]) -> set[tuple[int, str, str, str]]:
    """The NameKey rows (entity, kind, key, head) of entities given as {pk: (kind, [names])}."""
    wanted: set[tuple[int, str, str, str]] = set()
    for pk, (kind, values) in names.items():
        for value in values:
            head = head_word(value)[:32]
            wanted.update((pk, kind, key[:64], head if key.startswith(TYPO_KEY) else "")
                          for key in name_keys(value))
    return wanted


def _name_keys_insert(wanted: set[tuple[int, str, str, str]]) -> int:
    from apps.sync.bulk import rows_insert

    if not wanted:
        return 0
    # In the order of the blocking index (name_key_block: key, kind, head, entity): a bulk
    # import's keys then reach each of its pages once, in order, instead of at random (on
    # SQLite, a million imported objects: the name keys' inserts 16.8 -> 8.1 CPU seconds).
    rows = sorted(wanted, key=itemgetter(2, 1, 3, 0))
    # A transaction for a caller without one; no savepoint inside an import's (it would wait
    # for the queued inserts, see apps.sync.bulk.write_behind; a failure fails that one anyway).
    with transaction.atomic(savepoint=False):
        return rows_insert(NameKey, ["entity_id", "kind", "key", "head"], rows)
