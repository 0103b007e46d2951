"""OCDS 1.1: release packages, record packages, bare releases (one or a list).

Stages of this format (register, resolve, stage and publish are the shared machinery's):
- parse: the file is read as a stream (apps.catalog.storedjson: ijson, with the line of
  every JSON pointer); each release is validated as soon as it is read, with jsonschema
  against the OCDS 1.1 release schema kept offline by bin/setup (no URL is ever fetched:
  not the schema's, not an extension's), and put aside on disk by ocid; then the releases
  of each `ocid` are compiled with ocdsmerge (a record package's compiledRelease is used
  when its releases are only linked). From the compiled release:
    parties -> entities by role (buyer, procuringEntity, payer -> public body; supplier,
               tenderer, payee -> company), their OCDS identifier a strong id;
    tender  -> the contract the awards belong to (buyer, title, procedure);
    awards and contracts -> contract records, one per supplier (value, currency, date,
               status, procedure), citing the exact line holding the value with a locator
               "line N · JSON pointer · release id" that the citation check re-reads;
    planning budget, items, documents, milestones, amendments -> kept as they are in the
               contract records' attributes ("planning/budget", "tender/items",
               "award/documents", ...) and listed in the summary as not mapped.
- check: counts, ids, refused releases (with their pointer and line); keys the schema does
  not know (such as a database `_id`) are noted with their pointer, never fatal.
"""
from __future__ import annotations

import json
import re
import sqlite3
import tempfile
from functools import lru_cache
from pathlib import Path

from apps.catalog import storedjson as jsonpos
from apps.ingest import ftm
from apps.ingest.formats import Checked, FormatRefused, check_rows, entity_row, json_locator, json_units, schema_dir

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


# The values built whole while the file is read: a release of a package (or of a bare list),
# a record of a record package. Nothing larger is ever held.
UNIT = re.compile(r"/(?:releases|records)/\d+|/\d+")
# Parts of a release with no noun of ours, kept with each contract record as attributes named by
# their place ("tender/items", "contract/implementation") and listed in the summary as not mapped.
KEPT_PARTS = ("budget", "items", "documents", "milestones", "amendments", "implementation", "relatedProcesses")


class Report:
    """What a read of the file observed besides its rows: unknown keys (pointers) and the
    OCDS parts kept as attributes rather than mapped ({part: count})."""

    def __init__(self):
        self.unknown: list[str] = []
        self.kept: dict[str, int] = {}


class _Spill:
    """Releases on disk (a temporary SQLite file) by ocid, so that the releases of one
    process are compiled together without holding the file's releases in memory."""

    def __init__(self, folder: str):
        self.db = sqlite3.connect(str(Path(folder) / "releases.sqlite3"))
        self.db.execute("CREATE TABLE r (seq INTEGER PRIMARY KEY, ocid TEXT, compiled INTEGER, pointer TEXT, "
                        "release TEXT, lines TEXT, texts TEXT)")
        self.db.execute("CREATE INDEX r_ocid ON r (ocid, seq)")

    def add(self, ocid: str, release: dict, pointer: str, unit, *, compiled: bool = False) -> None:
        lines = {p: n for p, n in unit.lines.items() if p == pointer or p.startswith(pointer + "/")}
        texts = {n: unit.texts.get(n, "") for n in set(lines.values())}
        self.db.execute("INSERT INTO r (ocid, compiled, pointer, release, lines, texts) VALUES (?, ?, ?, ?, ?, ?)",
                        (ocid, int(compiled), pointer, json.dumps(release), json.dumps(lines), json.dumps(texts)))

    def groups(self, *, compiled: bool):
        ocids = [o for (o,) in self.db.execute(
            "SELECT ocid FROM r WHERE compiled = ? GROUP BY ocid ORDER BY MIN(seq)", (int(compiled),))]
        for ocid in ocids:
            releases, lines, texts = [], {}, {}
            for pointer, release, line_map, text_map in self.db.execute(
                    "SELECT pointer, release, lines, texts FROM r WHERE ocid = ? AND compiled = ? ORDER BY seq",
                    (ocid, int(compiled))):
                releases.append((json.loads(release), pointer))
                lines.update(json.loads(line_map))
                texts.update({int(n): t for n, t in json.loads(text_map).items()})
            yield ocid, releases, lines, texts

    def close(self):
        self.db.close()


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


