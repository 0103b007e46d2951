"""Matching imported entities to ours: proposed by name, decided by a curator, remembered."""
import json

import pytest
from django.urls import reverse

from apps.catalog import services as catalog
from apps.catalog.models import Entity
from apps.curation.models import MergeDecision
from apps.ingest.models import ImportedItem, MatchCandidate
from apps.ingest.services import match_candidates_propose

pytestmark = pytest.mark.django_db


def _file(tmp_path, name, rows):
    path = tmp_path / name
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


NUCTECH_ROWS = [
    {"id": "cn-1", "schema": "Company", "properties": {"name": ["NUCTECH COMPANY LIMITED"], "country": ["cn"]}},
    {"id": "pl-1", "schema": "Company", "properties": {"name": ["Nuctech Warsaw Company Sp. z o.o."],
                                                      "country": ["pl"]}},
    {"id": "other", "schema": "Company", "properties": {"name": ["Rapiscan Systems"], "country": ["us"]}},
]


@pytest.fixture
def ours(charlie):
    return {
        "nuctech": catalog.entity_create(user=charlie, kind="company", name="Nuctech", country="CN"),
        "warsaw": catalog.entity_create(user=charlie, kind="company", name="Nuctech Warsaw Company", country="PL"),
        "person": catalog.entity_create(user=charlie, kind="person", name="Nuctech Company Limited"),
    }


def test_an_import_proposes_our_entities_by_name_kind_and_country(ours, run_import, tmp_path, as_user, alice):
    job = run_import(_file(tmp_path, "nuctech.jsonl", NUCTECH_ROWS), dataset="registry")

    pairs = {(m.entity.name, m.candidate.name) for m in MatchCandidate.objects.select_related("entity", "candidate")}
    assert ("NUCTECH COMPANY LIMITED", "Nuctech") in pairs
    assert ("Nuctech Warsaw Company Sp. z o.o.", "Nuctech Warsaw Company") in pairs
    assert not any(b == "Nuctech Company Limited" for _, b in pairs)  # a person is not a company
    assert ("NUCTECH COMPANY LIMITED", "Nuctech Warsaw Company") not in pairs  # CN is not PL
    assert Entity.objects.filter(name="NUCTECH COMPANY LIMITED").exists()  # nothing merged on a name
    page = as_user(alice).get(reverse("ingest:matches")).content.decode()
    assert "NUCTECH COMPANY LIMITED" in page and "score" in page and job.dataset in page


def test_different_is_remembered_and_same_merges_into_ours(ours, run_import, tmp_path, as_user, charlie):
    path = _file(tmp_path, "nuctech.jsonl", NUCTECH_ROWS)
    job = run_import(path, dataset="registry")
    client = as_user(charlie)
    warsaw = MatchCandidate.objects.get(candidate=ours["warsaw"])
    nuctech = MatchCandidate.objects.get(candidate=ours["nuctech"])

    client.post(reverse("ingest:match_judge", args=[warsaw.pk]), {"verdict": "different", "note": "a subsidiary"})
    client.post(reverse("ingest:match_judge", args=[nuctech.pk]), {"verdict": "same"})

    decision = MergeDecision.objects.get(verdict="different")
    assert decision.decided_by == charlie and "a subsidiary" in decision.note and "score" in decision.note
    MatchCandidate.objects.all().delete()
    assert match_candidates_propose(job=job) == 0  # the judged pair never comes back
    nuctech_entity = Entity.objects.get(pk=ours["nuctech"].pk)
    assert nuctech_entity.name == "Nuctech" and nuctech_entity.aliases.filter(name="NUCTECH COMPANY LIMITED").exists()
    assert ImportedItem.objects.get(dataset="registry", external_id="cn-1").entity == nuctech_entity
    # A newer export of the same row updates ours (a new name proposed), never renames it.
    rows = [dict(NUCTECH_ROWS[0], properties={"name": ["NUCTECH CO., LTD."], "country": ["cn"]}), *NUCTECH_ROWS[1:]]
    run_import(_file(tmp_path, "newer.jsonl", rows), dataset="registry")
    nuctech_entity.refresh_from_db()
    assert nuctech_entity.name == "Nuctech" and nuctech_entity.aliases.filter(name="NUCTECH CO., LTD.").exists()


