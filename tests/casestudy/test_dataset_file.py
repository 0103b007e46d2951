"""Integrity checks for the curated case-study dataset (data/casestudy/*.json).

Plain pytest, no Django: run with
    .venv/bin/python -m pytest tests/casestudy/test_dataset_file.py -p no:django

The dataset format is documented in data/casestudy/README.md. These tests fail on:
quotes not found verbatim in their stored source text, records without citations,
references to unknown entity/source/record keys, malformed or unsupported dates,
amounts not stated in a quote, duplicate keys, invalid ISO 3166-1 codes and
unknown kinds / vocabulary values.
"""
import json
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CASESTUDY_DIR = REPO / "data" / "casestudy"
SOURCES_DIR = CASESTUDY_DIR / "sources"
DATASETS = sorted(CASESTUDY_DIR.glob("*.json"))

FORMAT = "vendorgraph-casestudy/1"

TOP_KEYS = ["format", "sources", "entities", "records"]
SOURCE_KEYS = ["key", "file", "title", "publisher", "author", "published", "url", "language", "citations"]
ENTITY_KEYS = ["key", "kind", "name", "country", "iso_code", "state_owned", "description", "aliases", "facts", "citations"]
RECORD_KEYS = ["key", "kind", "subject", "object", "site", "party", "related", "title", "description", "start", "end",
               "amount", "currency", "amount_kind", "status", "attributes", "citations"]
CITATION_KEYS = ["source", "quote", "supports"]  # "supports" optional

ENTITY_KINDS = {"company", "person", "public_body", "organization", "country", "site"}
RECORD_KINDS = {"ownership", "role", "contract", "ban", "loan", "donation", "deployment", "investigation",
                "court_case", "statement"}
STATUSES = {
    "ownership": {None, "active", "ended"},
    "role": {"current", "former"},
    "contract": {None, "planned", "awarded", "cancelled", "completed", "blocked"},
    "ban": {None, "in_force", "annulled", "lifted", "expired"},
    "loan": {None, "active", "repaid"},
    "donation": {None, "announced", "delivered"},
    "deployment": {None, "active", "removed", "banned", "cancelled", "planned"},
    "investigation": {None, "open", "closed"},
    "court_case": {None, "pending", "decided"},
    "statement": {None},
}
AMOUNT_KINDS = {None, "value", "outstanding", "overpayment", "total"}
PROCEDURES = {None, "open", "simplified", "single_bidder", "no_tender", "donation_linked"}
STANCES = {"denial", "criticism", "urging", "warning", "response", "announcement", "no_response"}
SOURCE_CITATION_FIELDS = {"title", "publisher", "author", "published", "url"}
# attributes whose values are (lists of) entity keys
ENTITY_LIST_ATTRS = {"reported_by", "places", "sites", "co_signatories", "covered_by"}

KEY_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
AMOUNT_RE = re.compile(r"^\d+(?:\.\d+)?$")

try:  # pragma: no cover - depends on the environment
    import pycountry

    ISO_ALPHA2 = {c.alpha_2 for c in pycountry.countries}
except ImportError:  # ISO 3166-1 alpha-2 (249 officially assigned codes)
    ISO_ALPHA2 = set("""
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA
CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA
GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP
KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS
MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS
RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW
TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW""".split())
assert len(ISO_ALPHA2) == 249

# how a currency can be written in a quote
CURRENCY_WORDS = {"EUR": ("€", "eur", "euro"), "USD": ("usd", "$", "dollar"), "GBP": ("£", "gbp", "pound")}

