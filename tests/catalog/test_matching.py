"""Names compared on their core (legal forms removed, any script in Latin letters), and
duplicates found by shared blocking keys, a page at a time, never by comparing every pair."""
import io
import random

import pytest

from apps.catalog import services
from apps.catalog.models import NameKey
from apps.catalog.selectors.matching import candidates_for, candidates_for_many, duplicate_page
from apps.catalog.selectors.search import entity_search
from apps.catalog.text import core_name
from apps.curation.selectors import duplicate_candidates
from tests.factories import make_entity

pytestmark = pytest.mark.django_db


def _pairs(candidates):
    return {frozenset([c.a.name, c.b.name]) for c in candidates}


def test_it_compares_names_without_their_legal_form_in_any_script():
    assert core_name("NUCTECH COMPANY LIMITED") == core_name("Nuctech Co., Ltd.") == "nuctech"
    assert core_name("Nuctech Warsaw Company Sp. z o.o.") == "nuctech warsaw"
    assert core_name("Nüctech GmbH & Co. KG") == "nuctech"
    assert core_name("ООО «Цала Аэро»") == "tsala aero"  # Cyrillic, legal form in Russian
    assert core_name("同方威视技术股份有限公司").startswith("tong fang wei shi")  # no "gong si" (company)
    assert core_name("Holding") == "holding"  # nothing but a generic word: kept as it is


def test_a_cyrillic_name_is_found_in_latin_letters_and_its_legal_form_does_not_count():
    kalashnikov = make_entity("АО Концерн Калашников", country="RU", workflow="published")
    assert [h.entity_id for h in entity_search(q="Kalashnikov")] == [kalashnikov.pk]
    duplicate = make_entity("Kontsern Kalashnikov JSC", country="RU")
    assert _pairs(duplicate_candidates()) == {frozenset([kalashnikov.name, duplicate.name])}


def test_the_duplicates_page_compares_only_names_sharing_a_key():
    make_entity("NUCTECH COMPANY LIMITED", country="CN")
    make_entity("Nuctech Co., Ltd.", country="CN")
    make_entity("Nuotech", country="CN")                      # a typo of the first word
    make_entity("Alpha Scanners Ltd", country="CN")          # shares only "scanners" and "Ltd" ...
    make_entity("Beta Scanners Ltd", country="CN")           # ... and scores too low
    make_entity("Nuctech Co., Ltd.", country="PL")           # another country
    make_entity("Nuctech Co., Ltd.", kind="person")          # another kind

    pairs = _pairs(duplicate_candidates())

    assert pairs == {frozenset(["NUCTECH COMPANY LIMITED", "Nuctech Co., Ltd."]),
                     frozenset(["NUCTECH COMPANY LIMITED", "Nuotech"]), frozenset(["Nuctech Co., Ltd.", "Nuotech"])}
    top = duplicate_candidates()[0]
    assert top.score == 100.0 and top.names == ("nuctech", "nuctech")


def test_the_duplicates_page_pages_through_every_pair_once():
    rng = random.Random(3)
    for i in range(60):
        word = "".join(rng.choice("bcdfghklmnprstvz") + rng.choice("aeiou") for _ in range(4))
        make_entity(f"{word} Ltd", country="DE")
        make_entity(f"{word.upper()} GmbH", country="DE")

    seen, after, pages = [], "", 0
    while True:
        page = duplicate_page(after=after, per_page=10)
        seen += [frozenset([c.a.pk, c.b.pk]) for c in page.candidates]
        pages += 1
        if not page.next_after:
            break
        after = page.next_after

    assert len(seen) == len(set(seen)) == 60
    assert pages > 1


def test_blocking_keys_follow_renames_and_names(charlie):
    ours = make_entity("Rapiscan Systems", country="US")
    other = make_entity("Smiths Detection", country="US")
    assert candidates_for(other) == []

    alias = services.alias_create(user=charlie, entity=other, name="Rapiscan Systems Inc")
    assert [c.b for c in candidates_for(other)] == [ours]

    alias.delete()
    services.entity_update(user=charlie, entity=ours, name="Leidos Security")
    assert candidates_for(other) == []
    assert set(NameKey.objects.filter(entity=ours, head="").values_list("key", flat=True)) == {"leidos", "security"}


def test_it_finds_the_same_candidates_for_a_batch_of_entities_as_for_each_alone(charlie):
    from apps.curation.models import MergeDecision
    from apps.curation.services import merge_decision_record

    ours = make_entity("NUCTECH COMPANY LIMITED", country="CN")
    warsaw = make_entity("Nuctech Warsaw Company Sp. z o.o.", country="PL")
    rapiscan = make_entity("Rapiscan Systems", country="US")
    batch = [make_entity("Nuctech Co., Ltd.", country="CN"), make_entity("Nuotech", country="CN"),
             make_entity("Nuctech Warsaw Sp. z o.o."), make_entity("Rapiscan Systems Inc", country="GB"),
             make_entity("Rapiscan Systems Inc", kind="person"), make_entity("Leidos Security")]
    merge_decision_record(user=charlie, a=batch[1], b=ours, verdict=MergeDecision.Verdict.DIFFERENT)
    own = {e.pk for e in batch}

    found = candidates_for_many(batch, exclude_ids=own)

    alone = {e.pk: candidates_for(e, exclude_ids=own) for e in batch}
    assert {pk: [(c.b.pk, c.score) for c in cs] for pk, cs in found.items()} == {
        pk: [(c.b.pk, c.score) for c in cs] for pk, cs in alone.items()}
    assert [c.b for c in found[batch[0].pk]] == [ours]        # same kind and country; the other batch rows left out
    assert found[batch[1].pk] == []                            # judged different: never offered again
    assert [c.b for c in found[batch[2].pk]] == [warsaw, ours]  # no country on one side: it agrees
    assert found[batch[3].pk] == [] and found[batch[4].pk] == [] and found[batch[5].pk] == []
    assert rapiscan.pk not in {c.b.pk for cs in found.values() for c in cs}


def test_name_keys_rebuild_finds_duplicates_among_entities_loaded_in_bulk():
    from django.core.management import call_command

    from django.db import models

    from apps.catalog.models import Entity

    # As the benchmarks load their stores (the model's manager refuses bulk_create).
    models.QuerySet(model=Entity).bulk_create([Entity(kind="company", name=n, name_norm=n.lower(), country="CN")
                                for n in ("Hikvision Digital Technology Co., Ltd.", "HIKVISION DIGITAL TECHNOLOGY")])
    assert duplicate_candidates() == []  # bulk_create bypasses save(): no keys yet

    call_command("name_keys_rebuild", stdout=io.StringIO())

    assert _pairs(duplicate_candidates()) == {frozenset(["Hikvision Digital Technology Co., Ltd.",
                                                         "HIKVISION DIGITAL TECHNOLOGY"])}
