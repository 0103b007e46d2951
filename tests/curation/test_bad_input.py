"""Forms and the API reject bad input, say which field and why, and change nothing."""
import json

import pytest
from django.urls import reverse

from apps.catalog.models import Citation, Record, Source
from apps.sync.models import OutboxEvent
from tests.factories import make_entity, make_record, make_source

pytestmark = pytest.mark.django_db


@pytest.fixture
def ends():
    return make_entity("Acme Holding"), make_entity("Acme Scanners Ltd")


def _record_form(a, b, **extra):
    data = {"kind": "ownership", "subject": a.pk, "object": b.pk, "title": "t", "attributes": "{}"}
    data.update(extra)
    return data


def _record_api(a, b, **extra):
    data = {"kind": "ownership", "subject": str(a.uuid), "object": str(b.uuid), "title": "t"}
    data.update(extra)
    return data


CASES = [
    ("end before start", {"start": "2023-05", "end": "2021"}, "end", "before the start"),
    ("share over 100%", {"share_pct": "120"}, "share_pct", "100"),
    ("own itself", {"object": "SELF"}, "object", "cannot own itself"),
]


@pytest.mark.parametrize("name,extra,field,why", CASES, ids=[c[0] for c in CASES])
def test_the_record_form_says_which_field_and_why(name, extra, field, why, ends, alice, as_user):
    a, b = ends
    extra = {k: (a.pk if v == "SELF" else v) for k, v in extra.items()}
    before = (Record.objects.count(), OutboxEvent.objects.count())
    response = as_user(alice).post(reverse("curation:record_new"), _record_form(a, b, **extra))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors and why in " ".join(errors[field]), errors
    assert (Record.objects.count(), OutboxEvent.objects.count()) == before


@pytest.mark.parametrize("name,extra,field,why", CASES, ids=[c[0] for c in CASES])
def test_the_api_says_which_field_and_why(name, extra, field, why, ends, alice, as_user):
    a, b = ends
    extra = {k: (str(a.uuid) if v == "SELF" else v) for k, v in extra.items()}
    before = (Record.objects.count(), OutboxEvent.objects.count())
    response = as_user(alice).post("/api/records/", json.dumps(_record_api(a, b, **extra)),
                                   content_type="application/json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert field in body and why in " ".join(body[field]), body
    assert (Record.objects.count(), OutboxEvent.objects.count()) == before


def test_a_quote_not_in_the_source_is_refused_by_the_form_and_the_api(ends, alice, as_user):
    record = make_record(*ends, kind="contract")
    source = make_source()
    before = (Citation.objects.count(), OutboxEvent.objects.count())
    client = as_user(alice)
    response = client.post(reverse("curation:record_cite", args=[record.uuid]),
                           {"source": source.pk, "quote": "Acme never sold anything to anyone."})
    assert "not found verbatim" in " ".join(response.context["form"].errors["quote"])
    response = client.post("/api/citations/", {"record": str(record.uuid), "source": str(source.uuid),
                                               "quote": "Acme never sold anything to anyone."})
    assert response.status_code == 400 and "not found verbatim" in response.json()["quote"][0]
    assert (Citation.objects.count(), OutboxEvent.objects.count()) == before


@pytest.mark.parametrize("url", ["ftp://example.org/file.pdf", "javascript:alert(1)", "file:///etc/passwd"])
def test_a_url_that_is_not_http_is_refused_by_the_form_and_the_api(url, alice, as_user):
    client = as_user(alice)
    data = {"title": "A report", "publisher": "Wire", "url": url, "source_type": "article", "text": "Some text."}
    response = client.post(reverse("curation:source_new"), data)
    assert response.status_code == 200
    assert "url" in response.context["form"].errors
    response = client.post("/api/sources/", data)
    assert response.status_code == 400 and "url" in response.json()
    assert not Source.objects.exists()


def test_a_good_source_and_record_go_through(alice, as_user, ends):
    client = as_user(alice)
    response = client.post(reverse("curation:source_new"), {
        "title": "A report", "publisher": "Wire", "url": "https://example.org/a", "source_type": "article",
        "text": "Acme Holding owns 60% of Acme Scanners Ltd."})
    assert response.status_code == 302
    a, b = ends
    response = client.post(reverse("curation:record_new"), _record_form(a, b, share_pct="60"))
    assert response.status_code == 302
    record = Record.objects.get()
    response = client.post(reverse("curation:record_cite", args=[record.uuid]),
                           {"source": Source.objects.get().pk, "quote": "Acme Holding owns 60% of Acme Scanners Ltd."})
    assert response.status_code == 302 and record.citations.get().found
