"""OCDS and BODS files are read as a stream: a release or a statement is handed on as soon
as its last line is read, never after the whole file."""
import json

import pytest

from apps.catalog.storedjson import JSONError, line_at, units


def _package(n: int) -> list[str]:
    releases = [{"ocid": f"ocds-x-{i}", "id": f"r{i}", "tag": ["award"], "awards": [{"id": "1", "value": {"amount": i}}]}
                for i in range(n)]
    return json.dumps({"version": "1.1", "releases": releases}, indent=2).splitlines()


def test_it_hands_on_each_release_before_reading_the_next():
    lines = _package(50)
    read = []

    def feed():
        for text in lines:
            read.append(text)
            yield text

    seen = 0
    for unit in units(feed(), lambda p: p.startswith("/releases/") and p.count("/") == 2):
        if not unit.pointer:
            break
        seen += 1
        assert unit.value["id"] == f"r{seen - 1}"
        # Only this release's lines (and the package's first lines) have been read so far.
        assert len(read) <= 3 + seen * (len(lines) // 50) + 2
        line, raw = unit.at(f"{unit.pointer}/awards/0/value/amount")
        assert raw.strip() == f'"amount": {seen - 1}' and lines[line - 1] == raw
    assert seen == 50


def test_the_rest_of_the_file_keeps_the_package_metadata_without_its_releases():
    rest = list(units(iter(_package(3)), lambda p: p.startswith("/releases/") and p.count("/") == 2))[-1]
    assert rest.pointer == "" and rest.value == {"version": "1.1", "releases": [None, None, None]}


def test_a_truncated_or_broken_file_names_its_line():
    lines = _package(3)
    with pytest.raises(JSONError, match=r"^line 10: the file ends inside the JSON value \(truncated\?\)"):
        list(units(iter(lines[:10]), lambda p: False))
    broken = lines[:5] + ["  ]]"] + lines[5:]
    with pytest.raises(JSONError, match="^line 6: "):
        list(units(iter(broken), lambda p: False))


def test_line_at_rereads_a_pointer_and_the_ids_above_it(tmp_path):
    path = tmp_path / "package.json"
    path.write_text("\n".join(_package(2)), encoding="utf-8")
    line, ids = line_at(path, "/releases/1/awards/0/value/amount")
    assert path.read_text().splitlines()[line - 1].strip() == '"amount": 1'
    assert ids["/releases/1/id"] == "r1" and ids["/releases/1/awards/0/id"] == "1"
    assert line_at(path, "/releases/2")[0] is None  # no third release