# --------------------------------------------------------------------------- date parsing
MONTHS = {m: i + 1 for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"])}
MONTHS.update({m[:3]: i for m, i in list(MONTHS.items())})
MONTHS["sept"] = 9
_MON = r"(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_DATE_PATTERNS = [
    # 23.11.2023 / 23.11.2023.
    (re.compile(r"(?<!\d)(\d{1,2})\.(\d{1,2})\.(\d{4})(?!\d)"), ("d", "m", "y")),
    # 2024-04-23
    (re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)"), ("y", "m", "d")),
    # April 23, 2024 / May 8 2019
    (re.compile(_MON + r"\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})(?!\d)", re.I), ("M", "d", "y")),
    # 23 April 2024
    (re.compile(r"(?<!\d)(\d{1,2})\s+" + _MON + r",?\s+(\d{4})(?!\d)", re.I), ("d", "M", "y")),
    # February 2021
    (re.compile(r"\b" + _MON + r"\s+(?:of\s+)?(\d{4})(?!\d)", re.I), ("M", "y")),
    # October 29 (no year)
    (re.compile(r"\b" + _MON + r"\s+(\d{1,2})(?:st|nd|rd|th)?\b(?!\d|,?\s+\d{4})", re.I), ("M", "d")),
    # 26 may (no year)
    (re.compile(r"(?<!\d)(\d{1,2})\s+" + _MON + r"\b(?!,?\s+\d{4})", re.I), ("d", "M")),
    # bare years: 2021, 2018-2020
    (re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)"), ("y",)),
]


def extract_dates(text):
    """All (year, month, day) mentions in text; missing parts are None."""
    found = set()
    for pattern, parts in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            y = mo = d = None
            for part, val in zip(parts, m.groups()):
                if part == "y":
                    y = int(val)
                elif part == "m":
                    mo = int(val)
                elif part == "M":
                    mo = MONTHS[val.lower().rstrip(".")]
                elif part == "d":
                    d = int(val)
            if mo is not None and not 1 <= mo <= 12:
                continue
            if d is not None and not 1 <= d <= 31:
                continue
            found.add((y, mo, d))
    return found


def parse_partial_date(value):
    m = DATE_RE.match(value or "")
    if not m:
        return None
    y, mo, d = (int(x) if x else None for x in m.groups())
    if mo is not None and not 1 <= mo <= 12:
        return None
    if d is not None and not 1 <= d <= 31:
        return None
    return y, mo, d


def date_supported(value, texts, date_line_years):
    """A partial ISO date is supported if its year appears in the texts (or in the date line of a
    cited source) and every finer part (month, day) appears in a mention that agrees with it."""
    parsed = parse_partial_date(value)
    if parsed is None:
        return False
    y, mo, d = parsed
    mentions = set()
    for t in texts:
        mentions |= extract_dates(t)
    years = {my for my, _, _ in mentions if my is not None} | set(date_line_years)
    if y not in years:
        return False
    if mo is None:
        return True
    for my, mm, md in mentions:
        if mm != mo or (my is not None and my != y):
            continue
        if d is None or md == d:
            return True
    return False


# --------------------------------------------------------------------------- amounts
_NUM_GROUPED = re.compile(r"(?<![\d.])(\d{1,3}(?:[, \u00a0]\d{3})+(?:\.\d+)?)(?:\s*(thousand|million|billion)\b)?", re.I)
_NUM_PLAIN = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)(?:\s*(thousand|million|billion)\b)?", re.I)
_MULT = {None: 1, "thousand": 10 ** 3, "million": 10 ** 6, "billion": 10 ** 9}


def extract_amounts(text):
    values = set()
    for pattern in (_NUM_GROUPED, _NUM_PLAIN):
        for m in pattern.finditer(text):
            digits = re.sub(r"[, \u00a0]", "", m.group(1))
            try:
                values.add(Decimal(digits) * _MULT[(m.group(2) or "").lower() or None])
            except InvalidOperation:
                pass
    return values


def amount_supported(amount, texts):
    target = Decimal(amount)
    return any(target == v for t in texts for v in extract_amounts(t))


def currency_supported(currency, texts):
    words = CURRENCY_WORDS.get(currency, (currency.lower(),))
    return any(w in t.lower() for t in texts for w in words)


# --------------------------------------------------------------------------- loading
class DuplicateKeyError(ValueError):
    pass


def _no_duplicates(pairs):
    seen = {}
    for k, v in pairs:
        if k in seen:
            raise DuplicateKeyError(f"duplicate JSON object key {k!r}")
        seen[k] = v
    return seen


