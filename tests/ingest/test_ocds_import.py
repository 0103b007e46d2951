"""Importing OCDS: the Jalisco record package, then the award release of the same ocid
(real data, ../shared/samples/ocds)."""
import json
from pathlib import Path

import pytest

from apps.catalog.models import Entity, Record
from apps.ingest.models import ImportJob

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
OCDS = ROOT.parent / "shared" / "samples" / "ocds"
RECORD = OCDS / "jalisco_record_ocds-xs1qbl-SFIN-03-0007-00-2017.json"
AWARD = OCDS / "jalisco_release_ocds-xs1qbl-SFIN-03-0007-00-2017-award.json"
SCHEMAS = ROOT.parent / "shared" / "samples" / "schemas"


@pytest.fixture
def jalisco():
    if not OCDS.exists():
        pytest.skip("../shared/samples/ocds is not beside the repository")


@pytest.fixture
def import_ocds(charlie):
    from apps.ingest.services import import_job_create, import_job_run

    def run(path):
        return import_job_run(job=import_job_create(user=charlie, path=path, dataset="", fmt="ocds"))

    return run


def test_the_record_then_the_award_release_make_one_award_of_179568_mxn(jalisco, import_ocds):
    first = import_ocds(RECORD)
    parties, awards = Entity.objects.count(), Record.objects.count()
    second = import_ocds(AWARD)

    assert first.status == second.status == ImportJob.Status.DONE and not first.rows_refused + second.rows_refused
    assert first.dataset == second.dataset == "ocds"
    assert Entity.objects.count() == parties  # no duplicate party
    assert not second.entities_ended and not second.records_ended  # a release is not a complete export
    assert Record.objects.count() == awards  # no duplicate award or contract
    compucad = Entity.objects.get(name="COMPUCAD, S.A. DE C.V.")
    assert compucad.kind == "company" and compucad.identifiers["registrationNumber"] == "PROV-GOB-JAL-P00716"
    buyer = Entity.objects.get(identifiers__registrationNumber="DEP-GOB-JAL-03-1685")
    assert buyer.kind == "public_body"
    award = Record.objects.get(kind="contract", object=compucad, attributes__ocds="award")
    assert award.subject == buyer and (award.amount, award.currency) == (179568, "MXN")
    assert award.start == "2017-04-26" and award.attributes["procedure"] == "open — Licitación Pública"
    contract = Record.objects.get(kind="contract", object=compucad, attributes__ocds="contract")
    assert contract.start == "2017-05-16" and contract.amount == 179568 and contract.attributes["status"] == "active"


def test_each_record_cites_the_release_the_pointer_and_the_exact_line_of_its_value(jalisco, import_ocds):
    from apps.catalog.models.sources import parse_locator

    import_ocds(RECORD)
    lines = RECORD.read_text(encoding="utf-8").splitlines()

    contract = Record.objects.get(attributes__ocds="contract")
    citation = contract.citations.get()
    line, pointer, release = parse_locator(citation.locator)
    assert citation.found and citation.quote == lines[line - 1]
    assert citation.quote.strip() == '"dateSigned": "2017-05-16T12:00:00Z",'
    assert pointer == contract.attributes["json_pointer"] == "/records/0/compiledRelease/contracts/0/dateSigned"
    assert release == contract.attributes["release_id"] == "ocds-xs1qbl-SFIN-03-0007-00-2017-compiled"
    assert citation.locator == f"line {line} · {pointer} · release {release}"
    award = Record.objects.get(attributes__ocds="award")
    assert award.citations.get().quote.strip() == '"amount": 179568.0,'


def test_the_citation_check_rereads_the_stored_file_at_the_pointer_and_fails_once_it_is_tampered(
        jalisco, import_ocds, settings):
    from django.core.exceptions import ValidationError

    from apps.catalog.models import Source

    job = import_ocds(RECORD)
    citation = Record.objects.get(attributes__ocds="award").citations.get()
    source = Source.objects.get(pk=job.source_id)  # fresh: nothing cached from the import
    assert source.locate(citation.quote, citation.locator) is not None
    citation.full_clean()

    stored = Path(settings.VENDORGRAPH_IMPORT_DIR) / job.stored_file
    original = stored.read_text(encoding="utf-8")
    # The same line, the same text, but the value now sits under another release id.
    stored.write_text(original.replace('"id": "ocds-xs1qbl-SFIN-03-0007-00-2017-compiled"', '"id": "forged"'),
                      encoding="utf-8")
    assert source.locate(citation.quote, citation.locator) is None
    with pytest.raises(ValidationError, match="not found at line"):
        citation.full_clean()
    # The amount changed where the pointer says.
    lines = original.split("\n")
    number = int(citation.locator.split()[1])
    lines[number - 1] = lines[number - 1].replace("179568.0", "1795680.0")
    stored.write_text("\n".join(lines), encoding="utf-8")
    assert source.locate(citation.quote, citation.locator) is None
    from apps.catalog.services import citations_reverify

    lost = citations_reverify(source=source)
    assert citation in lost and "no longer found" in Record.objects.get(attributes__ocds="award").flag
    # A line added above: the quote's text is now one line further down, away from its pointer.
    stored.write_text(original.replace("{", "{\n", 1), encoding="utf-8")
    assert source.locate(citation.quote, citation.locator) is None
    stored.write_text(original, encoding="utf-8")
    assert source.locate(citation.quote, citation.locator) is not None


