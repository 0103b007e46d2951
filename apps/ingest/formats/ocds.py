"""OCDS 1.1: release packages, record packages, bare releases (one or a list).

Stages of this format (register, resolve, stage and publish are the shared machinery's):
- parse: the JSON is read with the line of every JSON pointer (jsonpos); each release is
  validated with jsonschema against the OCDS 1.1 release schema kept offline by bin/setup
  (no URL is ever fetched: not the schema's, not an extension's); the releases of one
  `ocid` are compiled with ocdsmerge (a record package's compiledRelease is used when its
  releases are only linked). Then, from the compiled release:
    parties -> entities by role (buyer, procuringEntity, payer -> public body; supplier,
               tenderer, payee -> company), their OCDS identifier a strong id;
    tender  -> the contract the awards belong to (buyer, title, procedure);
    awards and contracts -> contract records, one per supplier (value, currency, date,
               status, procedure), citing the release id, the JSON pointer and the exact
               line holding the value.
- check: counts, ids, refused releases (with their pointer); keys the schema does not know
  (such as a database `_id`) are noted with their pointer, never fatal.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from apps.ingest import ftm
from apps.ingest.formats import Checked, FormatRefused, check_rows, entity_row, jsonpos, read_json, schema_dir

SUFFIX = ".json"
NEEDS_MAPPING = False
# A file is not a complete export: a release package carries some releases of some processes, not the whole dataset, so
# items missing from it are not "no longer listed".
COMPLETE_EXPORT = False
PUBLIC_ROLES = {"buyer", "procuringEntity", "payer"}
SUPPLIER_ROLES = {"supplier", "tenderer", "payee"}
PACKAGE_KEYS = {"uri", "version", "extensions", "publishedDate", "publisher", "license", "publicationPolicy",
                "releases", "records", "packages"}
RECORD_KEYS = {"ocid", "releases", "compiledRelease", "versionedRelease"}


def default_dataset(path: Path, options: dict) -> str:
    return "ocds"  # items are keyed by ocid, which is unique across publishers


@lru_cache(maxsize=1)
def release_schema() -> dict:
    path = schema_dir() / "ocds-1.1" / "release-schema.json"
    if not path.exists():
        raise FormatRefused(f"the OCDS release schema is missing ({path}); run bin/setup")
    return json.loads(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _validator():
    from jsonschema import Draft4Validator

    return Draft4Validator(release_schema())


@lru_cache(maxsize=1)
def _merger():
    import ocdsmerge

    return ocdsmerge.Merger(schema=release_schema())


def releases_of(data, name: str) -> tuple[dict[str, list[tuple[dict, str]]], dict[str, tuple[dict, str]], list[str]]:
    """({ocid: [(release, pointer)]}, {ocid: (compiledRelease, pointer)} for linked-only
    records, notes). Refuses a file that is none of OCDS's shapes."""
    by_ocid: dict[str, list[tuple[dict, str]]] = {}
    compiled: dict[str, tuple[dict, str]] = {}
    notes: list[str] = []
    if isinstance(data, dict) and isinstance(data.get("records"), list):
        notes += [f"/{k}" for k in data if k not in PACKAGE_KEYS]
        for i, record in enumerate(data["records"]):
            if not isinstance(record, dict) or not record.get("ocid"):
                raise FormatRefused(f"{name}: /records/{i}: a record needs its ocid")
            notes += [f"/records/{i}/{k}" for k in record if k not in RECORD_KEYS]
            embedded = [(r, f"/records/{i}/releases/{j}") for j, r in enumerate(record.get("releases") or [])
                        if isinstance(r, dict) and r.get("ocid")]
            if embedded:
                by_ocid.setdefault(record["ocid"], []).extend(embedded)
            elif isinstance(record.get("compiledRelease"), dict):
                compiled[record["ocid"]] = (record["compiledRelease"], f"/records/{i}/compiledRelease")
    elif isinstance(data, dict) and isinstance(data.get("releases"), list):
        notes += [f"/{k}" for k in data if k not in PACKAGE_KEYS]
        for i, release in enumerate(data["releases"]):
            by_ocid.setdefault((release or {}).get("ocid") or "", []).append((release, f"/releases/{i}"))
    elif isinstance(data, dict) and data.get("ocid"):
        by_ocid[data["ocid"]] = [(data, "")]
    elif isinstance(data, list) and data and all(isinstance(r, dict) and r.get("ocid") for r in data):
        for i, release in enumerate(data):
            by_ocid.setdefault(release["ocid"], []).append((release, f"/{i}"))
    else:
        raise FormatRefused(f"{name}: not OCDS: neither a release package, a record package nor a release "
                            "(no 'releases', 'records' or 'ocid')")
    return by_ocid, compiled, notes


