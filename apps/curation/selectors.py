"""Reads for curators: the review queue, readable history with diffs, likely duplicates."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from apps.catalog.models import Alias, Citation, Entity, Fact, Record
from apps.catalog.selectors.matching import THRESHOLD, Candidate, duplicate_page  # noqa: F401  (re-exported)
from apps.catalog.vocab import Workflow
from apps.curation.models import MergeDecision

# Internal bookkeeping that changes with every save and says nothing to a reader.
_HIDDEN = {"version", "updated_at", "name_norm", "content_hash", "created_at"}


QUEUE_LIMIT = 200


def review_queue() -> dict:
    """Drafts and items in review (records, entities, names, facts), oldest change first
    within each state, and published records flagged for another look."""
    records = Record.objects.select_related("subject", "object").order_by("updated_at")
    entities = Entity.objects.order_by("updated_at")
    aliases = Alias.objects.select_related("entity").order_by("id")
    facts = Fact.objects.select_related("entity").prefetch_related("citations__source").order_by("id")
    return {
        "records_flagged": records.exclude(flag="").exclude(workflow=Workflow.RETRACTED)[:QUEUE_LIMIT],
        "records_review": records.filter(workflow=Workflow.REVIEW)[:QUEUE_LIMIT],
        "records_draft": records.filter(workflow=Workflow.DRAFT)[:QUEUE_LIMIT],
        "entities_review": entities.filter(workflow=Workflow.REVIEW)[:QUEUE_LIMIT],
        "entities_draft": entities.filter(workflow=Workflow.DRAFT)[:QUEUE_LIMIT],
        "names_pending": aliases.filter(workflow__in=[Workflow.DRAFT, Workflow.REVIEW])[:QUEUE_LIMIT],
        "facts_pending": facts.filter(workflow__in=[Workflow.DRAFT, Workflow.REVIEW])[:QUEUE_LIMIT],
    }


@dataclass
class Change:
    field: str
    label: str
    old: str
    new: str


@dataclass
class HistoryEntry:
    """One row of a history page: who did what to what, when, and the readable diff."""

    history_id: int
    date: object
    user: str
    action: str            # created / changed / deleted
    what: str              # "record" or e.g. "citation from <source>"
    reason: str
    version: int | None
    changes: list[Change] = field(default_factory=list)
    revertible: bool = False
    summary: str = ""


def _display(model, name: str, value, cache: dict) -> str:
    if value is None or value == "":
        return "—"
    f = model._meta.get_field(name)
    if f.is_relation:
        key = (f.related_model, value)
        if key not in cache:
            obj = f.related_model._base_manager.filter(pk=value).first()
            cache[key] = str(obj) if obj is not None else f"(deleted #{value})"
        return cache[key]
    if f.choices:
        return dict(f.flatchoices).get(value, str(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=1)
    return str(value)


def _diff(new, old, model, cache) -> list[Change]:
    if old is None:
        fields = [f.name for f in model._meta.fields if f.name not in _HIDDEN and f.name not in ("id", "uuid")]
        return [Change(n, str(model._meta.get_field(n).verbose_name), "", _display(model, n, getattr(new, f"{n}_id" if model._meta.get_field(n).is_relation else n), cache))
                for n in fields
                if getattr(new, f"{n}_id" if model._meta.get_field(n).is_relation else n) not in (None, "", {}, [])]
    delta = new.diff_against(old, excluded_fields=list(_HIDDEN & {f.name for f in model._meta.fields}))
    changes = []
    for c in delta.changes:
        changes.append(Change(c.field, str(model._meta.get_field(c.field).verbose_name),
                              _display(model, c.field, c.old, cache), _display(model, c.field, c.new, cache)))
    return changes


_ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}


def _entries(history_qs, model, what, cache, *, revertible: bool) -> list[HistoryEntry]:
    rows = list(history_qs.select_related("history_user").order_by("history_date", "history_id"))
    out = []
    previous = {}
    for row in rows:
        ident = row.id
        old = previous.get(ident)
        changes = _diff(row, old, model, cache) if row.history_type != "-" else []
        previous[ident] = row
        label = what(row) if callable(what) else what
        out.append(HistoryEntry(
            history_id=row.history_id, date=row.history_date,
            user=row.history_user.get_username() if row.history_user else "system",
            action=_ACTIONS.get(row.history_type, row.history_type), what=label,
            reason=row.history_change_reason or "", version=getattr(row, "version", None),
            changes=changes, revertible=revertible and row.history_type != "-",
        ))
    return out


def _citation_label(row) -> str:
    source = row.source
    return f"citation from “{source.title}”" + (f" [{row.field}]" if row.field else "") if source else "citation"


def object_history(obj) -> list[HistoryEntry]:
    """Every change to a record or an entity, newest first: its own revisions plus its
    citations (and, for an entity, its names) being added, changed or removed."""
    cache: dict = {}
    kind = obj._meta.model_name
    entries = _entries(obj.history.all(), type(obj), kind, cache, revertible=True)
    citation_history = Citation.history.filter(**{f"{kind}_id": obj.pk}).select_related("source")
    entries += _entries(citation_history, Citation, _citation_label, cache, revertible=False)
    for e in entries:
        if e.what.startswith("citation"):
            quote = next((c.new for c in e.changes if c.field == "quote"), "")
            e.summary = quote
    if kind == "entity":
        from apps.catalog.models import Alias

        entries += _entries(Alias.history.filter(entity_id=obj.pk), Alias, lambda r: f"name “{r.name}”", cache,
                            revertible=False)
    entries.sort(key=lambda e: (e.date, e.history_id), reverse=True)
    # The newest own revision is the current state: reverting to it would change nothing.
    for e in entries:
        if e.what == kind:
            e.revertible = False
            break
    return entries


def duplicate_candidates(*, threshold: float = THRESHOLD, limit: int = 100) -> list[Candidate]:
    """The first page of likely duplicates (see apps.catalog.selectors.matching.duplicate_page)."""
    return duplicate_page(threshold=threshold, per_page=limit).candidates[:limit]


def merges_splittable(*, kept=None, limit: int = 50):
    """Merges that can be split again (newest first); `kept`: only those into this entity."""
    qs = MergeDecision.objects.filter(verdict=MergeDecision.Verdict.SAME).exclude(undo={}).select_related("decided_by")
    if kept is not None:
        qs = qs.filter(kept=kept.uuid)
    return list(qs[:limit])


def decisions(limit: int = 50):
    return MergeDecision.objects.select_related("decided_by")[:limit]


def entity_choices(q: str = "", limit: int = 20):
    """Entities a curator may pick (drafts too), by the one search."""
    from apps.catalog.selectors.search import entities_matching

    if not q:
        return list(Entity.objects.exclude(workflow=Workflow.RETRACTED)[:limit])
    return entities_matching(q, limit=limit, include_unpublished=True)
