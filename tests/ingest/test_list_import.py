"""Importing government restriction lists (CSV with a mapping): the FCC Covered List and
NDAA section 889 as transcribed by OpenSanctions (read from ../shared/samples/lists)."""
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from apps.catalog.models import Citation, Entity, Record
from apps.ingest.models import ImportJob
from apps.sync.models import OutboxEvent

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
LISTS = ROOT.parent / "shared" / "samples" / "lists"
MAPPINGS = ROOT / "data" / "mappings"


@pytest.fixture
def lists():
    if not LISTS.exists():
        pytest.skip("../shared/samples/lists is not beside the repository")
    return LISTS


@pytest.fixture
def import_list(charlie):
    from apps.ingest.services import import_job_create, import_job_run

    def run(name, *, path=None, mapping=None):
        job = import_job_create(user=charlie, path=path or LISTS / f"{name}.csv", dataset="", fmt="csv",
                                mapping=mapping or MAPPINGS / f"{name}.yml")
        return import_job_run(job=job)

    return run


def _bans(name: str) -> list[Record]:
    return list(Record.objects.filter(kind="ban", object__name=name).select_related("subject"))


def test_the_fcc_list_gives_the_vendors_their_bans_with_dates_and_scope(lists, import_list):
    job = import_list("us_fcc_covered_list")

    assert job.status == ImportJob.Status.DONE and job.rows_refused == 0
    huawei, = _bans("Huawei Technologies Company")
    assert (huawei.subject.name, huawei.subject.country) == ("Federal Communications Commission", "US")
    assert huawei.start == "2021-03-12" and huawei.title == "FCC Covered List"
    assert huawei.attributes["sourceUrl"] == "https://www.fcc.gov/supplychain/coveredlist"
    assert "provisions" not in huawei.attributes  # Huawei's listing covers every use
    hikvision, = _bans("Hangzhou Hikvision Digital Technology Company")
    assert hikvision.attributes["provisions"].startswith("to the extent it is used for the purpose of public safety")
    assert {b.start for name in ("ZTE Corporation", "Hytera Communications Corporation", "Dahua Technology Company")
            for b in _bans(name)} == {"2021-03-12"}
    assert [b.start for b in _bans("Kaspersky Lab, Inc.")] == ["2024-07-23"]
    # Two companies in one row: one ban each, and no ownership between them (the list says none).
    assert len(_bans("Pacific Networks Corp")) == len(_bans("ComNet (USA) LLC")) == 1
    assert not Record.objects.exclude(kind="ban").exists()
    # Rows banning whole categories name no vendor: noted with their lines, nothing invented.
    assert job.unmapped["notes"] == {"lines naming nothing the mapping makes (13, 14, 16, 17)": 4}
    assert Record.objects.count() == 13 and Entity.objects.filter(kind="company").count() == 13
    # Each ban cites its row: the exact line of the stored file.
    rows = (LISTS / "us_fcc_covered_list.csv").read_text(encoding="utf-8").splitlines()
    for record in Record.objects.all():
        citation = record.citations.get()
        assert citation.found and citation.quote == rows[int(citation.locator.removeprefix("line ")) - 1]
    assert huawei.citations.get().locator == "line 2"


def test_section_889_bans_the_same_five_vendors_by_the_us_congress(lists, import_list):
    import_list("us_fcc_covered_list")
    job = import_list("us_ndaa_section_889")

    assert job.status == ImportJob.Status.DONE and job.rows_refused == 0
    assert job.unmapped["matched"] == {"exact name (the mapping's match: exact-name)": 5}
    for name in ("Huawei Technologies Company", "ZTE Corporation", "Hytera Communications Corporation",
                 "Hangzhou Hikvision Digital Technology Company", "Dahua Technology Company"):
        assert Entity.objects.filter(name=name).count() == 1  # both lists name one vendor
        by = {b.subject.name: b for b in _bans(name)}
        assert set(by) == {"Federal Communications Commission", "United States Congress"}
        congress = by["United States Congress"]
        assert congress.title.startswith("Section 889 of the John S. McCain National Defense Authorization Act")
        assert congress.start == "" and congress.end == ""  # the file gives no date: none is invented
        assert congress.attributes["sourceUrl"] == "https://www.congress.gov/115/plaws/publ232/PLAW-115publ232.pdf"
        assert congress.citations.get().found