def parse(path: Path, options: dict, *, report: Report | None = None):
    """The rows of the file, read as a stream: each release is validated as soon as it is
    read and put aside on disk by ocid; then the releases of each ocid are compiled."""
    name = options.get("file_name") or path.name
    report = report if report is not None else Report()
    with tempfile.TemporaryDirectory(prefix="vendorgraph-ocds-") as folder:
        spill = _Spill(folder)
        try:
            yield from _read(path, name, spill, report)
            yield from _compile(spill, report)
        finally:
            spill.close()


def _read(path: Path, name: str, spill: _Spill, report: Report):
    shape = set()
    for unit in json_units(path, name, lambda pointer: UNIT.fullmatch(pointer) is not None):
        value, pointer = unit.value, unit.pointer
        if pointer.startswith("/records/"):
            shape.add("records")
            if not isinstance(value, dict) or not value.get("ocid"):
                raise FormatRefused(f"{name}: {pointer}: a record needs its ocid")
            report.unknown += [f"{pointer}/{jsonpos.escape(k)}" for k in value if k not in RECORD_KEYS]
            embedded = [(r, f"{pointer}/releases/{j}") for j, r in enumerate(value.get("releases") or [])
                        if isinstance(r, dict) and r.get("ocid")]
            for release, where in embedded:
                yield from _take(release, where, unit, spill, report)
            if not embedded and isinstance(value.get("compiledRelease"), dict):
                spill.add(value["ocid"], value["compiledRelease"], f"{pointer}/compiledRelease", unit, compiled=True)
        elif pointer.startswith("/releases/"):
            shape.add("releases")
            yield from _take(value if isinstance(value, dict) else {}, pointer, unit, spill, report)
        elif pointer:  # an item of a bare list of releases
            shape.add("list")
            if not isinstance(value, dict) or not value.get("ocid"):
                raise FormatRefused(f"{name}: not OCDS: {pointer} is not a release (no 'ocid')")
            yield from _take(value, pointer, unit, spill, report)
        else:  # the rest of the file: a package's metadata, or a bare release
            root = value
            if isinstance(root, dict) and ("records" in shape or isinstance(root.get("records"), list)
                                           or "releases" in shape or isinstance(root.get("releases"), list)):
                report.unknown += [f"/{jsonpos.escape(k)}" for k in root if k not in PACKAGE_KEYS]
            elif isinstance(root, dict) and root.get("ocid"):
                yield from _take(root, "", unit, spill, report)
            elif not (isinstance(root, list) and root and "list" in shape):
                raise FormatRefused(f"{name}: not OCDS: neither a release package, a record package nor a release "
                                    "(no 'releases', 'records' or 'ocid')")