def test_an_editor_may_only_set_a_pair_aside(ours, run_import, tmp_path, as_user, alice):
    run_import(_file(tmp_path, "nuctech.jsonl", NUCTECH_ROWS), dataset="registry")
    match = MatchCandidate.objects.get(candidate=ours["nuctech"])
    client = as_user(alice)

    client.post(reverse("ingest:match_judge", args=[match.pk]), {"verdict": "same"})
    match.refresh_from_db()
    assert match.status == "pending" and Entity.objects.filter(pk=match.entity_id).exists()

    client.post(reverse("ingest:match_judge", args=[match.pk]), {"verdict": "unsure", "note": "check the LEI"})
    match.refresh_from_db()
    assert (match.status, match.decided_by, match.note) == ("unsure", alice, "check the LEI")


def test_the_issue_example_legal_forms_do_not_count_and_different_keeps_the_subsidiary_apart(
        ours, run_import, tmp_path, as_user, charlie):
    job = run_import(_file(tmp_path, "nuctech.jsonl", NUCTECH_ROWS), dataset="registry")
    cn = MatchCandidate.objects.get(entity__name="NUCTECH COMPANY LIMITED")
    pl = MatchCandidate.objects.get(entity__name="Nuctech Warsaw Company Sp. z o.o.")
    # Compared on the core name: "NUCTECH COMPANY LIMITED" is "Nuctech", the Polish form does not count.
    assert (cn.candidate, cn.score) == (ours["nuctech"], 100.0)
    assert (pl.candidate, pl.score) == (ours["warsaw"], 100.0)

    as_user(charlie).post(reverse("ingest:match_judge", args=[pl.pk]), {"verdict": "different", "note": "subsidiary"})

    rows = [NUCTECH_ROWS[0], dict(NUCTECH_ROWS[1], properties={
        "name": ["Nuctech Warsaw Company Sp. z o.o.", "NUCTECH WARSAW"], "country": ["pl"]}), NUCTECH_ROWS[2]]
    again = run_import(_file(tmp_path, "newer.jsonl", rows), dataset="registry")
    MatchCandidate.objects.filter(status="different").delete()
    assert match_candidates_propose(job=job) == 0 and match_candidates_propose(job=again) == 0
    assert not MatchCandidate.objects.filter(entity=pl.entity, candidate=ours["warsaw"]).exists()
    assert Entity.objects.filter(pk=pl.entity_id).exists() and Entity.objects.filter(pk=ours["warsaw"].pk).exists()


def test_a_merge_split_again_hands_the_dataset_back_and_stays_apart(ours, run_import, tmp_path, as_user, charlie):
    from apps.catalog.services import entity_split

    run_import(_file(tmp_path, "nuctech.jsonl", NUCTECH_ROWS), dataset="registry")
    match = MatchCandidate.objects.get(candidate=ours["nuctech"])
    imported_uuid = match.entity.uuid
    client = as_user(charlie)
    client.post(reverse("ingest:match_judge", args=[match.pk]), {"verdict": "same"})
    assert ImportedItem.objects.get(external_id="cn-1").entity_id == ours["nuctech"].pk
    page = client.get(reverse("ingest:matches")).content.decode()
    assert "Split again" in page

    restored = entity_split(user=charlie, decision=MergeDecision.objects.get(verdict="same"), note="a reseller")

    assert restored.uuid == imported_uuid and restored.name == "NUCTECH COMPANY LIMITED"
    item = ImportedItem.objects.get(external_id="cn-1")
    assert (item.entity_id, item.owns_entity) == (restored.pk, True)
    assert not ours["nuctech"].aliases.filter(name="NUCTECH COMPANY LIMITED").exists()
    # A newer export updates the entity split off, never ours, and the pair is not offered again.
    rows = [dict(NUCTECH_ROWS[0], properties={"name": ["NUCTECH CO., LTD."], "country": ["cn"]}), *NUCTECH_ROWS[1:]]
    run_import(_file(tmp_path, "newer.jsonl", rows), dataset="registry")
    restored.refresh_from_db()
    assert restored.name == "NUCTECH CO., LTD."
    assert Entity.objects.get(pk=ours["nuctech"].pk).name == "Nuctech"
    assert not MatchCandidate.objects.filter(entity=restored, candidate=ours["nuctech"], status="pending").exists()
    assert MergeDecision.objects.get().verdict == "different"