def test_a_second_load_of_a_list_changes_nothing(lists, import_list):
    import_list("us_fcc_covered_list")
    import_list("us_ndaa_section_889")
    outbox, history = OutboxEvent.objects.count(), Record.history.count() + Entity.history.count()

    again = [import_list("us_fcc_covered_list"), import_list("us_ndaa_section_889")]

    assert all(not job.changed_anything for job in again)
    assert OutboxEvent.objects.count() == outbox
    assert Record.history.count() + Entity.history.count() == history


def test_the_command_imports_a_list_with_its_mapping_and_prints_the_summary(lists, charlie, capsys):
    call_command("ingest", str(LISTS / "us_ndaa_section_889.csv"), "--format", "csv",
                 "--mapping", str(MAPPINGS / "us_ndaa_section_889.yml"), "--user", charlie.username)

    out = capsys.readouterr().out
    assert "dataset 'us_ndaa_section_889'" in out and "records: 5 created" in out
    assert Record.objects.filter(kind="ban").count() == 5


def test_a_csv_missing_a_column_is_refused_naming_it_with_nothing_written(lists, import_list, tmp_path):
    bad = tmp_path / "section_889.csv"
    rows = (LISTS / "us_ndaa_section_889.csv").read_text(encoding="utf-8").splitlines()
    bad.write_text("\n".join(line.rsplit(",", 1)[0] for line in rows) + "\n", encoding="utf-8")

    job = import_list("us_ndaa_section_889", path=bad)

    assert job.status == ImportJob.Status.REFUSED
    assert job.error.startswith("section_889.csv: line 1: missing column(s) 'source_url'")
    assert not Entity.objects.exists() and not Record.objects.exists() and not Citation.objects.exists()


def test_a_malformed_row_or_date_is_refused_with_its_line_while_good_rows_go_in(lists, import_list, tmp_path):
    bad = tmp_path / "section_889.csv"
    rows = (LISTS / "us_ndaa_section_889.csv").read_text(encoding="utf-8").splitlines()
    rows[2] = rows[2] + ",an extra cell"
    rows[3] = rows[3].replace(",,,,,,,https", ",,sometime in spring,,,,,https")
    bad.write_text("\n".join(rows) + "\n", encoding="utf-8")

    job = import_list("us_ndaa_section_889", path=bad)

    refused = {(r.line, r.field): r.reason for r in job.refused_rows.all()}
    assert refused[(3, "")].startswith("14 cells where the header has 13")
    assert refused[(4, "report-date")] == "not a date: 'sometime in spring'"
    assert Record.objects.filter(kind="ban").count() == 3  # lines 2, 5 and 6


def test_a_mapping_naming_an_unknown_property_is_refused_before_anything_is_stored(lists, charlie, tmp_path):
    from apps.ingest.services import import_job_create

    mapping = tmp_path / "bad.yml"
    mapping.write_text((MAPPINGS / "us_ndaa_section_889.yml").read_text().replace("topics:", "colour:"))

    with pytest.raises(ValidationError) as raised:
        import_job_create(user=charlie, path=LISTS / "us_ndaa_section_889.csv", dataset="", fmt="csv", mapping=mapping)

    assert "bad.yml: entities.company.properties.colour: Company has no property 'colour'" in str(raised.value)
    assert not ImportJob.objects.exists()
    with pytest.raises(CommandError, match="Company has no property 'colour'"):
        call_command("ingest", str(LISTS / "us_ndaa_section_889.csv"), "--format", "csv", "--mapping", str(mapping),
                     "--user", charlie.username)


def test_the_parser_reads_written_dates():
    from apps.ingest.formats.csv import parse_date

    assert parse_date("March 12, 2021", column="d") == "2021-03-12"
    assert parse_date("2021-03", column="d") == "2021-03"
    with pytest.raises(ValueError):
        parse_date("Updated:", column="d")


