"""Mentions and proposed records on the case study's real articles."""
import json
from io import StringIO

import pytest
from django.core.management import call_command

from apps.articles.analysis import text_analyse
from apps.articles.models import Article, Proposal
from apps.articles.reading import read_document
from apps.catalog.models import Entity, Record, Source
from tests.articles.conftest import SOURCES

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", sorted(p.name for p in SOURCES.glob("*.txt")))
def test_it_quotes_every_proposal_verbatim_at_its_offsets(casestudy, name):
    doc = read_document((SOURCES / name).read_bytes(), filename=name)
    result = text_analyse(text=doc.text, language=doc.language)
    assert result.proposals, "no proposal at all"
    for p in result.proposals:
        assert doc.text[p["start"]:p["end"]] == p["quote"]
        assert p["quote"].strip() == p["quote"]
    for m in result.mentions:
        assert doc.text[m.start:m.end] == m.text


def test_it_recognises_a_misspelt_known_entity(casestudy):
    nuctech = Entity.objects.get(key="nuctech")
    text = "In 2012 the customs service procured X-ray systems from Nuotech Company Limited. Nuctek won again."
    found = {m.text: m.entity_name for m in text_analyse(text=text, language="en").mentions if m.type == "entity"}
    assert found["Nuotech Company Limited"] == nuctech.name
    assert found["Nuctek"] == nuctech.name


def test_it_proposes_a_ban_with_its_parties_date_and_quote(casestudy):
    text = ("Nuctech makes scanners. In February 2021, the Lithuanian government blocked the delivery of "
            "Nuctech's airport scanners.")
    proposals = text_analyse(text=text, language="en").proposals
    ban = next(p for p in proposals if p["kind"] == "ban")
    assert ban["subject"]["name"] == "Government of Lithuania"
    assert ban["object"]["name"] == "Nuctech"
    assert (ban["date"], ban["date_precision"]) == ("2021-02", "month")
    assert ban["quote"].startswith("In February 2021") and text[ban["start"]:ban["end"]] == ban["quote"]


def test_it_reads_amounts_with_their_currency(casestudy):
    text = "Canada signed a contract with Nuctech worth $6.8 million. Serbia still owes 8,631,474 euros."
    amounts = {(m.value, m.currency) for m in text_analyse(text=text, language="en").mentions if m.type == "amount"}
    assert ("6800000", "USD") in amounts and ("8631474", "EUR") in amounts


def test_it_finds_known_entities_in_another_language_without_the_model(casestudy):
    text = "Uprava carina Srbije je 2009. godine kupila skenere od kompanije Nuctech. Србија и Nuotech."
    result = text_analyse(text=text, language="sr")
    assert result.used_model is False
    names = {m.entity_name for m in result.mentions if m.type == "entity"}
    assert "Nuctech" in names


def test_the_propose_command_prints_json_and_writes_nothing(casestudy):
    counts = (Source.objects.count(), Record.objects.count(), Entity.objects.count(), Proposal.objects.count())
    out = StringIO()
    call_command("article_propose", str(SOURCES / "002_cfdfec0680828f18.txt"), "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert set(data) >= {"mentions", "proposals"}
    keys = {"kind", "subject", "object", "date", "amount", "currency", "quote", "start", "end"}
    assert data["proposals"] and all(keys <= set(p) for p in data["proposals"])
    assert any(p["kind"] == "investigation" and p["subject"]["name"] == "European Commission" for p in data["proposals"])
    assert counts == (Source.objects.count(), Record.objects.count(), Entity.objects.count(), Proposal.objects.count())


def test_the_propose_command_saves_the_source_and_its_proposals(casestudy, alice):
    out = StringIO()
    call_command("article_propose", str(SOURCES / "000_f9780148a9ee6ffe.txt"), "--save", "--user", "alice",
                 "--publisher", "Example Wire", "--date", "2020-07", stdout=out)
    data = json.loads(out.getvalue())
    article = Article.objects.get(source__uuid=data["source"])
    assert article.source.publisher == "Example Wire" and article.source.published == "2020-07"
    assert article.proposals.count() == len(data["proposals"]) > 0
    for p in article.proposals.all():
        assert article.source.text[p.start:p.end] == p.quote
    assert article.source.content_hash and len(article.source.content_hash) == 64


def test_the_propose_command_refuses_an_empty_file_clearly(tmp_path):
    from django.core.management.base import CommandError

    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(CommandError, match="empty.txt is empty"):
        call_command("article_propose", str(empty), "--json", stdout=StringIO())


def test_the_propose_command_can_save_the_proposals_as_draft_records(casestudy, alice):
    out = StringIO()
    records = Record.objects.count()
    call_command("article_propose", str(SOURCES / "000_f9780148a9ee6ffe.txt"), "--save", "--drafts", "--user", "alice",
                 stdout=out)
    data = json.loads(out.getvalue())
    drafted = [p for p in data["proposals"] if p["state"] == "accepted"]
    assert drafted and Record.objects.count() == records + len(drafted)
    for p in drafted:
        record = Record.objects.get(uuid=p["record"])
        assert record.workflow == "draft" and record.citations.get().quote == p["quote"]