def load(path):
    with open(path, encoding="utf-8") as fh:
        return json.load(fh, object_pairs_hook=_no_duplicates)


def source_texts(data):
    texts = {}
    for s in data["sources"]:
        p = SOURCES_DIR / s["file"]
        texts[s["key"]] = p.read_text(encoding="utf-8") if p.is_file() else None
    return texts


def date_line_years(text):
    """Year of the source's own date line (its first non-empty line, if that line is a full date)."""
    for line in text.splitlines():
        if line.strip():
            full = [x for x in extract_dates(line) if None not in x]
            return {x[0] for x in full} if full and len(line.strip()) <= 40 else set()
    return set()


@pytest.fixture(scope="module", params=DATASETS, ids=lambda p: p.name)
def dataset(request):
    data = load(request.param)
    return data, source_texts(data)


def test_there_is_a_dataset():
    assert DATASETS, f"no *.json dataset in {CASESTUDY_DIR}"


def report(problems):
    assert not problems, f"{len(problems)} problem(s):\n  " + "\n  ".join(problems)


# --------------------------------------------------------------------------- tests
def test_structure_and_key_order(dataset):
    data, _ = dataset
    problems = []
    if list(data) != TOP_KEYS:
        problems.append(f"top-level keys {list(data)} != {TOP_KEYS}")
    if data.get("format") != FORMAT:
        problems.append(f"format {data.get('format')!r} != {FORMAT!r}")
    for name, rows, keys in (("source", data["sources"], SOURCE_KEYS), ("entity", data["entities"], ENTITY_KEYS),
                             ("record", data["records"], RECORD_KEYS)):
        for row in rows:
            if list(row) != keys:
                problems.append(f"{name} {row.get('key')}: keys {list(row)} != {keys}")
    for cit in iter_citations(data):
        where, c = cit
        extra = [k for k in c if k not in CITATION_KEYS]
        if extra or list(c)[:2] != ["source", "quote"]:
            problems.append(f"{where}: citation keys {list(c)}")
    report(problems)


def test_unique_and_wellformed_keys(dataset):
    data, _ = dataset
    problems = []
    all_keys = {}
    for name in ("sources", "entities", "records"):
        for row in data[name]:
            k = row.get("key")
            if not isinstance(k, str) or not KEY_RE.match(k):
                problems.append(f"{name}: malformed key {k!r}")
            if k in all_keys:
                problems.append(f"duplicate key {k!r} ({all_keys[k]} and {name})")
            all_keys[k] = name
    for e in data["entities"]:
        names = [a["name"] for a in e["aliases"]]
        if len(names) != len(set(names)) or e["name"] in names:
            problems.append(f"entity {e['key']}: duplicate alias names")
    report(problems)


def test_sources(dataset):
    data, texts = dataset
    problems = []
    for s in data["sources"]:
        if texts[s["key"]] is None:
            problems.append(f"source {s['key']}: stored text {s['file']} missing in {SOURCES_DIR}")
            continue
        if not s.get("title"):
            problems.append(f"source {s['key']}: no title")
        for c in s["citations"]:
            if c.get("field") not in SOURCE_CITATION_FIELDS:
                problems.append(f"source {s['key']}: citation field {c.get('field')!r}")
            if c["quote"] not in texts[s["key"]]:
                problems.append(f"source {s['key']}: quote not verbatim: {c['quote']!r}")
        for field in ("title", "publisher", "author", "published"):
            if s.get(field) and not any(c.get("field") == field for c in s["citations"]):
                problems.append(f"source {s['key']}: {field} set without a citation")
        if s.get("published") is not None:
            quotes = [c["quote"] for c in s["citations"] if c.get("field") == "published"]
            if not date_supported(s["published"], quotes, ()):
                problems.append(f"source {s['key']}: published {s['published']!r} not supported by {quotes}")
    report(problems)


