"""Following an entity and the daily digest: one mail per follower, only new items."""
import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core import mail
from django.urls import reverse

from apps.catalog.models import Record
from apps.following import services
from apps.following.models import Follow

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(publish):
    acme = publish.entity("Acme Scanners Ltd")
    beta = publish.entity("Beta Systems")
    customs = publish.entity("Customs", kind="public_body", country="PL")
    ana = User.objects.create_user("ana", email="ana@example.org", password="x")
    ben = User.objects.create_user("ben", email="ben@example.org", password="x")
    return {"acme": acme, "beta": beta, "customs": customs, "ana": ana, "ben": ben, "publish": publish}


def test_each_follower_gets_one_mail_with_only_new_public_records(world):
    publish, acme, beta, customs = world["publish"], world["acme"], world["beta"], world["customs"]
    publish.record(customs, acme, kind="contract", title="Before anyone followed")
    for user in (world["ana"], world["ben"]):
        services.follow_create(user=user, entity=acme)
    services.follow_create(user=world["ana"], entity=beta)
    publish.record(customs, acme, kind="contract", title="Customs buys Acme scanners")
    publish.record(customs, beta, kind="contract", title="Customs buys Beta scanners")
    draft = Record(kind="contract", subject=customs, object=acme, title="A draft nobody may see")
    draft.save()

    assert services.digest_send_all() == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["ana@example.org", "ben@example.org"]
    ana = next(m for m in mail.outbox if m.to == ["ana@example.org"])
    ben = next(m for m in mail.outbox if m.to == ["ben@example.org"])
    assert "Customs buys Acme scanners" in ana.body and "Customs buys Beta scanners" in ana.body
    assert "Customs buys Beta scanners" not in ben.body
    for message in (ana, ben):
        assert "Before anyone followed" not in message.body and "A draft nobody may see" not in message.body
        assert f"{settings.SITE_URL}/records/" in message.body
        assert message.alternatives and "text/html" in message.alternatives[0][1]

    mail.outbox.clear()
    assert services.digest_send_all() == 0, "nothing new, no mail"
    assert mail.outbox == []

    publish.record(customs, acme, kind="contract", title="A later contract")
    assert services.digest_send_all() == 2
    assert all("A later contract" in m.body and "Customs buys Acme scanners" not in m.body for m in mail.outbox)


def test_a_signed_in_user_follows_and_unfollows_from_the_entity_page(client, world):
    acme = world["acme"]
    url = reverse("following:follow", args=[acme.uuid])
    assert client.post(url).status_code == 302 and not Follow.objects.exists()  # to the login page
    client.force_login(world["ana"])
    page = client.get(reverse("browse:entity", args=[acme.uuid])).content.decode()
    assert f'action="{url}"' in page and "csrfmiddlewaretoken" in page
    assert client.post(url, {"action": "follow"}).status_code == 302
    assert Follow.objects.filter(user=world["ana"], entity=acme).count() == 1
    assert "Unfollow" in client.get(reverse("browse:entity", args=[acme.uuid])).content.decode()
    client.post(url, {"action": "unfollow"})
    assert not Follow.objects.exists()
    assert client.get(url).status_code == 405


def test_the_digest_runs_daily_from_celery_beat():
    from config.settings import base  # the test settings keep only the fast outbox sweeper

    entry = base.CELERY_BEAT_SCHEDULE["daily-digest"]
    assert entry["task"] == "apps.following.tasks.digest_send_all"
    assert entry["schedule"].hour == {7} and entry["schedule"].minute == {0}
    from config.celery import app

    app.loader.import_default_modules()
    assert "apps.following.tasks.digest_send_all" in app.tasks
