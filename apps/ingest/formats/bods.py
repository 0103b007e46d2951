"""BODS 0.4: person, entity and relationship statements (a JSON array; .gz accepted).

Stages of this format (register, resolve, stage and publish are the shared machinery's):
- parse: the file is read with the line of every JSON pointer (jsonpos) and validated as a
  whole with jsonschema against the BODS 0.4 schema kept offline by bin/setup (its five
  files registered by `$id`; nothing is fetched). A statement the schema refuses is refused
  with its pointer; the others go in, in `statementDate` order, so a later statement of the
  same record (recordStatus updated/closed) makes a new version of what the earlier made.
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
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from apps.ingest import ftm
from apps.ingest.formats import Checked, FormatRefused, check_rows, entity_row, jsonpos, read_json, schema_dir

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
    name = options.get("file_name") or path.name
    data, lines, text = read_json(path, name)
    if not isinstance(data, list) or not all(isinstance(s, dict) and s.get("recordType") for s in data) or not data:
        raise FormatRefused(f"{name}: not BODS 0.4: the file must be an array of statements "
                            "(objects with a recordType)")

    def at(pointer: str, fallback: str = "") -> tuple[int, str]:
        line = lines.get(pointer) or lines.get(fallback) or 1
        return line, text[line - 1]

    refused: dict[int, tuple[str, str]] = {}
    for error in _validator().iter_errors(data):
        path_ = list(error.absolute_path)
        index = path_[0] if path_ and isinstance(path_[0], int) else None
        pointer = "".join(f"/{jsonpos.escape(str(p))}" for p in path_)
        if index is None:
            raise FormatRefused(f"{name}: not BODS 0.4: {pointer or '/'}: {error.message}")
        refused.setdefault(index, (pointer, f"not BODS 0.4: {error.message}"))
    for index, (pointer, why) in sorted(refused.items()):
        line, raw = at(pointer)
        yield ftm.Row(line=line, raw=raw, refusal=(pointer, why))

    good = [(i, s) for i, s in enumerate(data) if i not in refused]
    kinds = {s["recordId"]: s for _, s in good}  # a record's latest statement says what it is
    ordered = sorted(good, key=lambda item: (str(item[1].get("statementDate") or ""), item[0]))
    for index, statement in ordered:
        yield from _rows(index, statement, kinds, at)


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


def _rows(index: int, statement: dict, kinds: dict, at):
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
        line, raw = at(pointer, base)
        row = entity_row(line, raw, {"id": record_id, "schema": schema,
                                     "properties": {k: v for k, v in props.items() if v}})
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
        line, raw = at(f"{base}/recordDetails/interestedParty/reason", base)
        row = entity_row(line, raw, {"id": record_id, "schema": "Note",
                                     "properties": {"entity": [subject], "description": [text]}})
        row.attributes = {**common, "fact_field": "beneficial owner", "fact_text": text}
        yield row
        return
    party_kind = kinds.get(party) or {}
    state = ((party_kind.get("recordDetails") or {}).get("entityType") or {}).get("type") in ("state", "stateBody")
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
        line, raw = at(pointer, here)
        row = entity_row(line, raw, {"id": f"{record_id}/{i}", "schema": schema,
                                     "properties": {k: [v for v in vs if v] for k, vs in props.items()
                                                    if any(vs)}})
        row.attributes = attributes
        yield row


def check(path: Path, options: dict) -> Checked:
    return check_rows(parse(path, options))
