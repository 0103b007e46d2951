"""The pages' store cache: an answer is never served after a change it does not show."""
import pytest
from django.core.cache import cache
from django.db import transaction

from apps.catalog.selectors.store_cache import cached_until_store_changes
from apps.sync.models import OutboxEvent
from tests.factories import make_entity

pytestmark = pytest.mark.django_db(transaction=True)  # real commits, real on-commit hooks


def newest_id():
    return OutboxEvent.objects.order_by("-id").values_list("id", flat=True).first()


def test_a_change_committed_under_an_older_outbox_id_still_retires_the_cached_answer(redis_server):
    """On PostgreSQL a transaction holding a lower outbox id can commit after the one holding
    the newest: the newest id does not move, yet the store changed. The commit moves the cache on."""
    cache.clear()
    for name in ("Acme Scanners Ltd", "Nuctech", "Rapiscan"):
        make_entity(name)
    newest = newest_id()
    OutboxEvent.objects.filter(id=newest - 1).delete()  # the id the late transaction held
    answers = iter(["before", "after"])
    assert cached_until_store_changes("late-commit", lambda: next(answers)) == "before"
    assert cached_until_store_changes("late-commit", lambda: next(answers)) == "before"  # from the cache

    # The late commit: a real write, whose outbox row holds the older id.
    with transaction.atomic():
        make_entity("Smiths Detection")
        OutboxEvent.objects.filter(id=newest_id()).update(id=newest - 1)
    assert newest_id() == newest

    assert cached_until_store_changes("late-commit", lambda: next(answers)) == "after"