def test_the_upload_page_takes_a_list_with_its_mapping_and_names_a_bad_mapping(lists, as_user, alice, tmp_path):
    from django.urls import reverse

    client = as_user(alice)
    bad = tmp_path / "bad.yml"
    bad.write_text((MAPPINGS / "us_ndaa_section_889.yml").read_text().replace("topics:", "colour:"))

    def upload(mapping):
        with open(LISTS / "us_ndaa_section_889.csv", "rb") as handle, open(mapping, "rb") as yml:
            return client.post(reverse("ingest:job_new"), {"file": handle, "mapping": yml, "format": "csv",
                                                           "dataset": ""})

    refused = upload(bad)
    assert refused.status_code == 200 and "Company has no property &#x27;colour&#x27;" in refused.content.decode()
    assert not ImportJob.objects.exists()
    accepted = upload(MAPPINGS / "us_ndaa_section_889.yml")
    job = ImportJob.objects.get()
    assert accepted.status_code == 302 and (job.format, job.dataset) == ("csv", "us_ndaa_section_889")
    assert job.options["mapping_name"] == "us_ndaa_section_889.yml"


def test_two_lists_join_one_vendor_only_because_their_mappings_ask_for_exact_names(lists, import_list, tmp_path):
    import_list("us_fcc_covered_list")
    mapping = tmp_path / "us_ndaa_section_889.yml"
    mapping.write_text((MAPPINGS / "us_ndaa_section_889.yml").read_text().replace("match: exact-name", ""))

    job = import_list("us_ndaa_section_889", mapping=mapping)

    assert job.entities_created == 6 and not job.unmapped.get("matched")  # 5 companies + the Congress
    assert Entity.objects.filter(name="Huawei Technologies Company").count() == 2


def test_each_join_a_mapping_asks_for_is_recorded_shown_and_undoable(lists, import_list, as_user, charlie, alice):
    from django.urls import reverse

    from apps.ingest.models import ImportedItem, MappingJoin

    import_list("us_fcc_covered_list")
    job = import_list("us_ndaa_section_889")
    huawei = Entity.objects.get(name="Huawei Technologies Company")
    assert len(_bans(huawei.name)) == 2
    joins = MappingJoin.objects.filter(job=job)
    assert sorted(j.imported_name for j in joins) == sorted(
        ["Huawei Technologies Company", "ZTE Corporation", "Hytera Communications Corporation",
         "Hangzhou Hikvision Digital Technology Company", "Dahua Technology Company"])
    page = as_user(alice).get(reverse("ingest:matches")).content.decode()
    assert "Joined by exact name, from the mapping" in page and "Huawei Technologies Company" in page
    assert "Undo: keep apart" not in page  # an editor sees the joins; only admins undo them

    join = joins.get(imported_name="Huawei Technologies Company")
    response = as_user(charlie).post(reverse("ingest:mapping_join_undo", args=[join.pk]))

    assert response.status_code == 302
    join.refresh_from_db()
    apart = join.split
    assert join.status == MappingJoin.Status.UNDONE and apart != huawei and apart.name == huawei.name
    assert [b.subject.name for b in _bans(huawei.name) if b.object == huawei] == ["Federal Communications Commission"]
    congress = Record.objects.get(kind="ban", object=apart)
    assert congress.subject.name == "United States Congress"
    assert apart.citations.get(field="").quote.startswith("Company,Huawei Technologies Company,")
    assert apart.fact_set.filter(field="topics", value="debarment").exists()  # what only the list said moved
    assert not huawei.fact_set.filter(field="topics").exists()
    assert ImportedItem.objects.get(dataset="us_ndaa_section_889", external_id=join.external_id).entity == apart
    # A second load of the list keeps them apart.
    assert not import_list("us_ndaa_section_889").changed_anything
    assert Record.objects.get(kind="ban", object=apart) == congress


def test_a_mapping_joins_no_entity_whose_country_differs(lists, import_list, charlie, tmp_path):
    from apps.catalog import services as catalog
    from apps.ingest.models import MappingJoin

    theirs = catalog.entity_create(user=charlie, kind="company", name="ZTE Corporation", country="FR")
    csv = tmp_path / "us_ndaa_section_889.csv"
    # Every row given China as its country (the cell is empty in the list).
    csv.write_text((LISTS / "us_ndaa_section_889.csv").read_text(encoding="utf-8").replace(
        "United States Congress,,,,,,,https", "United States Congress,,,,,cn,,https"), encoding="utf-8")

    import_list("us_ndaa_section_889", path=csv)

    zte = Entity.objects.filter(name="ZTE Corporation")
    assert zte.count() == 2 and zte.exclude(pk=theirs.pk).get().country == "CN"
    assert not MappingJoin.objects.filter(imported_name="ZTE Corporation").exists()
    assert not Record.objects.filter(kind="ban", object=theirs).exists()
