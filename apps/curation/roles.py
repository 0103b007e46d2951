"""Roles and the permission checks every curation service runs on the server.

Roles are Django groups (created by the migration curation/0002) carrying model
permissions, so the Django admin, the curation pages and the API all ask the same
question: `user.has_perm(...)`.

| role      | may                                                                  |
|-----------|----------------------------------------------------------------------|
| anonymous | read published data                                                  |
| editor    | create entities, records, sources and citations; change drafts and   |
|           | items in review; submit them for review; revert drafts               |
| reviewer  | all an editor may, plus publish, retract, send back to draft, change |
|           | and revert published items                                           |
| admin     | all a reviewer may, plus merge and delete entities and records,      |
|           | delete sources, manage users (superusers are admins)                 |
"""
from __future__ import annotations

from django.core.exceptions import PermissionDenied

from apps.catalog.vocab import Workflow

EDITOR, REVIEWER, ADMIN = "editor", "reviewer", "admin"
ROLES = (EDITOR, REVIEWER, ADMIN)

# Permissions per group; each role includes the ones before it.
_CURATE = [
    f"{action}_{model}"
    for model in ("entity", "alias", "fact", "record", "source", "citation")
    for action in ("view", "add", "change")
] + ["delete_alias", "delete_fact", "delete_citation", "view_mergedecision"]
_REVIEW = ["publish_entity", "publish_record"]
_ADMIN = ["delete_entity", "delete_record", "delete_source", "merge_entity", "add_mergedecision",
          "change_mergedecision", "delete_mergedecision",
          "view_user", "add_user", "change_user", "delete_user", "view_group"]
GROUP_PERMISSIONS = {
    EDITOR: _CURATE,
    REVIEWER: _CURATE + _REVIEW,
    ADMIN: _CURATE + _REVIEW + _ADMIN,
}

# Names and facts are claims about an entity: publishing them is publishing the entity's content.
PUBLISH_PERM = {"entity": "catalog.publish_entity", "record": "catalog.publish_record",
                "alias": "catalog.publish_entity", "fact": "catalog.publish_entity"}
CHANGE_PERM = {"entity": "catalog.change_entity", "record": "catalog.change_record",
               "alias": "catalog.change_alias", "fact": "catalog.change_fact"}


def role_of(user) -> str | None:
    """The highest role of `user`, or None for anonymous readers and users without one."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return ADMIN
    names = set(user.groups.values_list("name", flat=True))
    for role in (ADMIN, REVIEWER, EDITOR):
        if role in names:
            return role
    return None


def is_curator(user) -> bool:
    return role_of(user) is not None


def _kind(obj) -> str:
    return obj._meta.model_name


def workflow_of(obj) -> str:
    return obj.workflow


def require(user, perm: str, message: str) -> None:
    """Raise PermissionDenied(message) unless `user` holds `perm`."""
    if user is None or not user.is_authenticated or not user.has_perm(perm):
        raise PermissionDenied(message)


def can_change(user, obj) -> bool:
    """Editors change drafts and items in review; published and retracted items need a reviewer."""
    kind = _kind(obj)
    if kind not in CHANGE_PERM:
        return bool(user and user.is_authenticated and user.has_perm(f"catalog.change_{kind}"))
    if not (user and user.is_authenticated and user.has_perm(CHANGE_PERM[kind])):
        return False
    if obj.pk is None or workflow_of(obj) in (Workflow.DRAFT, Workflow.REVIEW):
        return True
    return user.has_perm(PUBLISH_PERM[kind])


def require_change(user, obj) -> None:
    if not can_change(user, obj):
        state = workflow_of(obj) if _kind(obj) in CHANGE_PERM else ""
        raise PermissionDenied(
            f"You may not change this {_kind(obj)}"
            + (f" while it is {state}: a reviewer must do it." if state in (Workflow.PUBLISHED, Workflow.RETRACTED) else ".")
        )


def can_publish(user, obj) -> bool:
    return bool(user and user.is_authenticated and user.has_perm(PUBLISH_PERM[_kind(obj)]))


def can_merge(user) -> bool:
    return bool(user and user.is_authenticated and user.has_perm("catalog.merge_entity"))
