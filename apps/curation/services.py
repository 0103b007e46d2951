"""Curation's own writes: the role groups and the decisions about duplicates.

The catalogue's writes (entities, names, facts, records, sources, citations, the review
workflow, revert, delete and merge) live in apps.catalog.services.
"""
from __future__ import annotations

from django.core.exceptions import ValidationError

from apps.catalog.models import Entity
from apps.curation import roles
from apps.curation.models import MergeDecision


def roles_install() -> None:
    """Create or repair the role groups with their permissions (idempotent).

    The migrations curation/0002 and 0003 do this on install; this is for databases that
    were flushed since (transactional tests) and for `create_demo_users`.
    """
    from django.contrib.auth.models import Group, Permission

    for name, codenames in roles.GROUP_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        perms = Permission.objects.filter(codename__in=codenames,
                                          content_type__app_label__in=["catalog", "curation", "auth"])
        group.permissions.set(perms)


def merge_decision_record(*, user, a: Entity, b: Entity, verdict: str, note: str = "",
                          kept: Entity | None = None, undo: dict | None = None) -> MergeDecision:
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
                  "kept": kept.uuid if kept else None, "undo": undo or {}},
    )
    return decision