def test_stored_sources_match_seeds():
    # shared/ sits beside the repository (as in CI); elsewhere the test skips.
    seeds = Path(__file__).resolve().parents[3] / "shared" / "seeds"
    if not seeds.is_dir():
        pytest.skip("seed directory not available")
    for p in sorted(SOURCES_DIR.glob("*.txt")):
        seed = seeds / p.name
        if seed.is_file():
            assert p.read_bytes() == seed.read_bytes(), f"{p.name} differs from its seed"


def iter_citations(data):
    for s in data["sources"]:
        for c in s["citations"]:
            yield f"source {s['key']}", {"source": s["key"], **{k: v for k, v in c.items() if k != "field"}}
    for e in data["entities"]:
        for c in e["citations"]:
            yield f"entity {e['key']}", c
        for a in e["aliases"]:
            for c in a["citations"]:
                yield f"entity {e['key']} alias {a['name']!r}", c
        for f in e["facts"]:
            for c in f["citations"]:
                yield f"entity {e['key']} fact {f['field']}", c
    for r in data["records"]:
        for c in r["citations"]:
            yield f"record {r['key']}", c


def test_every_quote_is_verbatim(dataset):
    data, texts = dataset
    problems = []
    for where, c in iter_citations(data):
        src = c.get("source")
        if src not in texts:
            problems.append(f"{where}: unknown source {src!r}")
            continue
        q = c.get("quote")
        if not isinstance(q, str) or not q.strip():
            problems.append(f"{where}: empty quote")
        elif texts[src] is not None and q not in texts[src]:
            problems.append(f"{where}: quote not found verbatim in {src}: {q!r}")
    report(problems)


def test_entities(dataset):
    data, _ = dataset
    problems = []
    for e in data["entities"]:
        k = e["key"]
        if e["kind"] not in ENTITY_KINDS:
            problems.append(f"entity {k}: unknown kind {e['kind']!r}")
        if not e["name"]:
            problems.append(f"entity {k}: no name")
        if not e["citations"]:
            problems.append(f"entity {k}: no citation")
        if e["country"] is not None and e["country"] not in ISO_ALPHA2:
            problems.append(f"entity {k}: invalid ISO 3166-1 alpha-2 country {e['country']!r}")
        if e["iso_code"] is not None:
            if e["kind"] != "country":
                problems.append(f"entity {k}: iso_code on a {e['kind']}")
            elif e["iso_code"] not in ISO_ALPHA2:
                problems.append(f"entity {k}: invalid ISO 3166-1 alpha-2 iso_code {e['iso_code']!r}")
            elif e["country"] != e["iso_code"]:
                problems.append(f"entity {k}: country {e['country']!r} != iso_code {e['iso_code']!r}")
        if e["state_owned"] not in (True, False, None):
            problems.append(f"entity {k}: state_owned must be true/false/null")
        if e["state_owned"] is True and not any(
                re.search(r"state[- ]owned|government[- ]owned", c["quote"], re.I) for c in e["citations"]):
            problems.append(f"entity {k}: state_owned=true but no citation says state-/government-owned")
        for a in e["aliases"]:
            if not a.get("name") or not a.get("citations"):
                problems.append(f"entity {k}: alias without name or citation: {a}")
        for f in e["facts"]:
            if not f.get("field") or f.get("value") in (None, "") or not f.get("citations"):
                problems.append(f"entity {k}: incomplete fact {f.get('field')!r}")
            elif isinstance(f["value"], str) and DATE_RE.match(f["value"]):
                cits = f["citations"]
                if not date_supported(f["value"], [c["quote"] for c in cits], ()):
                    problems.append(f"entity {k}: fact {f['field']}={f['value']!r} not in its quotes")
    report(problems)


