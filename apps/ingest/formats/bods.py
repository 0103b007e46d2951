"""BODS 0.4: person, entity and relationship statements (a JSON array; .gz accepted).

Stages of this format (register, resolve, stage and publish are the shared machinery's):
- parse: the file is read as a stream (apps.catalog.storedjson: ijson, with the line of
  every JSON pointer), each statement validated as soon as it is read with jsonschema
  against the BODS 0.4 schema kept offline by bin/setup (its five files registered by
  `$id`; nothing is fetched) and put aside on disk. A statement the schema refuses is
  refused with its pointer and line; the others go in, in `statementDate` order, so a later
  statement of the same record (recordStatus updated/closed) makes a new version of what
  the earlier made. Each row cites its line with a locator "line N · JSON pointer".
    entity statements   -> companies / organizations; `state` -> a country, `stateBody` ->
                           a public body (so state control shows on the chain)
    person statements   -> people; an anonymous or unknown person keeps its reason as its
                           name ("unknown person: …"), never an invented one
    relationship        -> one ownership/control record per interest: exact share, or the
                           range kept as a range; directOrIndirect kept (indirect: via an
                           unknown intermediate, as the case study records it); beneficial
                           ownership flagged; a closed record ends on its statementDate
    an interested party declared unknown inline -> a fact on the subject with its reason
                           code and description, no person
- check: counts, ids, refused statements.
"""
from __future__ import annotations

import json
import re
import sqlite3
import tempfile
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from apps.catalog import storedjson as jsonpos
from apps.catalog.storedjson import Unit
from apps.ingest import ftm
from apps.ingest.formats import Checked, FormatRefused, check_rows, entity_row, json_locator, json_units, schema_dir

SUFFIX = ".json"
NEEDS_MAPPING = False
# A file is not a complete export: statements are published incrementally; a record ends by its own closed statement, so
# items missing from it are not "no longer listed".
COMPLETE_EXPORT = False
SCHEMA_FILES = ("statement", "components", "entity-record", "person-record", "relationship-record")
CONTROL_TYPES = {"votingRights", "appointmentOfBoard", "otherInfluenceOrControl", "seniorManagingOfficial",
                 "settlor", "trustee", "protector", "boardMember", "boardChair", "controlViaCompanyRulesOrArticles",
                 "controllingShareholder", "rightsToSurplusAssetsOnDissolution", "rightsToProfitOrIncome",
                 "rightsGrantedByContract", "conditionalRightsGrantedByContract", "nominee", "nominator",
                 "unknownInterest", "unpublishedInterest", "enjoymentAndUseOfAssets", "rightToProfitOrIncomeFromAssets"}


def default_dataset(path: Path, options: dict) -> str:
    return path.name.split(".")[0]


@lru_cache(maxsize=1)
def _validator():
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    folder = schema_dir() / "bods-0.4"
    resources = []
    for name in SCHEMA_FILES:
        path = folder / f"{name}.json"
        if not path.exists():
            raise FormatRefused(f"the BODS 0.4 schema is missing ({path}); run bin/setup")
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources.append((contents["$id"], Resource.from_contents(contents)))
    registry = Registry().with_resources(resources)
    root = json.loads((folder / "statement.json").read_text(encoding="utf-8"))
    return Draft202012Validator(root, registry=registry)


def parse(path: Path, options: dict):
    """The rows of the file, read as a stream: each statement is validated as soon as it is
    read and put aside on disk; then they go in by statementDate."""
    name = options.get("file_name") or path.name
    with tempfile.TemporaryDirectory(prefix="vendorgraph-bods-") as folder:
        db = sqlite3.connect(str(Path(folder) / "statements.sqlite3"))
        try:
            db.execute("CREATE TABLE s (idx INTEGER PRIMARY KEY, date TEXT, statement TEXT, lines TEXT, texts TEXT)")
            # A record's latest statement says what it is (a state, a state body, ...).
            db.execute("CREATE TABLE kind (record_id TEXT PRIMARY KEY, type TEXT)")
            yield from _read(path, name, db)
            for index, statement, lines, texts in db.execute(
                    "SELECT idx, statement, lines, texts FROM s ORDER BY date, idx"):
                unit = Unit(f"/{index}", None, json.loads(lines), {int(n): t for n, t in json.loads(texts).items()})
                yield from _rows(index, json.loads(statement), lambda party: _kind(db, party), unit)
        finally:
            db.close()


