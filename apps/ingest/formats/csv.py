"""CSV lists with a mapping file (YAML), modelled on followthemoney's mapping format.

    columns: [name, start-date]        # optional: columns the file must have besides those read
    match: exact-name                  # optional: join an entity to the one of ours with exactly its name, the
                                       # same kind and an agreeing country; recorded, undoable (MappingJoin)
    entities:
      vendor:                          # a name of our own, referred to by other entries
        schema: Company                # a FollowTheMoney schema
        find:                          # optional: one entity per name found verbatim in the column
          column: description
          names: [Huawei Technologies Company, ZTE Corporation]
        properties:
          name: {column: name}         # or {found: true} with `find`
          alias: {column: aliases, split: ";"}
      listing:
        schema: Sanction
        properties:
          entity: {entity: vendor}     # one row per entity `vendor` made from the same row
          authority: {literal: Federal Communications Commission}
          startDate: {column: start-date, date: true, split: "Updated:"}
          provisions: {column: description, extract: "(to the extent .*? purposes)"}

A value spec has one of `column`, `literal`, `entity`, `found`; `split` cuts a cell into
several values, `extract` keeps the first group of a regular expression (no match: no
value), `date: true` parses dates such as "March 12, 2021" (dateparser) into ISO dates.
Ids are stable across loads: the entry's name and the values of its `keys` (columns;
default: its name or found name, and the entities it refers to).
"""
from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

import yaml
from followthemoney import model

from apps.catalog.models.sources import stored_file_lines
from apps.ingest import ftm
from apps.ingest.formats import Checked, FormatRefused, check_rows, entity_row

SUFFIX = ".csv"
NEEDS_MAPPING = True
SPEC_KEYS = {"column", "literal", "entity", "found", "split", "extract", "date"}


class MappingError(FormatRefused):
    pass


def default_dataset(path: Path, options: dict) -> str:
    return (options.get("mapping_data") or {}).get("dataset") or path.name.split(".")[0]


# --- the mapping ----------------------------------------------------------------------------