def test_records_references_and_vocabulary(dataset):
    data, _ = dataset
    problems = []
    entities = {e["key"]: e for e in data["entities"]}
    records = {r["key"] for r in data["records"]}
    for r in data["records"]:
        k, kind = r["key"], r["kind"]
        if kind not in RECORD_KINDS:
            problems.append(f"record {k}: unknown kind {kind!r}")
            continue
        if not r["citations"]:
            problems.append(f"record {k}: no citation")
        if not r.get("title"):
            problems.append(f"record {k}: no title")
        for field in ("subject", "object"):
            if r[field] not in entities:
                problems.append(f"record {k}: {field} {r[field]!r} is not a known entity")
        for field in ("site", "party"):
            if r[field] is not None and r[field] not in entities:
                problems.append(f"record {k}: {field} {r[field]!r} is not a known entity")
        if r["site"] in entities and entities[r["site"]]["kind"] not in ("site", "country"):
            problems.append(f"record {k}: site {r['site']!r} is a {entities[r['site']]['kind']}")
        if r["related"] is not None and (r["related"] not in records or r["related"] == k):
            problems.append(f"record {k}: related {r['related']!r} is not another known record")
        if r["status"] not in STATUSES[kind]:
            problems.append(f"record {k}: status {r['status']!r} not allowed for {kind}")
        if r["amount_kind"] not in AMOUNT_KINDS:
            problems.append(f"record {k}: amount_kind {r['amount_kind']!r}")
        attrs = r["attributes"]
        if not isinstance(attrs, dict):
            problems.append(f"record {k}: attributes must be an object")
            continue
        for a in ENTITY_LIST_ATTRS & set(attrs):
            for ref in attrs[a]:
                if ref not in entities:
                    problems.append(f"record {k}: attributes.{a} refers to unknown entity {ref!r}")
        if kind == "statement" and attrs.get("stance") not in STANCES:
            problems.append(f"record {k}: stance {attrs.get('stance')!r}")
        if kind == "role" and not attrs.get("role"):
            problems.append(f"record {k}: role without attributes.role")
        if kind == "contract" and attrs.get("procedure") not in PROCEDURES:
            problems.append(f"record {k}: procedure {attrs.get('procedure')!r}")
        if kind == "contract" and attrs.get("bidders") is not None and not isinstance(attrs["bidders"], int):
            problems.append(f"record {k}: bidders must be an integer")
        if kind == "ban":
            j = attrs.get("jurisdiction")
            if j is not None and j not in ISO_ALPHA2:
                problems.append(f"record {k}: invalid jurisdiction {j!r}")
        if kind == "ownership":
            for flag in ("direct", "state_control", "via_unknown_intermediate"):
                if attrs.get(flag) not in (True, False, None):
                    problems.append(f"record {k}: ownership attribute {flag} must be boolean/null")
            if attrs.get("via_unknown_intermediate") and attrs.get("direct") is not False:
                problems.append(f"record {k}: via_unknown_intermediate requires direct=false")
        for c in r["citations"]:
            for s in c.get("supports", []):
                if s.startswith("attributes."):
                    if s.split(".", 1)[1] not in attrs:
                        problems.append(f"record {k}: supports unknown attribute {s!r}")
                elif s not in RECORD_KEYS:
                    problems.append(f"record {k}: supports unknown field {s!r}")
    report(problems)


def _cited_date_line_years(citations, texts):
    years = set()
    for c in citations:
        t = texts.get(c["source"])
        if t is not None:
            years |= date_line_years(t)
    return years


def test_record_dates_are_partial_iso_and_supported(dataset):
    data, texts = dataset
    problems = []
    for r in data["records"]:
        quotes = [c["quote"] for c in r["citations"]]
        for field in ("start", "end"):
            v = r[field]
            if v is None:
                continue
            if parse_partial_date(v) is None:
                problems.append(f"record {r['key']}: {field} {v!r} is not YYYY / YYYY-MM / YYYY-MM-DD")
                continue
            if not date_supported(v, quotes, _cited_date_line_years(r["citations"], texts)):
                problems.append(f"record {r['key']}: {field} {v!r} not supported by its quotes")
            # a citation marked as supporting a date must at least give its year (finer parts may
            # come from another citation, e.g. "October 29" + the article's date line "23.11.2023")
            for c in r["citations"]:
                if field in c.get("supports", []) and not date_supported(
                        v[:4], [c["quote"]], _cited_date_line_years([c], texts)):
                    problems.append(f"record {r['key']}: citation marked as supporting {field}={v!r} "
                                    f"does not give its year: {c['quote']!r}")
        if r["start"] and r["end"] and parse_partial_date(r["start"]) and parse_partial_date(r["end"]):
            if r["start"] > r["end"][: len(r["start"])]:
                problems.append(f"record {r['key']}: start {r['start']} after end {r['end']}")
    report(problems)