def _read(path: Path, name: str, db):
    not_bods = (f"{name}: not BODS 0.4: the file must be an array of statements "
                "(objects with a recordType)")
    count = 0
    for unit in json_units(path, name, lambda pointer: re.fullmatch(r"/\d+", pointer) is not None):
        if not unit.pointer:  # the rest of the file: an array of what was read
            if not isinstance(unit.value, list) or not count:
                raise FormatRefused(not_bods)
            continue
        statement, index = unit.value, int(unit.pointer[1:])
        if not isinstance(statement, dict) or not statement.get("recordType"):
            raise FormatRefused(not_bods)
        count += 1
        # The schema is of an array of statements: each is checked as an array of one.
        errors = list(_validator().iter_errors([statement]))
        if errors:
            error = errors[0]
            path_ = [index] + list(error.absolute_path)[1:]
            pointer = "".join(f"/{jsonpos.escape(str(p))}" for p in path_)
            line, raw = unit.at(pointer)
            yield ftm.Row(line=line, raw=raw, refusal=(pointer, f"not BODS 0.4: {error.message}"))
            continue
        kind = ((statement.get("recordDetails") or {}).get("entityType") or {}).get("type") or ""
        db.execute("INSERT OR REPLACE INTO kind VALUES (?, ?)", (str(statement["recordId"]), kind))
        db.execute("INSERT INTO s VALUES (?, ?, ?, ?, ?)",
                    (index, str(statement.get("statementDate") or ""), json.dumps(statement),
                     json.dumps(unit.lines), json.dumps({n: unit.texts.get(n, "") for n in set(unit.lines.values())})))


def _kind(db, record_id) -> str:
    found = db.execute("SELECT type FROM kind WHERE record_id = ?", (str(record_id),)).fetchone()
    return found[0] if found else ""


def _entity_schema(statement: dict) -> tuple[str, dict]:
    details = statement.get("recordDetails") or {}
    if statement["recordType"] == "person":
        return "Person", {}
    kind = ((details.get("entityType") or {}).get("type")) or ""
    if kind == "state":
        return "PublicBody", {"entity_kind": "country"}
    if kind == "stateBody":
        return "PublicBody", {}
    if kind == "registeredEntity":
        return "Company", {}
    return "LegalEntity", {}