def mapping_load(*, text: str, name: str) -> dict:
    """Read and check a mapping; every mistake names the file and the place in it."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise MappingError(f"{name}:{where}: not YAML: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("entities"), dict) or not data["entities"]:
        raise MappingError(f"{name}: a mapping needs `entities:` (a name for each entity a row makes)")
    entries = data["entities"]
    for key, entry in entries.items():
        where = f"{name}: entities.{key}"
        if not isinstance(entry, dict):
            raise MappingError(f"{where}: must be a mapping with `schema` and `properties`")
        schema = model.get(entry.get("schema") or "")
        if schema is None:
            raise MappingError(f"{where}.schema: unknown FollowTheMoney schema {entry.get('schema')!r}")
        find = entry.get("find")
        if find is not None and not (isinstance(find, dict) and find.get("column")
                                     and isinstance(find.get("names"), list)):
            raise MappingError(f"{where}.find: needs `column` and a list of `names`")
        properties = entry.get("properties") or {}
        if not isinstance(properties, dict) or not properties:
            raise MappingError(f"{where}.properties: name at least one property")
        for prop, spec in properties.items():
            here = f"{where}.properties.{prop}"
            if schema.get(prop) is None:
                raise MappingError(f"{here}: {schema.name} has no property {prop!r}")
            if not isinstance(spec, dict) or not (set(spec) & {"column", "literal", "entity", "found"}):
                raise MappingError(f"{here}: give one of column, literal, entity, found")
            unknown = set(spec) - SPEC_KEYS
            if unknown:
                raise MappingError(f"{here}: unknown key(s) {', '.join(sorted(unknown))}")
            if "entity" in spec and spec["entity"] not in entries:
                raise MappingError(f"{here}: no entity {spec['entity']!r} in this mapping")
            if "found" in spec and find is None:
                raise MappingError(f"{here}: `found` needs a `find` on the entity")
            if "extract" in spec:
                try:
                    re.compile(spec["extract"])
                except re.error as exc:
                    raise MappingError(f"{here}.extract: not a regular expression: {exc}") from exc
        if not (properties.keys() & {"name", "entity", "owner", "asset"}) and schema.is_a("Thing"):
            raise MappingError(f"{where}: an entity needs a `name`")
    return data


def mapping_columns(mapping: dict) -> list[str]:
    columns = list(mapping.get("columns") or [])
    for entry in mapping["entities"].values():
        if entry.get("find"):
            columns.append(entry["find"]["column"])
        columns += [spec["column"] for spec in entry["properties"].values() if "column" in spec]
        columns += list(entry.get("keys") or [])
    return list(dict.fromkeys(columns))


# --- parse ----------------------------------------------------------------------------------

def _lines(path: Path):
    """(line number, text) of the stored file, each line as the citation check reads it."""
    for number, text in enumerate(stored_file_lines(path), start=1):
        yield number, text


def parse(path: Path, options: dict):
    mapping = options["mapping_data"]
    name = options.get("file_name") or path.name
    read: list[tuple[int, str]] = []  # the physical lines of the record being read

    def feed():
        for number, text in _lines(path):
            read.append((number, text))
            yield text

    reader = csv.reader(feed(), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise FormatRefused(f"{name}: the file is empty") from None
    except (csv.Error, UnicodeDecodeError) as exc:
        raise FormatRefused(f"{name}: line 1: not CSV: {exc}") from exc
    header = [h.strip() for h in header]
    missing = [c for c in mapping_columns(mapping) if c not in header]
    if missing:
        raise FormatRefused(f"{name}: line 1: missing column(s) {', '.join(repr(c) for c in missing)} "
                            f"(the mapping reads them; the header has {', '.join(header)})")
    while True:
        read.clear()
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            line, raw = read[0] if read else (0, "")
            yield ftm.Row(line=line, raw=raw, refusal=("", f"not CSV: {exc}"))
            continue
        line, raw = read[0]  # a record over several lines is cited by its first
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            yield ftm.Row(line=line, raw=raw, refusal=("", f"{len(cells)} cells where the header has {len(header)} "
                                                           "(a malformed or merged row)"))
            continue
        yield from _map_row(mapping, dict(zip(header, cells)), line, raw)


def _map_row(mapping: dict, cells: dict[str, str], line: int, raw: str):
    made: dict[str, list[str]] = {}  # entry -> ids made from this row
    pending = dict(mapping["entities"])
    # Entries that refer to others come after them.
    while pending:
        progressed = False
        for key, entry in list(pending.items()):
            refs = [s["entity"] for s in entry["properties"].values() if "entity" in s]
            if any(r in pending for r in refs if r != key):
                continue
            del pending[key]
            progressed = True
            try:
                yield from _map_entry(key, entry, cells, line, raw, made, mapping.get("dataset") or "csv")
            except ValueError as exc:
                yield ftm.Row(line=line, raw=raw, refusal=exc.args)
        if not progressed:
            raise MappingError("the mapping's entities refer to each other in a circle")


def _map_entry(key: str, entry: dict, cells: dict, line: int, raw: str, made: dict, prefix: str):
    found = [None]
    if entry.get("find"):
        text = cells.get(entry["find"]["column"], "")
        found = [n for n in entry["find"]["names"] if n in text]
        if not found:
            return  # the row names none of them: nothing to make (counted as a note)
    refs = {prop: spec["entity"] for prop, spec in entry["properties"].items() if "entity" in spec}
    # One row per combination of the entities referred to (a listing naming two vendors: two listings).
    combos = [{}]
    for prop, ref in refs.items():
        combos = [{**c, prop: target} for c in combos for target in made.get(ref, [])]
    for name in found:
        for combo in combos:
            properties: dict[str, list[str]] = {}
            for prop, spec in entry["properties"].items():
                values = [combo[prop]] if prop in combo else _values(spec, cells, name, prop)
                if values:
                    properties[prop] = values
            keys = [cells.get(c, "") for c in entry.get("keys") or []] or [name or ""]
            keys += [combo[p] for p in sorted(combo)]
            if not any(k for k in keys):
                keys = [raw]
            # The mapping's dataset is part of the id: two lists naming one company the same way
            # join only where a mapping says so (`match: exact-name`), never by a shared id.
            digest = hashlib.sha1("\x1f".join([prefix, key, *keys]).encode()).hexdigest()[:20]
            data = {"id": f"{prefix}-{key}-{digest}", "schema": entry["schema"], "properties": properties}
            row = entity_row(line, raw, data)
            if not row.refusal:
                made.setdefault(key, []).append(row.id)
            yield row


def _values(spec: dict, cells: dict, found: str | None, prop: str) -> list[str]:
    if "literal" in spec:
        literal = spec["literal"]
        return [str(v) for v in literal] if isinstance(literal, list) else [str(literal)]
    text = found if "found" in spec else cells.get(spec.get("column", ""), "")
    parts = text.split(spec["split"]) if spec.get("split") else [text]
    values = []
    for part in parts:
        part = part.strip()
        if part and spec.get("extract"):
            match = re.search(spec["extract"], part, re.S)
            part = (match.group(1) if match.groups() else match.group(0)).strip() if match else ""
        if part and spec.get("date"):
            part = parse_date(part, column=spec.get("column", prop))
        if part:
            values.append(part)
    return values


def parse_date(text: str, *, column: str) -> str:
    """"March 12, 2021" -> "2021-03-12"; ISO dates pass as they are. Raises ValueError(field, why)."""
    if re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", text):
        return text
    import dateparser

    parsed = dateparser.parse(text, languages=["en"], settings={"STRICT_PARSING": True, "PREFER_DAY_OF_MONTH": "first"})
    if parsed is None:
        raise ValueError(column, f"not a date: {text!r}")
    return parsed.date().isoformat()


# --- check ----------------------------------------------------------------------------------

def check(path: Path, options: dict) -> Checked:
    try:
        rows = list(parse(path, options))
        # Records that made nothing (a list row naming none of the mapping's vendors) are
        # noted with their line, not refused.
        starts = _record_starts(path)
    except (UnicodeDecodeError, OSError, EOFError) as exc:
        raise FormatRefused(f"{options.get('file_name') or path.name}: cannot be read as UTF-8 text: {exc}") from exc
    making = {row.line for row in rows}
    quiet = [n for n in starts if n not in making]
    notes = {}
    if quiet:
        notes[f"lines naming nothing the mapping makes ({', '.join(map(str, quiet))})"] = len(quiet)
    return check_rows(rows, notes=notes)


def _record_starts(path: Path) -> list[int]:
    """The first line of each non-blank record after the header."""
    starts, read = [], []

    def feed():
        for number, text in _lines(path):
            read.append(number)
            yield text

    reader = csv.reader(feed())
    next(reader, None)
    while True:
        read.clear()
        try:
            cells = next(reader)
        except StopIteration:
            return starts
        except csv.Error:
            cells = ["?"]
        if read and any(c.strip() for c in cells):
            starts.append(read[0])