def test_record_amounts_are_stated_in_quotes(dataset):
    data, _ = dataset
    problems = []
    for r in data["records"]:
        quotes = [c["quote"] for c in r["citations"]]
        a = r["amount"]
        if a is None:
            if r["amount_kind"] is not None or r["currency"] is not None:
                problems.append(f"record {r['key']}: amount_kind/currency without amount")
            continue
        if not isinstance(a, str) or not AMOUNT_RE.match(a):
            problems.append(f"record {r['key']}: amount {a!r} is not a decimal string")
            continue
        if r["amount_kind"] is None:
            problems.append(f"record {r['key']}: amount without amount_kind")
        if not amount_supported(a, quotes):
            problems.append(f"record {r['key']}: amount {a} not stated in any of its quotes")
        cur = r["currency"]
        if cur is not None:
            if not re.match(r"^[A-Z]{3}$", cur):
                problems.append(f"record {r['key']}: currency {cur!r} is not an ISO 4217 code")
            elif not currency_supported(cur, quotes):
                problems.append(f"record {r['key']}: currency {cur} not stated in any of its quotes")
        for c in r["citations"]:
            sup = c.get("supports", [])
            if "amount" in sup and not amount_supported(a, [c["quote"]]):
                problems.append(f"record {r['key']}: citation marked as supporting amount does not: {c['quote']!r}")
            if "currency" in sup and cur and not currency_supported(cur, [c["quote"]]):
                problems.append(f"record {r['key']}: citation marked as supporting currency does not")
    report(problems)


# --------------------------------------------------------------------------- checker self-tests
@pytest.mark.parametrize("value,text,line_years,ok", [
    ("2024-04-23", "On April 23, 2024, the European Commission", (), True),
    ("2024-04-22", "On April 23, 2024, the European Commission", (), False),
    ("2024-04", "On April 23, 2024", (), True),
    ("2023-11-23", "23.11.2023.", (), True),
    ("2021-02", "announced in February 2021 that", (), True),
    ("2021", "in 2021, the Lithuanian government", (), True),
    ("2020", "in 2021", (), False),
    ("2023-10-29", "The police announced on October 29 that", {2023}, True),
    ("2023-10-29", "The police announced on October 29 that", (), False),
    ("2023-10-30", "The police announced on October 29 that", {2023}, False),
    ("2018", "In 2018-2020, the Revenue Service", (), True),
    ("2020", "In 2018-2020, the Revenue Service", (), True),
    ("2022-10-17", "to Reuters on October 17, 2022, Liberal", (), True),
    ("2022-13", "2022", (), False),
    ("22-10", "2022", (), False),
])
def test_date_checker(value, text, line_years, ok):
    assert date_supported(value, [text], line_years) is ok


@pytest.mark.parametrize("amount,text,ok", [
    ("8631474", "Nuctech still owes 8,631,474 euros", True),
    ("8631475", "Nuctech still owes 8,631,474 euros", False),
    ("215368", "overpaying [215 368 USD](#)", True),
    ("5870722.48", "totaling 5 870 722.48 USD.", True),
    ("5870722", "totaling 5 870 722.48 USD.", False),
    ("3500000", "valued at around €3.5 million for", True),
    ("6800000", "worth $6.8 million to 170", True),
    ("170", "worth $6.8 million to 170", True),
])
def test_amount_checker(amount, text, ok):
    assert amount_supported(amount, [text]) is ok


def test_duplicate_json_keys_are_rejected(tmp_path):
    p = tmp_path / "dup.json"
    p.write_text('{"a": 1, "a": 2}', encoding="utf-8")
    with pytest.raises(DuplicateKeyError):
        load(p)
