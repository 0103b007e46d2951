"""The Nuctech case study loads idempotently and the graph answers the story's questions."""
import json

import pytest

from apps.catalog.models import Alias, Citation, Entity, Record, Source
from apps.ingest.casestudy import DEFAULT_PATH, CaseStudyError, load_casestudy
from apps.sync.models import OutboxEvent
from apps.sync.parity import parity_check
from apps.sync.services import outbox_drain
from apps.catalog.selectors.browse import map_status
from graph import queries

pytestmark = pytest.mark.django_db


@pytest.fixture
def loaded():
    load_casestudy()
    return Entity.objects.get(key="nuctech")


def test_it_loads_every_object_published_with_verified_citations(loaded):
    data = json.loads(DEFAULT_PATH.read_text())
    assert Entity.objects.count() == len(data["entities"])
    assert Record.objects.count() == len(data["records"])
    assert not Record.objects.exclude(workflow="published").exists()
    assert not Citation.objects.filter(start__isnull=True).exists(), "every quote is located in its source"
    assert Source.objects.get(key="src-rse-serbia-scanners").published == "2023-11-23"


def test_loading_twice_changes_nothing(loaded):
    events = OutboxEvent.objects.count()
    versions = list(Record.objects.order_by("id").values_list("version", flat=True))
    report = load_casestudy()
    assert not report.changed
    assert OutboxEvent.objects.count() == events
    assert list(Record.objects.order_by("id").values_list("version", flat=True)) == versions


def test_nuotech_is_an_alias_of_nuctech_not_a_second_company(loaded):
    alias = Alias.objects.get(name="Nuotech")
    assert alias.entity == loaded
    assert loaded.citations.filter(field="alias:Nuotech").exists()
    assert not Entity.objects.filter(name__icontains="nuotech").exists()


def test_a_malformed_file_names_file_line_and_field_and_changes_nothing(tmp_path):
    data = json.loads(DEFAULT_PATH.read_text())
    data["records"][3]["start"] = "2023-13-01"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data, indent=2))
    (tmp_path / "sources").symlink_to(DEFAULT_PATH.parent / "sources")
    with pytest.raises(CaseStudyError) as info:
        load_casestudy(bad)
    message = str(info.value)
    assert message.startswith("bad.json, line ")
    assert f"{data['records'][3]['key']}.start" in message
    assert Entity.objects.count() == 0 and OutboxEvent.objects.count() == 0


def test_the_graph_answers_the_case_study_questions(graph, loaded):
    outbox_drain()
    assert parity_check().ok
    nuctech = str(loaded.uuid)

    chains = queries.ownership_chains(nuctech)["chains"]
    top = [c for c in chains if c["ultimate"]]
    steps = list(reversed(top[0]["steps"]))  # from the top owner down
    assert [steps[0]["owner"]["name"], *(s["owned"]["name"] for s in steps)] == [
        "China", "China National Nuclear Corporation", "Nuctech"]
    assert steps[0]["rel"]["state_control"] is True
    assert steps[1]["rel"]["direct"] is False  # via a parent company the texts do not name
    assert steps[1]["unknown_intermediate"] is True

    roles = {(r["country"], map_status(r["rel"])) for r in queries.vendor_footprint(nuctech)}
    assert {("LT", "banned"), ("BE", "banned"), ("US", "banned"), ("RS", "donated"), ("GE", "contracted")} <= roles
    assert ("RS", "deployed") in roles

    bank = Entity.objects.get(name="Chinese Export-import Bank")
    paths = queries.paths_between(str(bank.uuid), nuctech)
    kinds = {tuple(r["kind"] for r in p["rels"]) for p in paths}
    assert ("loan", "contract") in kinds
    assert all(r["sources"] for p in paths for r in p["rels"]), "every hop is cited"


def test_it_reads_the_articles_as_a_careful_reader_would(loaded):
    """Corrections after review: Canada's unspecified "restrictions" are not a ban; the
    Lithuanian state is one actor for its ban and its court case, as other states are;
    Chen Zhiqiang is the party secretary within the company."""
    bans = Record.objects.filter(kind="ban", object=loaded)
    assert sorted(b.subject.key for b in bans) == ["belgium", "lithuania", "united-states"]
    assert all(b.subject.kind == "country" for b in bans)
    court = Record.objects.get(key="court-lithuania-annulment")
    assert court.subject.key == "lithuania" and court.related.subject.key == "lithuania"
    restrictions = loaded.fact_set.filter(field="restrictions")
    assert any("Canada" in f.value and "not specified" in f.value for f in restrictions)
    role = Record.objects.get(kind="role", subject__key="chen-zhiqiang", attributes__role="party secretary")
    assert role.object == loaded
    assert not Record.objects.filter(object__key="communist-party-of-china").exists()
