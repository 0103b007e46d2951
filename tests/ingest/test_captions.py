"""A row's caption is made only when asked for, and is FollowTheMoney's own."""
import json

from followthemoney import model

from apps.ingest import ftm


def test_rows_without_a_caption_get_followthemoneys_when_asked(zala_path):
    rows = []
    for number, text in enumerate(zala_path.read_text(encoding="utf-8").splitlines(), start=1):
        data = json.loads(text)
        data.pop("caption", None)  # as a file without captions gives them
        rows.append(ftm.validate_data(ftm.Row(line=number, raw=text), data))
    assert len(rows) == 91 and all(row.refusal is None for row in rows)
    assert all("caption" not in row.data for row in rows)  # validating does not make one

    entities = [row for row in rows if row.schema in ftm.ENTITY_SCHEMAS]
    several = [row for row in entities if len(row.props.get("name", [])) > 1]
    assert entities and several  # the short cut (one name) and FtM's choice among several both met
    shortcuts = 0
    for row in rows:
        expected = model.get_proxy(dict(row.data), cleaned=True).caption
        if row.schema in ftm.ENTITY_SCHEMAS:
            assert row.name_caption() == expected, row.line
            short = len(row.props.get("name", [])) == 1 and model.get(row.schema).caption[0] == "name"
            shortcuts += short
            assert ("caption" in row.data) == (not short), row.line  # else the model's proxy made it
        assert row.caption == expected, row.line
    assert shortcuts >= 4  # rows with one name took the short cut


def test_a_files_own_caption_wins():
    row = ftm.validate_line(1, json.dumps({"id": "c1", "schema": "Company", "caption": "Nuctech",
                                           "properties": {"name": ["NUCTECH COMPANY LIMITED"]}}))
    assert (row.caption, row.name_caption()) == ("Nuctech", "Nuctech")
    ownership = ftm.validate_line(2, json.dumps({"id": "o1", "schema": "Ownership", "properties": {}}))
    assert ownership.caption == "Ownership"  # no caption properties: the schema's label
