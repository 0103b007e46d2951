"""Importing BODS 0.4: the three fixtures in ../shared/samples/bods, each against what its
.expected.md says."""
import json
from pathlib import Path

import pytest

from apps.catalog.models import Entity, Fact, Record
from apps.ingest.models import ImportJob

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
BODS = ROOT.parent / "shared" / "samples" / "bods"
DIRECT = BODS / "core" / "01-direct-ownership.json"
CIRCULAR = BODS / "edge-cases" / "10-circular-ownership.json"
ANONYMOUS = BODS / "edge-cases" / "11-anonymous-person.json"


@pytest.fixture
def fixtures():
    if not BODS.exists():
        pytest.skip("../shared/samples/bods is not beside the repository")


@pytest.fixture
def import_bods(charlie):
    from apps.ingest.services import import_job_create, import_job_run

    def run(path, *, user=None, dataset="bods-fixtures", publish=False):
        job = import_job_create(user=user or charlie, path=path, dataset=dataset, fmt="bods", publish=publish)
        return import_job_run(job=job)

    return run


def test_direct_ownership_keeps_both_interests_with_75_percent_beneficial(fixtures, import_bods):
    job = import_bods(DIRECT)

    assert job.status == ImportJob.Status.DONE and job.rows_refused == 0
    jane, acme = Entity.objects.get(kind="person"), Entity.objects.get(kind="company")
    assert (jane.name, acme.name, acme.country) == ("Jane Smith", "Acme Holdings Ltd", "GB")
    assert acme.identifiers["registrationNumber"] == "GB-COH-10000001"
    shares = Record.objects.get(kind="ownership", attributes__interest_type="shareholding")
    voting = Record.objects.get(kind="ownership", attributes__interest_type="votingRights")
    assert (shares.subject, shares.object, shares.share_pct, shares.start) == (jane, acme, 75, "2010-01-01")
    assert voting.attributes["control"] is True and voting.attributes["share_pct"] == "75"
    assert shares.attributes["beneficial_ownership"] is True and voting.attributes["beneficial_ownership"] is True
    assert shares.attributes["direct"] is True
    lines = DIRECT.read_text(encoding="utf-8").splitlines()
    citation = shares.citations.get()
    line = int(citation.locator.split()[1])
    assert citation.found and citation.quote == lines[line - 1]
    assert citation.quote.strip() == '"share": {"exact": 75},'
    assert citation.locator == f"line {line} · /2/recordDetails/interests/0/share"  # checked there
    # Stable across runs: a second import changes nothing.
    assert not import_bods(DIRECT).changed_anything


def test_the_chain_of_the_direct_fixture_shows_jane_smith_with_75_percent(fixtures, import_bods, bob, graph):
    from apps.sync.services import outbox_drain
    from graph import queries

    import_bods(DIRECT, user=bob, publish=True)
    outbox_drain()

    acme = Entity.objects.get(name="Acme Holdings Ltd")
    chains = queries.ownership_chains(str(acme.uuid))["chains"]
    janes = [c for c in chains if c["top"]["name"] == "Jane Smith"]
    # One hop; the shareholding gives 75 %, the voting rights (control, no share column) none.
    assert janes and all(len(c["steps"]) == 1 for c in janes)
    assert pytest.approx(75.0) in [c["effective_share"] for c in janes]


def test_circular_ownership_keeps_both_edges_and_the_chain_terminates(fixtures, import_bods, bob, graph):
    from apps.sync.services import outbox_drain
    from graph import queries

    job = import_bods(CIRCULAR, user=bob, publish=True)
    outbox_drain()

    assert job.status == ImportJob.Status.DONE and not Entity.objects.filter(kind="person").exists()
    alpha, beta = Entity.objects.get(name="Alpha Corp Ltd"), Entity.objects.get(name="Beta Corp Ltd")
    assert {(r.subject, r.object, r.share_pct) for r in Record.objects.filter(kind="ownership")} == {
        (alpha, beta, 100), (beta, alpha, 100)}
    assert not any(r.attributes["beneficial_ownership"] for r in Record.objects.all())
    chains = queries.ownership_chains(str(alpha.uuid))["chains"]
    assert chains and all(c["ends_in_cycle"] and c["effective_share"] is None for c in chains)
    assert all(not c["ultimate"] for c in chains)


def test_a_declared_unknown_owner_is_kept_with_its_reason_and_no_person_invented(fixtures, import_bods):
    job = import_bods(ANONYMOUS)

    assert job.status == ImportJob.Status.DONE
    assert not Entity.objects.filter(kind="person").exists() and not Record.objects.exists()
    opaque = Entity.objects.get(name="Opaque Holdings SA")
    fact = Fact.objects.get(entity=opaque, field="beneficial owner")
    assert fact.value.startswith(
        "unknown person: subjectUnableToConfirmOrIdentifyBeneficialOwner — The subject entity")
    assert fact.citations.get().found


def test_an_updated_then_closed_relationship_makes_versions_and_an_end(fixtures, import_bods, tmp_path):
    statements = json.loads(DIRECT.read_text(encoding="utf-8"))
    relationship = statements[2]
    updated = json.loads(json.dumps(relationship))
    updated.update(statementId=relationship["statementId"][:-4] + "u001", statementDate="2026-05-01",
                   recordStatus="updated")
    updated["recordDetails"]["interests"][0]["share"] = {"exclusiveMinimum": 50, "maximum": 75}
    closed = json.loads(json.dumps(updated))
    closed.update(statementId=relationship["statementId"][:-4] + "c001", statementDate="2026-06-01",
                  recordStatus="closed")
    path = tmp_path / "history.json"
    path.write_text(json.dumps(statements + [closed, updated], indent=2), encoding="utf-8")

    job = import_bods(path)

    assert job.status == ImportJob.Status.DONE and job.rows_refused == 0, list(job.refused_rows.values())
    shares = Record.objects.get(attributes__interest_type="shareholding")
    assert shares.version >= 3 and shares.end == "2026-06-01"  # the closed statement, the latest
    assert shares.share_pct is None and shares.attributes["share_range"] == [50, 75]  # a range stays a range
    assert shares.attributes["share_range_exclusive"] == [True, False]
    assert shares.history.filter(share_pct=75).exists()


def test_bad_bods_is_refused_naming_the_pointer_or_line_with_nothing_written(fixtures, import_bods, tmp_path):
    statements = json.loads(DIRECT.read_text(encoding="utf-8"))
    statements[1]["recordDetails"]["personType"] = "robot"
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps(statements, indent=2), encoding="utf-8")
    job = import_bods(wrong)
    refused = job.refused_rows.first()  # then the relationship naming her is refused too
    assert refused.field == "/1/recordDetails/personType" and "not BODS 0.4" in refused.reason
    assert refused.line == 1 + wrong.read_text().splitlines().index('      "personType": "robot",')
    assert not Entity.objects.filter(kind="person").exists()

    truncated = tmp_path / "truncated.json"
    truncated.write_text(DIRECT.read_text(encoding="utf-8")[:900], encoding="utf-8")
    job = import_bods(truncated, dataset="other")
    assert job.status == ImportJob.Status.REFUSED and job.error.startswith("truncated.json: not JSON: line ")

    ocds = next((ROOT.parent / "shared" / "samples" / "ocds").glob("*award.json"))
    job = import_bods(ocds, dataset="third")
    assert job.status == ImportJob.Status.REFUSED and "not BODS 0.4" in job.error
