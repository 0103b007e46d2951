"""Load a curated case-study file (format `vendorgraph-casestudy/1`, see data/casestudy/README.md).

Idempotent: objects are matched on their stable `key`; an object is saved only when one
of its fields differs, so running the load twice changes nothing (no new versions, no
outbox rows). A malformed file fails as a whole with `CaseStudyError` naming the file,
the line and the field, and leaves the database untouched.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.catalog.models import Alias, Citation, Entity, Fact, Record, Source
from apps.catalog.vocab import PROCEDURES, Workflow
from apps.sync.models import SyncedModel

FORMAT = "vendorgraph-casestudy/1"
DEFAULT_PATH = Path(__file__).resolve().parent.parent.parent / "data" / "casestudy" / "nuctech.json"

# Attributes that the store of record keeps in columns of their own.
_COLUMN_ATTRIBUTES = {"share_pct", "procedure"}


class CaseStudyError(ValueError):
    """The file cannot be loaded; the message names file, line and field."""


@dataclass
class LoadReport:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)

    def count(self, bucket: str, what: str) -> None:
        target = getattr(self, bucket)
        target[what] = target.get(what, 0) + 1

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


class _Locator:
    """Finds the line of an object in the raw JSON text, for error messages."""

    def __init__(self, path: Path, text: str):
        self.path = path
        self.lines = text.splitlines()

    def line_of(self, key: str) -> int:
        needle = f'"key": "{key}"'
        for number, line in enumerate(self.lines, start=1):
            if needle in line:
                return number
        return 0

    def error(self, key: str, field_name: str, message: str) -> CaseStudyError:
        return CaseStudyError(f"{self.path.name}, line {self.line_of(key)}, {key}.{field_name}: {message}")


def _set_fields(obj, values: dict) -> bool:
    changed = False
    for name, value in values.items():
        model_field = obj._meta.get_field(name)
        if model_field.is_relation:
            current = getattr(obj, model_field.attname)
            if current != (value.pk if value is not None else None):
                setattr(obj, name, value)
                changed = True
        elif getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def _upsert(model, key: str, values: dict, where: "_Locator"):
    """Find the object by its key, set `values`, and save it only if something differs.
    Returns (object, "created" | "updated" | "unchanged")."""
    obj = model.objects.filter(key=key).first()
    bucket = "unchanged"
    if obj is None:
        obj, bucket = model(key=key), "created"
    if _set_fields(obj, values) or bucket == "created":
        bucket = "created" if bucket == "created" else "updated"
        try:
            obj.full_clean()
        except ValidationError as exc:
            raise where.error(key, *_validation_message(exc)) from exc
        # SyncedModel.save() would validate again; the clean above already did.
        obj.save(**({"validate": False} if isinstance(obj, SyncedModel) else {}))
    return obj, bucket


def _validation_message(exc: ValidationError) -> tuple[str, str]:
    if hasattr(exc, "message_dict"):
        name, messages = next(iter(exc.message_dict.items()))
        return name, "; ".join(messages)
    return "?", "; ".join(exc.messages)


def load_casestudy(path: str | Path = DEFAULT_PATH, *, publish: bool = True) -> LoadReport:
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CaseStudyError(f"{path}: cannot read: {exc}") from exc
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CaseStudyError(f"{path.name}, line {exc.lineno}: not valid JSON: {exc.msg}") from exc
    if data.get("format") != FORMAT:
        raise CaseStudyError(f"{path.name}, line 1, format: expected {FORMAT!r}, found {data.get('format')!r}")
    where = _Locator(path, raw)
    report = LoadReport()
    with transaction.atomic():
        sources = _load_sources(data, path.parent / "sources", where, report)
        entities = _load_entities(data, sources, where, report, publish)
        _load_records(data, sources, entities, where, report, publish)
    return report


def _load_sources(data, folder: Path, where: _Locator, report: LoadReport) -> dict[str, Source]:
    sources = {}
    for item in data.get("sources", []):
        key = item["key"]
        try:
            text = (folder / item["file"]).read_text(encoding="utf-8")
        except (OSError, KeyError) as exc:
            raise where.error(key, "file", f"cannot read the source text: {exc}") from exc
        quotes: dict[str, list[str]] = {}
        for citation in item.get("citations", []):
            quotes.setdefault(citation["field"], []).append(citation["quote"])
        values = {
            "title": item.get("title") or "", "publisher": item.get("publisher") or "",
            "author": item.get("author") or "", "published": item.get("published") or "",
            "url": item.get("url") or "", "language": item.get("language") or "",
            "source_type": item.get("source_type") or Source.SourceType.ARTICLE,
            "text": text, "metadata_quotes": quotes,
        }
        source, bucket = _upsert(Source, key, values, where)
        report.count(bucket, "sources")
        sources[key] = source
    return sources


def _sync_citations(target, wanted: list[tuple[Source, str, str]], where: _Locator, key: str,
                    facts: dict[tuple[str, str], Fact] | None = None) -> bool:
    """Make the target's citations exactly `wanted` [(source, quote, field)]; True if changed.

    For an entity, a field "fact:<name>=<value>" cites that one fact (from `facts`)."""
    kwargs = {"record": target} if isinstance(target, Record) else {"entity": target}
    facts = facts or {}
    existing = {(c.source_id, c.quote, c.field if c.fact_id is None else f"{c.field}={c.fact.value}"): c
                for c in Citation.objects.filter(**kwargs).select_related("fact")}
    wanted_keys = {(s.pk, q, f) for s, q, f in wanted}
    changed = False
    for source, quote, field_name in wanted:
        if (source.pk, quote, field_name) in existing:
            continue
        fact = None
        if field_name.startswith("fact:"):
            name, _, value = field_name[5:].partition("=")
            fact = facts[(name, value)]
            citation = Citation(source=source, quote=quote, field=f"fact:{name}", fact=fact, **kwargs)
        else:
            citation = Citation(source=source, quote=quote, field=field_name, **kwargs)
        try:
            citation.save()
        except ValidationError as exc:
            raise where.error(key, f"citations[{quote[:40]!r}]", _validation_message(exc)[1]) from exc
        existing[(source.pk, quote, field_name)] = citation
        changed = True
    for ident, citation in existing.items():
        if ident not in wanted_keys:
            citation.delete()
            changed = True
    return changed


def _citations(item, sources, where, key, field_name="") -> list[tuple[Source, str, str]]:
    result = []
    for citation in item.get("citations", []):
        if citation.get("source") not in sources:
            raise where.error(key, "citations.source", f"unknown source {citation.get('source')!r}")
        supports = citation.get("supports")
        name = field_name or (",".join(supports) if supports else "")
        result.append((sources[citation["source"]], citation["quote"], name))
    return result


def _publish(obj, key: str, where: _Locator, status_field: str) -> bool:
    if getattr(obj, status_field) == Workflow.PUBLISHED:
        return False
    setattr(obj, status_field, Workflow.PUBLISHED)
    obj.published_at = timezone.now()
    try:
        obj.save()
    except ValidationError as exc:
        raise where.error(key, *_validation_message(exc)) from exc
    return True


def _load_entities(data, sources, where, report, publish) -> dict[str, Entity]:
    entities = {}
    for item in data.get("entities", []):
        key = item["key"]
        values = {
            "kind": item["kind"], "name": item["name"], "country": item.get("country") or "",
            "iso_code": item.get("iso_code") or None, "state_owned": item.get("state_owned"),
            "description": item.get("description") or "",
            "identifiers": item.get("identifiers") or {},
        }
        entity, bucket = _upsert(Entity, key, values, where)
        wanted_aliases = {a["name"] for a in item.get("aliases", [])}
        have_aliases = {a.name: a for a in entity.aliases.all()}
        for name in sorted(wanted_aliases - have_aliases.keys()):
            Alias(entity=entity, name=name).save()
            bucket = "updated" if bucket == "unchanged" else bucket
        for name in sorted(have_aliases.keys() - wanted_aliases):
            have_aliases[name].delete()
            bucket = "updated" if bucket == "unchanged" else bucket
        # One fact per (field, value): two articles saying different things are both kept.
        wanted_facts = {(f["field"], str(f["value"])) for f in item.get("facts", [])}
        have_facts = {(f.field, f.value): f for f in entity.fact_set.all()}
        for field_name, value in sorted(wanted_facts - have_facts.keys()):
            fact = Fact(entity=entity, field=field_name, value=value)
            try:
                fact.full_clean()
            except ValidationError as exc:
                raise where.error(key, f"facts.{field_name}", _validation_message(exc)[1]) from exc
            fact.save()
            have_facts[(field_name, value)] = fact
            bucket = "updated" if bucket == "unchanged" else bucket
        for ident in sorted(have_facts.keys() - wanted_facts):
            have_facts.pop(ident).delete()
            bucket = "updated" if bucket == "unchanged" else bucket
        wanted = _citations(item, sources, where, key)
        for alias in item.get("aliases", []):
            wanted += _citations(alias, sources, where, key, f"alias:{alias['name']}")
        for fact in item.get("facts", []):
            wanted += _citations(fact, sources, where, key, f"fact:{fact['field']}={fact['value']}")
        if _sync_citations(entity, wanted, where, key, have_facts) and bucket == "unchanged":
            bucket = "updated"
        if publish and _publish(entity, key, where, "workflow") and bucket == "unchanged":
            bucket = "updated"
        if publish:
            # Names and facts are published with their entity: the file is curated, and
            # each carries its own citation (checked above).
            for claim in [*entity.aliases.all(), *have_facts.values()]:
                if claim.workflow != Workflow.PUBLISHED:
                    claim.workflow = Workflow.PUBLISHED
                    claim.save()
                    bucket = "updated" if bucket == "unchanged" else bucket
        report.count(bucket, "entities")
        entities[key] = entity
    return entities


def _entity_ref(item, name, entities, where, required=True):
    key = item.get(name)
    if key is None and not required:
        return None
    if key not in entities:
        raise where.error(item["key"], name, f"unknown entity {key!r}")
    return entities[key]


def _load_records(data, sources, entities, where, report, publish) -> None:
    records: dict[str, Record] = {}
    items = data.get("records", [])
    for item in items:
        key = item["key"]
        attributes = dict(item.get("attributes") or {})
        share = attributes.pop("share_pct", None)
        procedure = attributes.get("procedure")
        if procedure in PROCEDURES:
            attributes.pop("procedure")
        else:
            procedure = ""
        try:
            amount = None if item.get("amount") in (None, "") else Decimal(str(item["amount"]))
        except InvalidOperation as exc:
            raise where.error(key, "amount", f"{item['amount']!r} is not a number") from exc
        values = {
            "kind": item["kind"], "title": item.get("title") or "", "description": item.get("description") or "",
            "subject": _entity_ref(item, "subject", entities, where),
            "object": _entity_ref(item, "object", entities, where),
            "site": _entity_ref(item, "site", entities, where, required=False),
            "party": _entity_ref(item, "party", entities, where, required=False),
            "start": item.get("start") or "", "end": item.get("end") or "",
            "amount": amount, "currency": item.get("currency") or "", "amount_kind": item.get("amount_kind") or "",
            "share_pct": None if share is None else Decimal(str(share)), "status": item.get("status") or "",
            "procedure": procedure, "attributes": attributes,
        }
        record, bucket = _upsert(Record, key, values, where)
        if not item.get("citations"):
            raise where.error(key, "citations", "a record needs at least one citation")
        if _sync_citations(record, _citations(item, sources, where, key), where, key) and bucket == "unchanged":
            bucket = "updated"
        records[key] = record
        report.count(bucket, "records")
    # Second pass: links between records, then publication (citations exist by now).
    for item in items:
        record = records[item["key"]]
        related_key = item.get("related")
        if related_key is not None and related_key not in records:
            raise where.error(item["key"], "related", f"unknown record {related_key!r}")
        related = records[related_key] if related_key else None
        if record.related_id != (related.pk if related else None):
            record.related = related
            record.save()
        if publish:
            _publish(record, item["key"], where, "workflow")
