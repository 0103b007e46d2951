"""Reading a file's rows: a pass skips what it does not want exactly as parsing would, and a
row's caption is made only when asked for, and is FollowTheMoney's own."""
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


def test_a_pass_that_skips_lines_by_their_schema_keeps_exactly_what_parsing_them_would(tmp_path):
    lines = [
        {"id": "a", "schema": "Company", "properties": {"name": ["A"]}},
        {"id": "b", "schema": "Ownership", "properties": {"owner": ["a"], "asset": ["c"]}},
        # "schema" twice (a nested object names another): parsed, the top level decides.
        {"id": "c", "schema": "Ownership", "context": {"schema": "Company"}, "properties": {}},
        {"id": "d", "context": {"schema": "Ownership"}, "properties": {}},  # nested only: not an Ownership
        {"id": "h", "context": {"schema": "Company"}, "schema": "Ownership", "properties": {}},  # nested first
        # Inside a string the quotes are escaped: the text is no "schema" key.
        {"id": "e", "schema": "Company", "properties": {"name": ['"schema": "Ownership"']}},
    ]
    texts = [json.dumps(line) for line in lines]
    texts.append('{"id": "f", "schema": "Owne\\u0072ship", "properties": {}}')  # an escaped name: parsed
    texts.append('{"id": "g", "schema": "Ownership", "properties": ')  # not JSON: skipped either way
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(texts) + "\n", encoding="utf-8")

    for wanted in ({"Ownership"}, {"Company"}):
        kept = [row.id for row in ftm.read_rows(path, keep=lambda schema, wanted=wanted: schema in wanted)]
        parsed = [row.id for row in ftm.read_rows(path) if row.data and row.data.get("schema") in wanted]
        assert kept == parsed
    assert [row.id for row in ftm.read_rows(path, keep=lambda schema: schema == "Ownership")] == ["b", "c", "h", "f"]
