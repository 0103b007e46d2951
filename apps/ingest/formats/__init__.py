"""The import formats. Each is a module with one function per stage of its own; the stages
they share (register the raw file, resolve, stage as drafts, publish) are the import
machinery in apps.ingest.services, which every format feeds the same way:

    parse(path, options) -> iterator of ftm.Row   (each with its line and exact text)
    check(path, options) -> Checked               (counts, ids, refused rows, notes)

A format whose files are increments, not complete exports (OCDS, BODS), sets
COMPLETE_EXPORT = False: items missing from a file are then not ended.

A row's data is a FollowTheMoney entity (a dict) validated by `ftm.validate_data`, so one
writer and one set of rules serve every format. A format names its own default dataset
and file suffix, and whether a mapping file is needed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Iterable

from apps.ingest import ftm

NAMES = {"ftm": "FollowTheMoney (JSON lines)", "ocds": "OCDS (release or record package, or releases)",
         "bods": "BODS 0.4 (statements)", "csv": "CSV list with a mapping file"}


class FormatRefused(ftm.NotFtM):
    """The file as a whole cannot be read in this format: nothing is written."""


@dataclass
class Checked:
    total: int
    ids: dict[str, str]
    refused: list[ftm.Row]
    # Observations that are not refusals (unknown keys kept aside, rows naming nobody, ...):
    # {label: count}, shown in the job's summary.
    notes: dict[str, int] = field(default_factory=dict)


MODULES = {"ftm": "ftm_lines", "ocds": "ocds", "bods": "bods", "csv": "csv"}


def get(name: str):
    if name not in NAMES:
        raise KeyError(name)
    return import_module(f"apps.ingest.formats.{MODULES[name]}")


def check_rows(rows: Iterable[ftm.Row], *, notes: dict[str, int] | None = None,
               not_this_format: str = "") -> Checked:
    """The check stage every format shares: count the rows, collect the ids (with their
    schema; "" for a refused row) and the refused rows. A file with no good row at all is
    refused whole, its first refusal prefixed with `not_this_format`; nothing is written."""
    total, ids, refused, good = 0, {}, [], 0
    try:
        for row in rows:
            total += 1
            if row.refusal:
                refused.append(row)
                if isinstance(row.id, str) and row.id:
                    ids.setdefault(row.id, "")
            else:
                ids[row.id] = row.schema
                good += 1
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise FormatRefused(f"cannot be read as UTF-8 text or gzip: {exc}") from exc
    if total == 0:
        raise FormatRefused("the file is empty: it holds nothing to import")
    if not good:
        first = refused[0]
        raise FormatRefused(f"{not_this_format}line {first.line}"
                            f"{', ' + first.refusal[0] if first.refusal[0] else ''}: {first.refusal[1]}")
    return Checked(total, ids, refused, notes or {})


def json_units(path: Path, name: str, is_unit):
    """The values of a stored JSON file (OCDS, BODS) whose JSON pointer `is_unit` accepts
    (a release, a statement), each built whole with the line of every pointer in it and the
    text of its lines, as the file is read: a large file is never held whole (see
    apps.catalog.storedjson). The last one is the rest of the file (pointer ""). A file
    that is not UTF-8 JSON is refused whole, naming the file and the line."""
    from apps.catalog.models.sources import stored_file_lines
    from apps.catalog.storedjson import JSONError, units

    try:
        yield from units(stored_file_lines(path), is_unit)
    except (UnicodeDecodeError, OSError, EOFError) as exc:
        raise FormatRefused(f"{name}: cannot be read as UTF-8 text: {exc}") from exc
    except JSONError as exc:
        raise FormatRefused(f"{name}: not JSON: {exc}") from exc


def json_locator(line: int, pointer: str, release_id: str = "") -> str:
    """The locator of a value of a JSON file: its line, its JSON pointer and (OCDS) the id
    of the release holding it; Source.locate re-reads the stored file there."""
    from apps.catalog.models.sources import json_locator as make

    return make(line, pointer, release_id)


def entity_row(line: int, raw: str, data: dict, locator: str = "") -> ftm.Row:
    """A row of the shared writer: one FtM entity, cited by the exact text of `line` (and,
    for JSON formats, `locator`: the line, the JSON pointer and the release id)."""
    return ftm.validate_data(ftm.Row(line=line, raw=raw, locator=locator), data)


def schema_dir() -> Path:
    from django.conf import settings

    return Path(settings.VENDORGRAPH_SCHEMA_DIR)
