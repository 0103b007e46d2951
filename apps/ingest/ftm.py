"""Reading FollowTheMoney (FtM) JSON lines: one entity a line, validated with the
`followthemoney` model, streamed (never the whole file in memory).

This module only reads and maps; apps.ingest.services writes through the catalogue.
The mapping to our nouns is the table in README "Importing data"; MAPPING below is its code.
"""
from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Iterator

from followthemoney import model

from apps.catalog.models import validate_country_code, validate_currency
from apps.catalog.models.sources import stored_file_lines
from apps.catalog.vocab import EntityKind, RecordKind

# FtM schema -> our entity kind.
ENTITY_SCHEMAS = {
    "Company": EntityKind.COMPANY,
    "Organization": EntityKind.ORGANIZATION,
    "LegalEntity": EntityKind.ORGANIZATION,
    "PublicBody": EntityKind.PUBLIC_BODY,
    "Person": EntityKind.PERSON,
    "Address": EntityKind.SITE,
}
# FtM schema -> (record kind, subject property, object property). Sanction and
# ContractAward name one end indirectly and are handled in `relation_ends`.
RECORD_SCHEMAS = {
    "Ownership": (RecordKind.OWNERSHIP, "owner", "asset"),
    "Control": (RecordKind.OWNERSHIP, "controller", "controlled"),
    "Directorship": (RecordKind.ROLE, "director", "organization"),
    "Membership": (RecordKind.ROLE, "member", "organization"),
    "Employment": (RecordKind.ROLE, "employee", "employer"),
    "Sanction": (RecordKind.BAN, None, "entity"),  # the authority is a name, not a reference
    "ContractAward": (RecordKind.CONTRACT, None, "supplier"),  # the buyer is the contract's authority
    "Debt": (RecordKind.LOAN, "creditor", "debtor"),
    "Payment": (RecordKind.DONATION, "payer", "beneficiary"),  # a contract payment when it names a contract
}
# Kept aside while reading, for the rows that refer to them (a ContractAward's contract).
LOOKUP_SCHEMAS = {"Contract"}

NAME_PROPS = ("name", "alias", "previousName", "weakAlias", "abbreviation", "full")
# Columns of a record, by FtM property; whatever else a relationship row says goes to its attributes.
RECORD_COLUMNS = {"startDate": "start", "endDate": "end", "date": "start", "percentage": "share_pct",
                  "amount": "amount", "amountEur": None, "currency": "currency", "summary": "description",
                  "description": "description", "reason": "description"}
DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?")


class NotFtM(ValueError):
    """The file as a whole is not FollowTheMoney: nothing is written."""


@dataclass
class Row:
    line: int
    raw: str
    data: dict | None = None
    refusal: tuple[str, str] | None = None  # (field, why)
    # What a format knows of the row beyond FtM (an OCDS release id and JSON pointer, a
    # procedure): kept with the record's attributes.
    attributes: dict = field(default_factory=dict)
    # Where the citation says the quote is, when more than "line N" (JSON: the pointer too).
    locator: str = ""

    # Read once, when first asked for (an import asks each row's a dozen times): a row's data
    # is complete once validate_data has checked it, and is not changed after.
    @functools.cached_property
    def id(self) -> str:
        return (self.data or {}).get("id", "")

    @functools.cached_property
    def schema(self) -> str:
        return (self.data or {}).get("schema", "")

    @functools.cached_property
    def props(self) -> dict[str, list[str]]:
        return (self.data or {}).get("properties") or {}

    def first(self, prop: str) -> str:
        values = self.props.get(prop) or []
        return values[0] if values else ""

    @property
    def caption(self) -> str:
        """The row's caption: the file's own, else FollowTheMoney's (from the schema's caption
        properties, or its label), made when first asked for: building the model's proxy for
        every row cost an import a twentieth of its time, and most rows never need it."""
        data = self.data or {}
        if not data.get("caption"):
            data["caption"] = model.get_proxy(data, cleaned=True).caption
        return data["caption"]

    def name_caption(self) -> str:
        """The caption of an entity row, knowing that FollowTheMoney's caption of a row with
        exactly one `name`, in a schema whose first caption property is `name`, is that name
        (its choice among several names is pick_name's): the usual row asks nothing more."""
        names = self.props.get("name") or []
        if len(names) == 1 and not (self.data or {}).get("caption") and _name_first(self.schema):
            return names[0]
        return self.caption


_SCHEMA_NAMED = re.compile(r'"schema"\s*:\s*"([A-Za-z]+)"')