def _take(release: dict, pointer: str, unit, spill: _Spill, report: Report):
    """Validate one release (refused rows name its pointer and line) and put it aside."""
    ocid = release.get("ocid") or ""
    if not ocid:
        line, raw = unit.at(pointer)
        yield ftm.Row(line=line, raw=raw, refusal=(pointer or "/", "a release needs its ocid"))
        return
    errors = sorted(_validator().iter_errors(release), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        where = pointer + "".join(f"/{jsonpos.escape(str(p))}" for p in error.absolute_path)
        line, raw = unit.at(where, pointer)
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        yield ftm.Row(line=line, raw=raw, refusal=(where or "/", f"not OCDS 1.1: {error.message}{more}"))
        return
    schema = release_schema()
    _unknown_keys(release, schema, pointer, report.unknown, schema)
    spill.add(ocid, release, pointer, unit)


def _compile(spill: _Spill, report: Report):
    for ocid, releases, lines, texts in spill.groups(compiled=False):
        row_at = _row_at(lines, texts)
        ordered = sorted(releases, key=lambda rp: str(rp[0].get("date") or ""))
        compiled = _merger().create_compiled_release([r for r, _ in ordered])
        yield from _rows(ocid, compiled, list(reversed(ordered)), row_at, report)
    for ocid, releases, lines, texts in spill.groups(compiled=True):
        for release, pointer in releases:
            report.unknown.append(f"{pointer}: linked releases not followed; the compiled release is imported")
            yield from _rows(ocid, release, [(release, pointer)], _row_at(lines, texts), report)


def _row_at(lines: dict[str, int], texts: dict[int, str]):
    def row_at(pointer: str) -> tuple[int, str]:
        line = lines.get(pointer) or 1
        return line, texts.get(line, "")

    return row_at


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


def _rows(ocid: str, release: dict, latest_first, row_at, report: Report):
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
        row = entity_row(line, raw, {"id": external, "schema": schema, "properties": props},
                         json_locator(line, pointer, release_id))
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
        latest, where = latest_first[0][0], latest_first[0][1] + ("/tender" if tender else "")
        line, raw = row_at(where)
        yield entity_row(line, raw, {"id": contract_id, "schema": "Contract", "properties": props},
                         json_locator(line, where, str(latest.get("id") or "")))
    process = _kept(release, ("planning", "tender"), report)
    made = 0
    awards = {str(a.get("id")): a for a in release.get("awards") or [] if isinstance(a, dict)}
    for kind, objects in (("award", awards.values()), ("contract", release.get("contracts") or [])):
        for obj in objects:
            if not isinstance(obj, dict) or not obj.get("id"):
                continue
            suppliers = obj.get("suppliers") or (awards.get(str(obj.get("awardID"))) or {}).get("suppliers") or []
            leaf = ("dateSigned", "value/amount", "id") if kind == "contract" else ("value/amount", "date", "id")
            release_id, pointer, line, raw = _origin(latest_first, f"{kind}s", obj["id"], leaf, row_at)
            value = obj.get("value") or {}
            own = _kept(obj, (kind,), report)
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
                                             "properties": props}, json_locator(line, pointer, release_id))
                row.attributes = {"ocds": kind, "ocid": ocid, "release_id": release_id, "json_pointer": pointer,
                                  **({"procedure": procedure} if procedure else {}), **process, **own}
                made += 1
                yield row
    if not made:
        # A planning or tender stage without an award naming a supplier of the file: no
        # contract record of ours can say it (a record joins a buyer and a supplier).
        report.kept["processes without an award or contract to a supplier (not imported)"] = \
            report.kept.get("processes without an award or contract to a supplier (not imported)", 0) + 1


def _kept(obj: dict, path: tuple[str, ...], report: Report) -> dict:
    """The parts of `obj` with no noun of ours (planning budget, items, documents,
    milestones, amendments), kept as they are, as record attributes named by their place
    (e.g. "tender/items"), each counted in the summary as not mapped."""
    kept = {}
    if path == ("planning", "tender"):
        for stage in path:
            part = obj.get(stage)
            if isinstance(part, dict):
                kept.update(_kept(part, (stage,), report))
        return kept
    for key in KEPT_PARTS:
        value = obj.get(key)
        if value in (None, [], {}, ""):
            continue
        name = f"{path[0]}/{key}"
        kept[name] = value
        report.kept[name] = report.kept.get(name, 0) + 1
    return kept


def _amount(value) -> str:
    text = repr(value)
    return text[:-2] if isinstance(value, float) and text.endswith(".0") else text


def check(path: Path, options: dict) -> Checked:
    report = Report()
    checked = check_rows(parse(path, options, report=report))
    notes = report.unknown
    if notes:
        shown = ", ".join(notes[:5]) + (f", … ({len(notes) - 5} more)" if len(notes) > 5 else "")
        checked.notes[f"unknown keys kept aside: {shown}"] = len(notes)
    for part, count in sorted(report.kept.items()):
        label = part if part.startswith("processes") else f"{part}: kept with the contract records, not mapped"
        checked.notes[label] = count
    return checked
