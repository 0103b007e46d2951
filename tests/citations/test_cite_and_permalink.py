"""A journalist copies a citation and opens its permalink; old revisions stay readable."""
import json
import re

import pytest
from django.urls import reverse

from apps.catalog.models import Entity, Record
from apps.catalog import services
from apps.ingest.casestudy import load_casestudy
from tests.factories import make_entity, make_published_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def casestudy():
    load_casestudy()


def test_cite_the_serbian_loan_as_text_csl_and_bibtex(casestudy, client):
    loan = Record.objects.get(key="loan-cexim-serbia")
    url = reverse("citations:cite_record", args=[loan.uuid])
    text = client.get(url, {"format": "text"}).content.decode()
    assert "Chinese Export-import Bank loan to Serbia" in text
    assert "lender Chinese Export-import Bank → borrower Serbia" in text
    assert "Radio Free Europe (RSE)" in text and "Chinese equipment installed in Serbia" in text
    assert "23 November 2023" in text and "8,631,474 EUR" in text
    assert "Quote: “currently, Nuctech still owes 8,631,474 euros for the equipment”" in text
    assert f"Permalink: http://testserver/records/{loan.uuid}/ (version {loan.version})" in text
    assert re.search(r"Accessed: \d{4}-\d{2}-\d{2}", text)
    assert "Evidence: Reported" in text

    csl = json.loads(client.get(url, {"format": "csl"}).content)
    assert csl[0]["URL"] == f"http://testserver/records/{loan.uuid}/" and "accessed" in csl[0]
    assert csl[1]["publisher"] == "Radio Free Europe (RSE)" and csl[1]["issued"] == {"date-parts": [[2023, 11, 23]]}
    assert "still owes 8,631,474 euros" in csl[1]["note"]

    bib = client.get(url, {"format": "bibtex"})
    assert bib["Content-Type"].startswith("application/x-bibtex")
    body = bib.content.decode()
    assert body.startswith("@misc{vg-") and "journal = {Radio Free Europe (RSE)}" in body and "year = {2023}" in body

    page = client.get(url)
    assert page.status_code == 200 and b"Ready to paste" in page.content
    partial = client.get(url, HTTP_HX_REQUEST="true")
    assert b"<html" not in partial.content and b"Ready to paste" in partial.content


def test_open_the_permalink_of_the_serbian_loan(casestudy, client):
    loan = Record.objects.get(key="loan-cexim-serbia")
    page = client.get(reverse("citations:record", args=[loan.uuid])).content.decode()
    assert "Chinese Export-import Bank loan to Serbia" in page
    assert "still owes 8,631,474 euros" in page and "Radio Free Europe (RSE)" in page
    assert "Reported" in page and "Cite this record" in page and "Revisions" in page


def test_the_denial_shows_next_to_the_us_campaign(casestudy, client):
    urging = Record.objects.get(key="st-us-urges-eu")
    page = client.get(reverse("citations:record", args=[urging.uuid])).content.decode()
    assert "Disputed" in page and "Response — Nuctech" in page


def test_cite_an_entity_fact(casestudy, client):
    nuctech = Entity.objects.get(key="nuctech")
    fact = nuctech.citations.exclude(field="").first()
    text = client.get(reverse("citations:cite_entity", args=[nuctech.uuid]),
                      {"fact": fact.field, "format": "text"}).content.decode()
    assert "Nuctech" in text and fact.quote.split()[0] in text and "Permalink: http://testserver/" in text
    assert client.get(reverse("citations:cite_entity", args=[nuctech.uuid]), {"fact": "fact:nonsense"}).status_code == 404


def test_the_permalink_is_stable_and_old_revisions_stay_readable(bob, client):
    record = make_published_record(make_entity("A Ltd"), make_entity("B Ltd"), title="First wording")
    first = record.history.first()
    services.record_update(user=bob, record=record, title="Second wording")
    page = client.get(reverse("citations:record", args=[record.uuid])).content.decode()
    assert "Second wording" in page and f"/records/{record.uuid}/revisions/{first.history_id}/" in page
    old = client.get(reverse("citations:record_revision", args=[record.uuid, first.history_id])).content.decode()
    assert "First wording" in old and "see the current version" in old


def test_draft_revisions_are_not_public(alice, client):
    record = services.record_create(user=alice, kind="contract", subject=make_entity("A Ltd", workflow="published"),
                                    object=make_entity("B Ltd", workflow="published"), title="Draft wording")
    draft_revision = record.history.first().history_id
    from tests.factories import cite

    cite(record, "Acme Holding owns 60% of Acme Scanners Ltd.")
    record.workflow = "published"
    record.save()
    url = reverse("citations:record_revision", args=[record.uuid, draft_revision])
    assert client.get(url).status_code == 404
    client.force_login(alice)
    assert client.get(url).status_code == 200


def test_the_cite_button_works_without_javascript():
    from django.template import Context, Template

    record = make_published_record(make_entity("A Ltd"), make_entity("B Ltd"))
    html = Template("{% load citations %}{% cite_button record %}{% evidence_badge record %}").render(
        Context({"record": record}))
    assert "<details" in html and f"/cite/records/{record.uuid}/?format=bibtex" in html
    assert "evidence-reported" in html