def test_a_cite_of_a_contract_names_the_dataset_file_hash_retrieval_and_pointer(jalisco, charlie, bob, as_user):
    from django.urls import reverse

    from apps.ingest.services import import_job_create, import_job_publish, import_job_run

    job = import_job_run(job=import_job_create(user=charlie, path=RECORD, dataset="", fmt="ocds",
                                               publisher="Gobierno de Jalisco", licence="CC BY 4.0",
                                               url="https://contratacionesabiertas.jalisco.gob.mx/"))
    import_job_publish(user=bob, job=job)
    contract = Record.objects.get(attributes__ocds="contract")
    text = as_user(None).get(reverse("citations:cite_record", args=[contract.uuid]),
                             {"format": "text"}).content.decode()

    assert "ocds: jalisco_record_ocds-xs1qbl-SFIN-03-0007-00-2017.json" in text
    assert "Gobierno de Jalisco" in text and "licence CC BY 4.0" in text and f"SHA-256 {job.file_sha256}" in text
    assert f"retrieved {job.created_at:%Y-%m-%d}" in text
    assert ("· /records/0/compiledRelease/contracts/0/dateSigned · release ocds-xs1qbl-SFIN-03-0007-00-2017-compiled"
            in text)


def test_unknown_keys_are_reported_not_fatal(jalisco, import_ocds):
    job = import_ocds(AWARD)

    notes = " ".join(job.unmapped["notes"])
    assert job.status == ImportJob.Status.DONE and "/_id" in notes and "/releases/0/_id" not in notes


def test_planning_items_documents_milestones_and_amendments_are_kept_and_listed_as_not_mapped(jalisco, import_ocds):
    job = import_ocds(RECORD)

    release = json.loads(RECORD.read_text(encoding="utf-8"))["records"][0]["compiledRelease"]
    contract = Record.objects.get(attributes__ocds="contract")
    assert contract.attributes["planning/budget"] == release["planning"]["budget"]
    assert contract.attributes["tender/items"] == release["tender"]["items"]
    notes = job.unmapped["notes"]
    assert notes["planning/budget: kept with the contract records, not mapped"] == 1
    for part in ("tender/items", "award/items", "contract/items"):
        assert f"{part}: kept with the contract records, not mapped" in notes
    kept = {k for k in contract.attributes if k.endswith(("/documents", "/milestones", "/amendments"))}
    source = {f"{stage}/{key}" for stage, obj in (("planning", release["planning"]), ("tender", release["tender"]),
                                                  ("contract", release["contracts"][0]))
              for key in ("documents", "milestones", "amendments") if obj.get(key)}
    assert kept == source  # nothing the release holds of these is dropped


def test_a_changed_value_in_a_later_release_makes_a_new_version(jalisco, import_ocds, tmp_path):
    import_ocds(AWARD)
    award = Record.objects.get(attributes__ocds="award")
    data = json.loads(AWARD.read_text(encoding="utf-8"))
    later = json.loads(json.dumps(data["releases"][0]))
    later["id"] += "-amendment"
    later["date"] = "2018-02-01T00:00:00Z"
    later["awards"][0]["value"]["amount"] = 180000.0
    data["releases"].append(later)
    amended = tmp_path / "amended.json"
    amended.write_text(json.dumps(data, indent=2), encoding="utf-8")

    job = import_ocds(amended)

    award.refresh_from_db()
    assert job.records_changed >= 1 and award.amount == 180000 and award.version > 1
    assert award.history.filter(amount=179568).exists()  # the history is kept
    assert award.attributes["release_id"].endswith("-amendment")


def test_a_truncated_file_is_refused_naming_its_line_with_nothing_written(jalisco, import_ocds, tmp_path):
    truncated = tmp_path / "truncated.json"
    truncated.write_text(RECORD.read_text(encoding="utf-8")[:5000], encoding="utf-8")

    job = import_ocds(truncated)

    assert job.status == ImportJob.Status.REFUSED and job.error.startswith("truncated.json: not JSON: line 137")
    assert not Entity.objects.exists() and not Record.objects.exists()


def test_a_release_against_the_schema_is_refused_naming_its_pointer(jalisco, import_ocds, tmp_path):
    data = json.loads(AWARD.read_text(encoding="utf-8"))
    data["releases"][0]["tag"] = "not-a-tag"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data, indent=2), encoding="utf-8")

    job = import_ocds(bad)

    assert job.status == ImportJob.Status.REFUSED and "/releases/0/tag" in job.error and "not OCDS 1.1" in job.error
    assert not Entity.objects.exists()
    # Not OCDS at all (a BODS file): refused whole.
    bods = next((ROOT.parent / "shared" / "samples" / "bods" / "core").glob("*.json"))
    job = import_ocds(bods)
    assert job.status == ImportJob.Status.REFUSED and "not OCDS" in job.error


def test_the_schema_kept_by_setup_is_the_published_release_schema_of_ocds_1_1():
    from apps.ingest.formats.ocds import release_schema

    schema = release_schema()
    assert schema["id"].endswith("1__1__4/release-schema.json")
    shared = SCHEMAS / "ocds-1.1" / "release-schema.json"
    if shared.exists():  # 1.1.5 there: the same release fields
        assert set(json.loads(shared.read_text())["properties"]) == set(schema["properties"])