def _unknown_keys(value, schema: dict, pointer: str, out: list[str], root: dict) -> None:
    """Keys the release schema does not describe (e.g. a database `_id`): noted, kept aside."""
    while "$ref" in schema:
        schema = root["definitions"][schema["$ref"].rsplit("/", 1)[-1]]
    if isinstance(value, dict) and "properties" in schema:
        for key, child in value.items():
            if key in schema["properties"]:
                _unknown_keys(child, schema["properties"][key], f"{pointer}/{jsonpos.escape(key)}", out, root)
            elif not schema.get("patternProperties"):
                out.append(f"{pointer}/{jsonpos.escape(key)}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            _unknown_keys(item, schema["items"], f"{pointer}/{i}", out, root)


def parse(path: Path, options: dict, *, notes: list[str] | None = None):
    name = options.get("file_name") or path.name
    data, lines, text = read_json(path, name)
    by_ocid, compiled_only, found = releases_of(data, name)
    if notes is not None:
        notes.extend(found)

    def row_at(pointer: str) -> tuple[int, str]:
        line = lines.get(pointer) or 1
        return line, text[line - 1]

    schema = release_schema()
    for ocid, releases in by_ocid.items():
        good = []
        for release, pointer in releases:
            errors = sorted(_validator().iter_errors(release), key=lambda e: list(e.absolute_path))
            if not ocid:
                line, raw = row_at(pointer)
                yield ftm.Row(line=line, raw=raw, refusal=(pointer or "/", "a release needs its ocid"))
                continue
            if errors:
                error = errors[0]
                where = pointer + "".join(f"/{jsonpos.escape(str(p))}" for p in error.absolute_path)
                line, raw = row_at(where)
                more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
                yield ftm.Row(line=line, raw=raw, refusal=(where or "/", f"not OCDS 1.1: {error.message}{more}"))
                continue
            if notes is not None:
                _unknown_keys(release, schema, pointer, notes, schema)
            good.append((release, pointer))
        if not good:
            continue
        ordered = sorted(good, key=lambda rp: str(rp[0].get("date") or ""))
        compiled = _merger().create_compiled_release([r for r, _ in ordered])
        yield from _rows(ocid, compiled, list(reversed(ordered)), row_at)
    for ocid, (release, pointer) in compiled_only.items():
        if notes is not None:
            notes.append(f"{pointer}: linked releases not followed; the compiled release is imported")
        yield from _rows(ocid, release, [(release, pointer)], row_at)


def _origin(latest_first, array: str, item_id, leaf: tuple[str, ...], row_at) -> tuple[str, str, int, str]:
    """(release id, pointer, line, raw) of the latest release holding `array` item `item_id`,
    pointing at the first of `leaf` it has (e.g. value/amount)."""
    for release, pointer in latest_first:
        items = release
        for part in array.split("/"):
            items = items.get(part) if isinstance(items, dict) else None
        if not isinstance(items, list):
            continue
        for i, item in enumerate(items):
            if isinstance(item, dict) and str(item.get("id")) == str(item_id):
                base = f"{pointer}/{array}/{i}"
                for path in leaf:
                    node = item
                    for part in path.split("/"):
                        node = node.get(part) if isinstance(node, dict) else None
                    if node not in (None, ""):
                        target = f"{base}/{path}"
                        break
                else:
                    target = base
                line, raw = row_at(target)
                return str(release.get("id") or ""), target, line, raw
    release, pointer = latest_first[0]
    line, raw = row_at(pointer)
    return str(release.get("id") or ""), pointer, line, raw


def _date(value) -> list[str]:
    return [str(value)[:10]] if value else []


def _rows(ocid: str, release: dict, latest_first, row_at):
    parties = {str(p.get("id")): p for p in release.get("parties") or [] if isinstance(p, dict) and p.get("id")}
    buyer = (release.get("buyer") or {}).get("id") or next(
        (pid for pid, p in parties.items() if "buyer" in (p.get("roles") or [])), None)
    party_ids: dict[str, str] = {}
    for pid, party in parties.items():
        roles = set(party.get("roles") or [])
        schema = "PublicBody" if roles & PUBLIC_ROLES or pid == buyer else "Company"
        identifier = party.get("identifier") or {}
        strong = f"{identifier.get('scheme')}-{identifier.get('id')}" if identifier.get("id") else ""
        # The same identifier in another process is the same party: it keys the item.
        external = f"ocds-party:{strong}" if strong else f"{ocid}/party/{pid}"
        party_ids[pid] = external
        props = {"name": [party.get("name") or identifier.get("legalName") or pid]}
        if identifier.get("legalName") and identifier["legalName"] != props["name"][0]:
            props["alias"] = [identifier["legalName"]]
        if strong:
            props["registrationNumber"] = [strong]
        country = ((party.get("address") or {}).get("countryName") or "").strip()
        if country:
            props["country"] = [country]
        release_id, pointer, line, raw = _origin(latest_first, "parties", pid, ("name",), row_at)
        row = entity_row(line, raw, {"id": external, "schema": schema, "properties": props})
        row.attributes = {"ocds": "party", "ocid": ocid, "release_id": release_id, "json_pointer": pointer,
                          "roles": sorted(roles)}
        yield row
    tender = release.get("tender") or {}
    method = (tender.get("procurementMethod"), tender.get("procurementMethodDetails"))
    procedure = " — ".join(str(v) for v in method if v)
    contract_id = f"{ocid}/tender"
    if buyer and str(buyer) in party_ids:
        props = {"authority": [party_ids[str(buyer)]], "title": [tender.get("title") or ocid]}
        if procedure:
            props["procedure"] = [procedure]
        line, raw = row_at(latest_first[0][1] + "/tender" if tender else latest_first[0][1])
        yield entity_row(line, raw, {"id": contract_id, "schema": "Contract", "properties": props})
    awards = {str(a.get("id")): a for a in release.get("awards") or [] if isinstance(a, dict)}
    for kind, objects in (("award", awards.values()), ("contract", release.get("contracts") or [])):
        for obj in objects:
            if not isinstance(obj, dict) or not obj.get("id"):
                continue
            suppliers = obj.get("suppliers") or (awards.get(str(obj.get("awardID"))) or {}).get("suppliers") or []
            leaf = ("dateSigned", "value/amount", "id") if kind == "contract" else ("value/amount", "date", "id")
            release_id, pointer, line, raw = _origin(latest_first, f"{kind}s", obj["id"], leaf, row_at)
            value = obj.get("value") or {}
            for supplier in suppliers:
                sid = str((supplier or {}).get("id"))
                if sid not in party_ids:
                    continue
                props = {"contract": [contract_id], "supplier": [party_ids[sid]]}
                if value.get("amount") is not None:
                    props["amount"] = [_amount(value["amount"])]
                if value.get("currency"):
                    props["currency"] = [value["currency"]]
                date = obj.get("dateSigned") if kind == "contract" else obj.get("date")
                props["date"] = _date(date) or _date((obj.get("period") or {}).get("startDate"))
                if (obj.get("period") or {}).get("endDate"):
                    props["endDate"] = _date(obj["period"]["endDate"])
                if obj.get("status"):
                    props["status"] = [str(obj["status"])]
                if obj.get("title") or obj.get("description"):
                    props["summary"] = [str(obj.get("title") or obj.get("description"))]
                props["recordId"] = [release_id]
                props = {k: v for k, v in props.items() if v}
                row = entity_row(line, raw, {"id": f"{ocid}/{kind}/{obj['id']}/{sid}", "schema": "ContractAward",
                                             "properties": props})
                row.attributes = {"ocds": kind, "ocid": ocid, "release_id": release_id, "json_pointer": pointer,
                                  **({"procedure": procedure} if procedure else {})}
                yield row


def _amount(value) -> str:
    text = repr(value)
    return text[:-2] if isinstance(value, float) and text.endswith(".0") else text


def check(path: Path, options: dict) -> Checked:
    notes: list[str] = []
    checked = check_rows(parse(path, options, notes=notes))
    if notes:
        shown = ", ".join(notes[:5]) + (f", … ({len(notes) - 5} more)" if len(notes) > 5 else "")
        checked.notes[f"unknown keys kept aside: {shown}"] = len(notes)
    return checked