def _rows(index: int, statement: dict, kind_of, unit: Unit):
    def at(pointer: str, fallback: str) -> tuple[int, str, str]:
        """(line, its text, the locator) of `pointer`, or of `fallback` when the statement
        has no such value."""
        pointer = pointer if pointer in unit.lines else fallback
        line, raw = unit.at(pointer)
        return line, raw, json_locator(line, pointer)

    base = f"/{index}"
    details = statement.get("recordDetails") or {}
    record_id = statement["recordId"]
    common = {"bods_statement_id": statement.get("statementId"), "bods_record_status": statement.get("recordStatus"),
              "statement_date": statement.get("statementDate"), "json_pointer": base}
    closed = statement.get("recordStatus") == "closed"
    if statement["recordType"] in ("entity", "person"):
        schema, extra = _entity_schema(statement)
        props: dict[str, list[str]] = {}
        if statement["recordType"] == "person":
            names = [n.get("fullName") or " ".join(filter(None, (n.get("givenName"), n.get("familyName"))))
                     for n in details.get("names") or []]
            names = [n for n in names if n]
            if not names:  # anonymous or unknown: kept with its reason, no invented name
                reason = (details.get("unspecifiedPersonDetails") or {}).get("reason") or details.get("personType")
                names = [f"unknown person: {reason}"]
            props["name"], pointer = names[:1], f"{base}/recordDetails/names/0/fullName"
            props["alias"] = names[1:]
            props["nationality"] = [n["code"].lower() for n in details.get("nationalities") or [] if n.get("code")]
            props["birthDate"] = [details["birthDate"]] if details.get("birthDate") else []
        else:
            name = details.get("name") or ""
            if not name:
                reason = (details.get("unspecifiedEntityDetails") or {}).get("reason") or \
                         (details.get("entityType") or {}).get("type")
                name = f"unknown entity: {reason}"
            props["name"], pointer = [name], f"{base}/recordDetails/name"
            code = (details.get("jurisdiction") or {}).get("code") or ""
            props["jurisdiction"] = [code.lower()] if code else []
            props["incorporationDate"] = [details["foundingDate"]] if details.get("foundingDate") else []
            if details.get("dissolutionDate") or closed:
                props["dissolutionDate"] = [details.get("dissolutionDate") or statement.get("statementDate")]
            for identifier in details.get("identifiers") or []:
                if identifier.get("id"):
                    scheme = identifier.get("scheme") or identifier.get("schemeName") or ""
                    props.setdefault("registrationNumber", []).append(f"{scheme}-{identifier['id']}" if scheme
                                                                      else identifier["id"])
            if extra.get("entity_kind") == "country" and code:
                extra["iso_code"] = code.upper()
        line, raw, locator = at(pointer, base)
        row = entity_row(line, raw, {"id": record_id, "schema": schema,
                                     "properties": {k: v for k, v in props.items() if v}}, locator)
        row.attributes = {**common, **extra}
        yield row
        return
    subject = details.get("subject")
    party = details.get("interestedParty")
    if isinstance(party, dict):
        # Declared unknown: a fact on the subject with the reason code, never a person.
        text = f"unknown person: {party.get('reason') or 'unspecified'}"
        if party.get("description"):
            text += f" — {party['description']}"
        line, raw, locator = at(f"{base}/recordDetails/interestedParty/reason", base)
        row = entity_row(line, raw, {"id": record_id, "schema": "Note",
                                     "properties": {"entity": [subject], "description": [text]}}, locator)
        row.attributes = {**common, "fact_field": "beneficial owner", "fact_text": text}
        yield row
        return
    state = kind_of(party) in ("state", "stateBody")
    for i, interest in enumerate(details.get("interests") or [{}]):
        here = f"{base}/recordDetails/interests/{i}"
        kind = interest.get("type") or "unknownInterest"
        schema = "Ownership" if kind == "shareholding" else "Control"
        ends = {"owner": [party], "asset": [subject]} if schema == "Ownership" else \
               {"controller": [party], "controlled": [subject]}
        props = {**ends, "startDate": [interest["startDate"]] if interest.get("startDate") else [],
                 "endDate": [interest.get("endDate") or (statement.get("statementDate") if closed else "")],
                 "role": [kind]}
        attributes = {**common, "interest_type": kind, "json_pointer": here,
                      "beneficial_ownership": bool(interest.get("beneficialOwnershipOrControl"))}
        share = interest.get("share") or {}
        if share.get("exact") is not None and schema == "Ownership":
            props["percentage"] = [str(Decimal(str(share["exact"])))]
        elif share.get("exact") is not None:
            attributes["share_pct"] = str(share["exact"])
        elif {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"} & set(share):
            # A range stays a range (the effective share is then a range too); which of its
            # ends are exclusive is kept.
            low = share.get("minimum", share.get("exclusiveMinimum"))
            high = share.get("maximum", share.get("exclusiveMaximum"))
            attributes["share_range"] = [low, high]
            attributes["share_range_exclusive"] = ["exclusiveMinimum" in share, "exclusiveMaximum" in share]
        direct = interest.get("directOrIndirect") or "unknown"
        attributes["direct"] = {"direct": True, "indirect": False}.get(direct)
        if direct == "indirect":
            attributes["via_unknown_intermediate"] = True
        if state:
            attributes["state_control"] = True
        pointer = f"{here}/share" if interest.get("share") else f"{here}/type"
        line, raw, locator = at(pointer, here)
        row = entity_row(line, raw, {"id": f"{record_id}/{i}", "schema": schema,
                                     "properties": {k: [v for v in vs if v] for k, vs in props.items()
                                                    if any(vs)}}, locator)
        row.attributes = attributes
        yield row


def check(path: Path, options: dict) -> Checked:
    return check_rows(parse(path, options))
