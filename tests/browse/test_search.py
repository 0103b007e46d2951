"""Search: names and aliases, case-, accent- and typo-tolerant, with filters and counts."""
import pytest
from django.urls import reverse

from apps.catalog.selectors import search as selectors

pytestmark = pytest.mark.django_db


def names(q, **filters):
    hits = selectors.entity_search(q=q, **filters)
    return [row["entity"].name for row in selectors.search_results(hits)]


def test_it_finds_nuctech_by_misspellings_aliases_case_and_accents(casestudy):
    for q in ["Nuctech", "nuctech", "Nuotech", "Nuctek", "NÜCTECH", "nuctech company limited"]:
        assert names(q)[0] == "Nuctech", q
    assert names("CNNC")[0] == "China National Nuclear Corporation"
    assert names("rzeszow")[0] == "Tax authorities in Rzeszów" or "Rzeszów" in names("rzeszow")[:2]


def test_it_filters_by_type_and_country(casestudy):
    assert "Nuctech" not in names("Nuctech", kind="person")
    assert names("ministry", country="RS") == ["Ministry of Internal Affairs (MUP)"]
    assert set(names("customs", kind="public_body")) >= {"Finnish customs", "Belgian customs"}


def test_the_results_page_shows_type_country_and_record_count(client, casestudy, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        response = client.get(reverse("browse:search"), {"q": "Nuotech"})
    html = response.content.decode()
    assert response.status_code == 200
    row = next(r for r in response.context["results"] if r["entity"].name == "Nuctech")
    nuctech = casestudy["nuctech"]
    assert row["records"] == nuctech.records_out.filter(workflow="published").count() + \
        nuctech.records_in.filter(workflow="published").count()
    assert row["matched_alias"] == "Nuotech"
    assert f'href="/entities/{nuctech.uuid}/"' in html and "Company" in html and "China" in html


def test_it_never_shows_unpublished_entities(publish, graph):
    publish.entity("Acme Scanners")
    draft = publish.entity("Acme Draft Scanners")
    draft.workflow = "draft"
    draft.save()
    assert names("acme scanners") == ["Acme Scanners"]


def test_results_paginate_and_suggestions_answer(client, publish, graph):
    for i in range(45):
        publish.entity(f"Scanner Vendor {i:02d}")
    page1 = client.get(reverse("browse:search"), {"q": "scanner vendor"})
    assert page1.context["page_obj"].paginator.count == 45 and len(page1.context["results"]) == 20
    page3 = client.get(reverse("browse:search"), {"q": "scanner vendor", "page": 3})
    assert len(page3.context["results"]) == 5
    suggest = client.get(reverse("browse:search_suggest"), {"q": "scaner vendr"})
    assert suggest.content.decode().count("<li>") == 8


def test_it_finds_a_renamed_entity_by_its_new_name_and_not_its_old_one(publish, graph):
    entity = publish.entity("Acme Scanners")
    assert names("acme scanners") == ["Acme Scanners"]
    entity.name = "Borealis Optics"
    entity.save()
    assert names("borealis optics") == ["Borealis Optics"]
    assert names("acme scanners") == []


def test_a_misspelt_name_is_found_among_many_sharing_its_other_word(publish, graph):
    publish.entity("Smiths Detection")
    for i in range(30):
        publish.entity(f"Smiths Trading {i:02d}")
    assert names("smiths detektion")[0] == "Smiths Detection"
    assert names("smith detection")[0] == "Smiths Detection"
