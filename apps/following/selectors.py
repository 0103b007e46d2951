"""Reads of following: who follows what, and what a digest holds."""
from __future__ import annotations

from django.db.models import Q

from apps.catalog.models import Entity
from apps.catalog.selectors.browse import with_sources
from apps.catalog.selectors.visibility import public_records
from apps.following.models import Follow

DIGEST_LIMIT = 100  # records per followed entity and digest; the mail links to the rest


def is_following(*, user, entity: Entity) -> bool:
    return bool(user.is_authenticated) and Follow.objects.filter(user=user, entity=entity).exists()


def follows_of(*, user) -> list[Follow]:
    return list(Follow.objects.filter(user=user).select_related("entity"))


def digest_items(*, follow: Follow, until) -> list:
    """Public records naming the followed entity, published or changed after the last digest
    (and up to `until`, the moment this digest is cut), newest first."""
    entity = follow.entity
    names = Q(subject=entity) | Q(object=entity) | Q(site=entity) | Q(party=entity)
    qs = (public_records().filter(names, updated_at__gt=follow.notified_at, updated_at__lte=until)
          .order_by("-updated_at", "-id"))
    return list(with_sources(qs)[:DIGEST_LIMIT])
