"""Strength of evidence: reported, corroborated, confirmed by a primary source, disputed; responses."""
import pytest

from apps.catalog.models import Citation
from apps.citations.selectors import record_evidence, records_for_display
from tests.factories import cite, make_entity, make_published_record, make_record, make_source

pytestmark = pytest.mark.django_db

QUOTE = "The ministry later banned Acme Scanners Ltd in March 2023."


@pytest.fixture
def record():
    return make_record(make_entity("Ministry", kind="public_body"), make_entity("Acme Scanners Ltd"), kind="ban")


def test_one_publisher_is_reported(record):
    cite(record, QUOTE, make_source(publisher="Wire A"))
    cite(record, QUOTE, make_source(publisher="wire a"))  # the same publisher, spelled otherwise
    evidence = record_evidence(record)
    assert (evidence.level, evidence.publishers) == ("reported", ["Wire A"])


def test_two_independent_publishers_corroborate(record):
    cite(record, QUOTE, make_source(publisher="Wire A"))
    cite(record, QUOTE, make_source(publisher="Wire B"))
    evidence = record_evidence(record)
    assert evidence.level == "corroborated" and "2 independent publishers" in evidence.summary


def test_a_primary_source_confirms(record):
    cite(record, QUOTE, make_source(publisher="Wire A"))
    cite(record, QUOTE, make_source(publisher="Official Gazette", source_type="primary"))
    evidence = record_evidence(record)
    assert evidence.level == "confirmed" and evidence.label == "Confirmed by a primary source"


def test_a_contradicting_source_disputes(record):
    cite(record, QUOTE, make_source(publisher="Wire A"))
    cite(record, "Acme Holding owns 60% of Acme Scanners Ltd.", make_source(publisher="Wire B"), field="disputes")
    evidence = record_evidence(record)
    assert (evidence.level, evidence.support, evidence.publishers) == ("disputed", "reported", ["Wire A"])


def test_the_subjects_denial_is_shown_with_its_own_citation_and_disputes(record):
    cite(record, QUOTE, make_source(publisher="Wire A"))
    denial_source = make_source(publisher="Wire B")
    denial = make_published_record(record.object, record.object, kind="statement", related=record,
                                   title="Acme denies", attributes={"stance": "denial"},
                                   quote="Acme Scanners Ltd won a contract worth 1,200,000 euros in 2021.",
                                   source=denial_source)
    evidence = record_evidence(records_for_display(type(record).objects.filter(pk=record.pk)).get())
    assert evidence.level == "disputed"
    [response] = evidence.responses
    assert (response.record, response.speaker, response.stance) == (denial, record.object, "denial")
    assert [c.source for c in response.citations] == [denial_source]


def test_a_plain_response_is_shown_without_disputing(record):
    cite(record, QUOTE, make_source(publisher="Wire A"))
    make_published_record(record.subject, record.object, kind="statement", related=record,
                          title="Ministry explains", attributes={"stance": "response"})
    evidence = record_evidence(record)
    assert evidence.level == "reported" and len(evidence.responses) == 1


def test_unsourced_drafts(record):
    assert record_evidence(record).level == "unsourced"
    assert not Citation.objects.exists()
