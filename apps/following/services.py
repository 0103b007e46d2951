"""Writes of following: follow, unfollow, and the daily digest mail."""
from __future__ import annotations

from collections import defaultdict

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from apps.catalog.models import Entity
from apps.catalog.selectors.visibility import entity_is_public, public_entities
from apps.following.models import Follow
from apps.following.selectors import digest_items


def follow_create(*, user, entity: Entity) -> Follow:
    """Follow a public entity; the first digest covers what changes from now on."""
    if not user.is_authenticated:
        raise PermissionDenied("Sign in to follow an entity.")
    if not entity_is_public(entity):
        raise PermissionDenied("Only published entities can be followed.")
    follow, _ = Follow.objects.get_or_create(user=user, entity=entity, defaults={"notified_at": timezone.now()})
    return follow


def follow_delete(*, user, entity: Entity) -> None:
    Follow.objects.filter(user=user, entity=entity).delete()


def digest_send_all(*, now=None, base_url: str = "") -> int:
    """One mail per follower listing, per followed entity, the public records new or changed
    since the last digest; nothing to say, no mail. Returns the number of mails sent.

    A follow's `notified_at` moves on only once its follower's mail has gone, so a failed
    send is retried by the next run instead of losing the items."""
    now = now or timezone.now()
    by_user: dict[int, list] = defaultdict(list)
    for follow in Follow.objects.select_related("entity", "user").filter(entity__in=public_entities()).order_by("user_id", "entity__name"):
        by_user[follow.user_id].append(follow)
    sent = 0
    users = {u.pk: u for u in get_user_model().objects.filter(pk__in=by_user)}
    for user_id, follows in by_user.items():
        user = users[user_id]
        sections = [{"entity": f.entity, "records": items} for f in follows if (items := digest_items(follow=f, until=now))]
        if not sections or not user.email:
            continue
        context = {"user": user, "sections": sections, "base_url": base_url or settings.SITE_URL,
                   "count": sum(len(s["records"]) for s in sections)}
        send_mail(subject=f"vendorgraph: {context['count']} new or changed record{'s' if context['count'] != 1 else ''}",
                  message=render_to_string("following/digest.txt", context),
                  from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=[user.email],
                  html_message=render_to_string("following/digest.html", context))
        with transaction.atomic():
            Follow.objects.filter(pk__in=[f.pk for f in follows]).update(notified_at=now)
        sent += 1
    return sent
