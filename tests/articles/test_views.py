"""The article pages: who may use them, upload, highlighting, accept / reject / corroborate."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.urls import reverse

from apps.articles.models import Article, Proposal
from apps.catalog.models import Citation, Record, Source
from tests.articles.conftest import ARTICLE_HTML, scanned_pdf

pytestmark = pytest.mark.django_db
NEW = "/curation/articles/new/"


def upload(client, data: bytes, name: str, **extra):
    return client.post(NEW, {"file": SimpleUploadedFile(name, data), **extra})


def test_it_sends_anonymous_visitors_to_sign_in(client):
    response = client.get(NEW)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_it_refuses_a_user_without_a_curation_role(as_user, dave):
    assert as_user(dave).post(NEW, {"text": "Some text"}).status_code == 403
    assert Source.objects.count() == 0


def test_it_refuses_a_post_without_csrf_token(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(NEW, {"text": "Nuctech signed a contract."}).status_code == 403
    assert Source.objects.count() == 0


def test_it_stores_an_uploaded_html_article_with_mentions_highlighted(casestudy, as_user, alice):
    client = as_user(alice)
    response = upload(client, ARTICLE_HTML.encode(), "article.html")
    article = Article.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("articles:detail", args=[article.source.uuid])
    source = article.source
    assert (source.publisher, source.author, source.published, source.language) == (
        "Example News", "Jane Roe", "2023-11-23", "en")
    page = client.get(response["Location"]).content.decode()
    assert 'class="mention mention-entity kind-company"' in page and ">Nuotech</a>" in page
    assert "mention-name" in page and "Zeta Logistics Group" in page  # a name the catalogue lacks
    assert "INJECTED" not in page and "__pwned" not in page
    assert "Proposed records" in page


def test_it_shows_an_error_for_a_scanned_pdf_and_stores_nothing(as_user, alice):
    response = upload(as_user(alice), scanned_pdf(), "scan.pdf")
    assert response.status_code == 200
    assert "scan.pdf has no text layer (a scanned PDF?)" in response.content.decode()
    assert Source.objects.count() == 0


def test_it_refuses_a_pdf_over_the_limit_setting(as_user, alice):
    with override_settings(ARTICLE_PDF_MAX_BYTES=2048):
        response = upload(as_user(alice), b"%PDF-1.4\n" + b"x" * 4096, "big.pdf")
    assert "big.pdf is 4 KB" in response.content.decode() and Source.objects.count() == 0


def test_an_accepted_proposal_becomes_a_draft_record_with_its_quote(casestudy, as_user, alice):
    client = as_user(alice)
    upload(client, ARTICLE_HTML.encode(), "article.html")
    article = Article.objects.get()
    proposal = article.proposals.get(kind="contract")
    assert proposal.subject_name == "Ministry of Finance of Georgia" and proposal.object_name == "Nuctech"
    response = client.post(reverse("articles:accept", args=[article.source.uuid, proposal.pk]), {
        "kind": "contract", "subject": f"e:{proposal.subject_entity.uuid}", "object": f"e:{proposal.object_entity.uuid}",
        "date": "2019-03-12", "amount": "6800000", "currency": "usd"})
    assert response.status_code == 302
    proposal.refresh_from_db()
    record = proposal.record
    assert proposal.state == "accepted" and record.workflow == "draft"
    assert (record.start, record.amount, record.currency) == ("2019-03-12", 6800000, "USD")
    citation = Citation.objects.get(record=record)
    assert citation.source == article.source and citation.quote == proposal.quote and citation.start is not None
    queue = client.get(reverse("curation:queue")).content.decode()
    assert "Ministry of Finance of Georgia → Nuctech" in queue


def test_an_edited_party_that_the_catalogue_lacks_becomes_a_draft_entity(casestudy, as_user, alice):
    client = as_user(alice)
    upload(client, ARTICLE_HTML.encode(), "article.html")
    article = Article.objects.get()
    proposal = article.proposals.get(kind="contract")
    client.post(reverse("articles:accept", args=[article.source.uuid, proposal.pk]), {
        "kind": "contract", "subject": "n:public_body:Zeta Customs Office", "object": f"e:{proposal.object_entity.uuid}"})
    proposal.refresh_from_db()
    assert proposal.record.subject.name == "Zeta Customs Office" and proposal.record.subject.workflow == "draft"


def test_a_rejected_proposal_writes_no_record(casestudy, as_user, alice):
    client = as_user(alice)
    upload(client, ARTICLE_HTML.encode(), "article.html")
    article = Article.objects.get()
    records = Record.objects.count()
    proposal = article.proposals.first()
    client.post(reverse("articles:reject", args=[article.source.uuid, proposal.pk]))
    proposal.refresh_from_db()
    assert proposal.state == "rejected" and Record.objects.count() == records


def test_a_proposal_matching_a_record_is_offered_as_a_further_source(casestudy, as_user, bob):
    client = as_user(bob)
    upload(client, ARTICLE_HTML.encode(), "article.html")
    article = Article.objects.get()
    proposal = article.proposals.filter(kind="ban").first()
    assert proposal.matches is not None and proposal.matches.key.startswith("ban-belgium-2023")
    page = client.get(reverse("articles:detail", args=[article.source.uuid])).content.decode()
    assert "Add this article as a further source" in page
    client.post(reverse("articles:corroborate", args=[article.source.uuid, proposal.pk]))
    proposal.refresh_from_db()
    assert proposal.state == "corroborated"
    assert proposal.matches.citations.filter(source=article.source, quote=proposal.quote).exists()


def test_it_says_when_the_model_does_not_read_the_language(casestudy, as_user, alice):
    client = as_user(alice)
    client.post(NEW, {"text": "Srbija je 2009. godine kupila skenere od kompanije Nuotech za granicu.", "language": "sr",
                      "title": "Skeneri"})
    article = Article.objects.get()
    page = client.get(reverse("articles:detail", args=[article.source.uuid])).content.decode()
    assert "English-only" in page and ">Nuotech</a>" in page


def test_a_mention_can_become_a_draft_entity(casestudy, as_user, alice):
    client = as_user(alice)
    upload(client, ARTICLE_HTML.encode(), "article.html")
    article = Article.objects.get()
    index = next(i for i, m in enumerate(article.mentions) if m["text"] == "Zeta Logistics Group")
    client.post(reverse("articles:mention_entity", args=[article.source.uuid, index]), {"kind": "company"})
    article.refresh_from_db()
    assert article.mentions[index]["entity_name"] == "Zeta Logistics Group"
    assert Proposal.objects.filter(article=article).exists()


def test_a_mention_can_be_linked_to_an_existing_entity_as_an_alias(casestudy, as_user, bob):
    from apps.catalog.models import Entity

    client = as_user(bob)  # a published entity's names are a reviewer's to change
    client.post(NEW, {"text": "Zeta Logistics Group, a spokesperson for Nuctech said, signed nothing with the EU.",
                      "title": "Zeta", "language": "en"})
    article = Article.objects.get()
    index = next(i for i, m in enumerate(article.mentions) if m["text"] == "Zeta Logistics Group")
    client.post(reverse("articles:mention_link", args=[article.source.uuid, index]), {"q": "Nuotech"})
    nuctech = Entity.objects.get(key="nuctech")
    assert nuctech.aliases.filter(name="Zeta Logistics Group").exists()
    article.refresh_from_db()
    assert article.mentions[index]["entity_uuid"] == str(nuctech.uuid)