def read_rows(path: Path, keep=None) -> Iterator[Row]:
    """Every non-blank line of the stored file, parsed and validated (gz and BOM accepted).
    `keep` (a test of the schema's name): only the lines of those schemas, each validated
    (the others, and lines that are not JSON objects, are skipped unread: a pass over the
    file that wants some schemas does not validate the rest again).

    A line whose text names its schema plainly, once (`"schema": "Ownership"`), and one that
    `keep` does not want, is skipped without being parsed: a pass over a file of a million
    lines skips half of them or more. The result is the same as parsing it: `"schema"` once
    in the text, followed by a colon, is the one key of that name (inside a JSON string its
    quotes would be escaped); if it sits in a nested object, the top level has none and the
    line is skipped either way; a name with escapes, or several, is parsed."""
    loads = json.loads
    named = _SCHEMA_NAMED.search
    for number, text in enumerate(stored_file_lines(path), start=1):
        if not text.strip():
            continue
        if keep is None:
            yield validate_line(number, text)
            continue
        if text.count('"schema"') == 1:
            found = named(text)
            if found is not None and not keep(found.group(1)):
                continue
        try:
            data = loads(text)
        except ValueError:
            continue
        if isinstance(data, dict) and keep(data.get("schema")):
            yield validate_data(Row(line=number, raw=text), data)


def validate_line(number: int, text: str) -> Row:
    row = Row(line=number, raw=text)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        row.refusal = ("", f"not JSON: {exc.msg} (column {exc.colno})")
        return row
    if not isinstance(data, dict):
        row.refusal = ("", "not a JSON object")
        return row
    return validate_data(row, data)


def validate_data(row: Row, data: dict) -> Row:
    """Check one FtM entity (a dict) against the model; the other formats' readers build
    such dicts and pass them here, so every format meets the one set of rules."""
    row.data = data  # kept even when refused: its id still counts as listed in the file
    schema = model.get(data.get("schema") or "")
    if schema is None:
        row.refusal = ("schema", f"unknown FollowTheMoney schema {data.get('schema')!r}")
        return row
    if not isinstance(data.get("id"), str) or not data["id"].strip():
        row.refusal = ("id", "an entity needs an id")
        return row
    properties = data.get("properties") or {}
    if not isinstance(properties, dict):
        row.refusal = ("properties", "properties must be an object")
        return row
    for name, values in properties.items():
        if schema.get(name) is None:
            row.refusal = (name, f"{schema.name} has no property {name!r}")
            return row
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            row.refusal = (name, "values must be a list of strings")
            return row
    data["schema"] = schema.name  # the model's own name of it (its caption: Row.caption)
    return row


@functools.lru_cache(maxsize=None)
def _name_first(schema: str) -> bool:
    return model.get(schema).caption[:1] == ["name"]


def is_entity_ref(schema: str, prop: str) -> bool:
    prop_ = model.get(schema).get(prop)
    return prop_ is not None and prop_.type.name == "entity"


def is_identifier(schema: str, prop: str) -> bool:
    prop_ = model.get(schema).get(prop)
    return prop_ is not None and prop_.type.name == "identifier"


def country_code(value: str) -> str:
    code = (value or "").strip().upper()
    if len(code) != 2:
        return ""
    try:
        validate_country_code(code)
    except Exception:  # noqa: BLE001 - not an ISO code (e.g. "suhh"): kept as a fact instead
        return ""
    return code


def partial_date(value: str) -> str:
    """FtM dates are ISO prefixes ("2023", "2023-02", "2023-02-24T10:00"); ours are the date part."""
    match = DATE.match(value or "")
    return match.group(0) if match else ""


def decimal(value: str) -> Decimal | None:
    try:
        number = Decimal((value or "").replace(",", "").strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def currency(value: str) -> str:
    code = (value or "").strip().upper()
    try:
        validate_currency(code)
    except Exception:  # noqa: BLE001
        return ""
    return code


@dataclass
class Unmapped:
    """What the mapping kept without a column of its own (never dropped silently)."""

    facts: dict[str, int] = field(default_factory=dict)
    identifiers: dict[str, int] = field(default_factory=dict)
    attributes: dict[str, int] = field(default_factory=dict)
    schemas: dict[str, int] = field(default_factory=dict)
    matched: dict[str, int] = field(default_factory=dict)  # joined to entities we had, by which strong id
    notes: dict[str, int] = field(default_factory=dict)  # what a format's check noticed (not refusals)

    def count(self, bucket: str, key: str) -> None:
        target = getattr(self, bucket)
        target[key] = target.get(key, 0) + 1

    def as_dict(self) -> dict:
        return {"facts": self.facts, "identifiers": self.identifiers, "attributes": self.attributes,
                "schemas": self.schemas, "matched": self.matched, "notes": self.notes}
