"""Each write, for each role: anonymous readers, a user without a role (dave), editors
(alice), reviewers (bob) and admins (charlie). Enforced in the services and the views."""
import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from apps.catalog.models import Entity, Record
from apps.catalog.vocab import Workflow
from apps.catalog import services
from tests.factories import cite, make_entity, make_published_record, make_record

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "dave", "alice", "bob", "charlie"]


@pytest.fixture
def person(request, alice, bob, charlie, dave):
    from django.contrib.auth.models import AnonymousUser

    return {"anonymous": AnonymousUser(), "dave": dave, "alice": alice, "bob": bob, "charlie": charlie}[request.param]


def _allowed(role, allowed):
    return role in allowed


@pytest.mark.parametrize("person", ROLES, indirect=True)
def test_it_lets_curators_create_draft_records(person):
    a, b = make_entity("Buyer Ltd"), make_entity("Vendor Ltd")
    if person.username in ("alice", "bob", "charlie"):
        record = services.record_create(user=person, kind="contract", subject=a, object=b, title="t")
        assert record.workflow == Workflow.DRAFT
        assert record.history.first().history_user == person
    else:
        with pytest.raises(PermissionDenied):
            services.record_create(user=person, kind="contract", subject=a, object=b, title="t")
        assert Record.objects.count() == 0


@pytest.mark.parametrize("person", ROLES, indirect=True)
def test_it_lets_curators_change_drafts_but_only_reviewers_change_published(person):
    draft = make_record(make_entity("A Ltd"), make_entity("B Ltd"))
    published = make_published_record(make_entity("C Ltd"), make_entity("D Ltd"))
    curator = person.username in ("alice", "bob", "charlie")
    reviewer = person.username in ("bob", "charlie")
    for record, may in ((draft, curator), (published, reviewer)):
        if may:
            services.record_update(user=person, record=record, title="changed")
            record.refresh_from_db()
            assert record.title == "changed"
        else:
            with pytest.raises(PermissionDenied):
                services.record_update(user=person, record=record, title="changed")
            record.refresh_from_db()
            assert record.title != "changed"


@pytest.mark.parametrize("person", ROLES, indirect=True)
def test_only_reviewers_and_admins_publish_and_retract(person):
    a, b = make_entity("A Ltd", workflow="published"), make_entity("B Ltd", workflow="published")
    record = make_record(a, b, workflow=Workflow.REVIEW)
    cite(record, "Acme Scanners Ltd won a contract worth 1,200,000 euros in 2021.")
    if person.username in ("bob", "charlie"):
        services.workflow_transition(user=person, obj=record, to=Workflow.PUBLISHED)
        assert (record.workflow, record.published_by) == (Workflow.PUBLISHED, person)
        assert record.published_at is not None
        services.workflow_transition(user=person, obj=record, to=Workflow.RETRACTED)
        record.refresh_from_db()
        assert record.workflow == Workflow.RETRACTED
    else:
        with pytest.raises(PermissionDenied):
            services.workflow_transition(user=person, obj=record, to=Workflow.PUBLISHED)
        record.refresh_from_db()
        assert record.workflow == Workflow.REVIEW


@pytest.mark.parametrize("person", ROLES, indirect=True)
def test_editors_submit_for_review(person):
    record = make_record(make_entity("A Ltd"), make_entity("B Ltd"))
    if person.username in ("alice", "bob", "charlie"):
        services.workflow_transition(user=person, obj=record, to=Workflow.REVIEW)
        assert Record.objects.get(pk=record.pk).workflow == Workflow.REVIEW
    else:
        with pytest.raises(PermissionDenied):
            services.workflow_transition(user=person, obj=record, to=Workflow.REVIEW)


@pytest.mark.parametrize("person", ROLES, indirect=True)
def test_only_admins_merge_and_delete(person):
    keep, dup = make_entity("Nuctech", country="CN"), make_entity("Nuotech", country="CN")
    lonely = make_entity("Lonely Ltd")
    record = make_record(make_entity("X Ltd"), make_entity("Y Ltd"))
    if person.username == "charlie":
        services.entity_merge(user=person, keep=keep, merge=dup)
        services.record_delete(user=person, record=record)
        services.entity_delete(user=person, entity=lonely)
        assert not Entity.objects.filter(pk__in=[dup.pk, lonely.pk]).exists()
        assert not Record.objects.filter(pk=record.pk).exists()
    else:
        for call in (lambda: services.entity_merge(user=person, keep=keep, merge=dup),
                     lambda: services.record_delete(user=person, record=record),
                     lambda: services.entity_delete(user=person, entity=lonely)):
            with pytest.raises(PermissionDenied):
                call()
        assert Entity.objects.filter(pk__in=[dup.pk, lonely.pk]).count() == 2
        assert Record.objects.filter(pk=record.pk).exists()


@pytest.mark.parametrize("who,status", [(None, 302), ("dave", 403), ("alice", 200), ("bob", 200), ("charlie", 200)])
def test_the_curation_pages_need_a_role(who, status, as_user, request):
    client = as_user(request.getfixturevalue(who) if who else None)
    for name in ("curation:queue", "curation:duplicates", "curation:record_new", "curation:source_new"):
        assert client.get(reverse(name)).status_code == status, name


@pytest.mark.parametrize("who,status", [(None, 302), ("dave", 403), ("alice", 403), ("bob", 302), ("charlie", 302)])
def test_the_publish_button_is_enforced_on_the_server(who, status, as_user, request):
    record = make_record(make_entity("A Ltd", workflow="published"), make_entity("B Ltd", workflow="published"))
    cite(record, "Acme Scanners Ltd won a contract worth 1,200,000 euros in 2021.")
    client = as_user(request.getfixturevalue(who) if who else None)
    response = client.post(reverse("curation:record_transition", args=[record.uuid]), {"to": "published"})
    assert response.status_code == status
    record.refresh_from_db()
    assert (record.workflow == Workflow.PUBLISHED) == (who in ("bob", "charlie"))


@pytest.mark.parametrize("who,status", [("alice", 403), ("bob", 403), ("charlie", 200)])
def test_only_admins_manage_users(who, status, as_user, request):
    client = as_user(request.getfixturevalue(who))
    assert client.get("/admin/auth/user/").status_code == status
    assert client.get("/admin/auth/user/add/").status_code == status


def test_editors_see_published_records_read_only_in_the_admin(alice, bob, as_user):
    record = make_published_record(make_entity("A Ltd"), make_entity("B Ltd"), title="Old title")
    url = f"/admin/catalog/record/{record.pk}/change/"
    client = as_user(alice)
    page = client.get(url)
    assert page.status_code == 200 and b'name="title"' not in page.content  # a read-only view
    client.post(url, {"title": "Hijacked"})
    record.refresh_from_db()
    assert record.title == "Old title"
    assert b'name="title"' in as_user(bob).get(url).content
