"""Who and what an article mentions, with character offsets into its stored text.

* known entities: spans of the text looked up with the catalogue's one entity search
  (`entity_search`: names and aliases, case, accents and misspellings), then accepted only
  when the span is close to the matched name as a whole (a search ranks partial matches too);
* names the catalogue lacks: the named-entity model's PERSON/ORG/GPE/... spans (English);
* countries: names and adjectives ("Lithuanian"), linked to the country's entity when the
  catalogue has it;
* dates with their precision (dateparser; a date without a year is not completed), amounts
  with their currency (quantulum3).
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from apps.articles import countries
from apps.articles.nlp import Analysis
from apps.catalog.models import Alias, Entity, country_name
from apps.catalog.selectors.search import entity_search
from apps.catalog.text import core_name, normalize_name
from apps.catalog.vocab import EntityKind, Workflow



@dataclass
class Mention:
    start: int
    end: int
    text: str
    type: str                 # entity | name | date | amount
    kind: str = ""            # entity kind (known or guessed)
    entity_id: int | None = None
    entity_uuid: str = ""
    entity_name: str = ""
    label: str = ""           # the model's label for a name
    value: str = ""           # date: partial ISO date; amount: decimal; country: ISO code
    precision: str = ""       # date precision: year | month | day
    currency: str = ""
    workflow: str = ""        # of the entity: only published ones have a public page

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v not in ("", None)}


_TOKEN = re.compile(r"[^\W_]+(?:[-.&'’][^\W_]+)*")
_CONNECTORS = {"of", "the", "and", "for", "in", "de", "du", "la", "le", "der", "von", "van", "on", "to", "&", "del"}
_MAX_WINDOW = 7
_TRAILING_PARENS = re.compile(r"\s*\([^)]*\)\s*$")
_FUZZY_MIN = 86.0


def _name_like(token: str) -> bool:
    return token[:1].isupper() or token[:1].isdigit() and any(c.isalpha() for c in token)


def _candidates(text: str) -> list[tuple[int, int]]:
    """Spans worth looking up: runs of capitalised words (with 'of', 'the', ... inside) and a
    capitalised word with the common noun after it ("Belgian customs")."""
    tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(text)]
    spans = set()
    for i, (start, _, word) in enumerate(tokens):
        if not _name_like(word):
            continue
        for j in range(i, min(i + _MAX_WINDOW, len(tokens))):
            if j > i:
                gap = text[tokens[j - 1][1]:tokens[j][0]]
                if gap.strip(" \u00a0-") or "\n" in gap:
                    break
            word_j = tokens[j][2]
            if _name_like(word_j):
                spans.add((start, tokens[j][1]))
            elif j == i + 1 and word_j.islower() and len(word_j) > 3:
                spans.add((start, tokens[j][1]))  # "Belgian customs", "Genoa airport"
                if word_j.lower() not in _CONNECTORS:
                    break
            elif word_j.lower() not in _CONNECTORS:
                break
        # "the airport in Genoa", "tax authorities in Rzeszów": common nouns, then in/of/at and a name.
        if i >= 2 and tokens[i - 1][2] in ("in", "of", "at") and tokens[i - 2][2].islower():
            for back in (2, 3):
                if i - back >= 0 and all(t[2].islower() and t[2] not in _CONNECTORS for t in tokens[i - back:i - 1]) \
                        and not text[tokens[i - back][0]:start].count("\n") \
                        and not text[tokens[i - back][0]:start].strip(" \u00a0").count(","):
                    spans.add((tokens[i - back][0], tokens[i][1]))
    return sorted(spans)


def _function_word_edge(span: str) -> bool:
    """A span starting or ending with "The", "In", "According", ... is not looked up: the span
    without that word is (names do not start that way; "The Brussels Times" is still found
    from "Brussels Times", whose spelling is close enough)."""
    from spacy.lang.en.stop_words import STOP_WORDS  # a word list, no model

    words = span.split()
    return any(w.lower() in STOP_WORDS and not (w.isupper() and len(w) > 1) for w in (words[0], words[-1]))


def _strip_possessive(text: str, start: int, end: int) -> tuple[int, int]:
    span = text[start:end]
    for suffix in ("'s", "’s"):
        if span.endswith(suffix):
            return start, end - len(suffix)
    return start, end


def known_entities(text: str, names: set[str] = frozenset()) -> list[Mention]:
    """Mentions of the catalogue's entities (drafts too: curators read them), longest and closest matches first, never overlapping."""
    found = []  # (quality, length, start, end, entity_id)
    cache: dict[str, tuple[int, float] | None] = {}
    spans = {_strip_possessive(text, s, e) for s, e in _candidates(text) if not _function_word_edge(text[s:e])}
    spans = {(s, e) for s, e in spans if len(normalize_name(text[s:e])) >= 2}
    by_norm = {normalize_name(text[s:e]): text[s:e] for s, e in sorted(spans)}
    # Exact names and aliases first (two indexed queries for the whole text), then the
    # catalogue's fuzzy search only for what could be a misspelt name: that search costs a
    # scan of the names, so it is not spent on spans that are no name.
    hits_by_norm = _exact(set(by_norm) | {normalize_name(_inverted(span)) for span in by_norm.values()} - {""})
    lower_words = {w for w in re.findall(r"[^\W\d_]+", text) if w.islower()}
    for norm, span in by_norm.items():
        inverted = normalize_name(_inverted(span))
        if hits_by_norm.get(norm) or hits_by_norm.get(inverted):
            hits_by_norm[norm] = hits_by_norm.get(norm, set()) | hits_by_norm.get(inverted, set())
        elif _worth_fuzzy(span, norm, lower_words, names):
            hits_by_norm[norm] = {h.entity_id for h in entity_search(q=span, include_unpublished=True, limit=5)}
    entity_ids = {entity_id for hits in hits_by_norm.values() for entity_id in hits}
    names = dict(Entity.objects.filter(id__in=entity_ids).values_list("id", "name"))
    alias_names: dict[int, list[str]] = {}
    for entity_id, alias in (Alias.objects.filter(entity_id__in=entity_ids).exclude(workflow=Workflow.RETRACTED)
                             .values_list("entity_id", "name")):
        alias_names.setdefault(entity_id, []).append(alias)
    for start, end in sorted(spans):
        span = text[start:end]
        norm = normalize_name(span)
        if norm not in cache:
            cache[norm] = _best(span, norm, hits_by_norm.get(norm, ()), names, alias_names)
        best = cache[norm]
        if best is not None:
            found.append((best[1], end - start, start, end, best[0]))
    chosen: list[tuple[int, int, int]] = []
    for quality, _length, start, end, entity_id in sorted(found, key=lambda f: (-f[0], -f[1], f[2])):
        if any(start < e and s < end for s, e, _ in chosen):
            continue
        chosen.append((start, end, entity_id))
    chosen += _head_nouns(text, chosen, names)
    entities = {e.id: e for e in Entity.objects.filter(id__in={c[2] for c in chosen})}
    return [Mention(start=s, end=e, text=text[s:e], type="entity", kind=entities[i].kind, entity_id=i,
                    entity_uuid=str(entities[i].uuid), entity_name=entities[i].name,
                    value=entities[i].iso_code or "", workflow=entities[i].workflow)
            for s, e, i in sorted(chosen)]


def _head_nouns(text: str, chosen: list[tuple[int, int, int]], names: dict[int, str]) -> list[tuple[int, int, int]]:
    """"the Commission" after "the European Commission": a capitalised last word of a
    several-word name mentioned earlier, after "the", refers to it."""
    heads: dict[str, tuple[int, int]] = {}  # last word -> (first position, entity)
    for start, _end, entity_id in sorted(chosen):
        words = (names.get(entity_id) or "").split()
        if len(words) >= 2 and words[-1][:1].isupper() and len(words[-1]) > 3:
            heads.setdefault(words[-1], (start, entity_id))
    out = []
    for word, (first, entity_id) in heads.items():
        for m in re.finditer(rf"\b[Tt]he\s+({re.escape(word)})\b", text):
            s, e = m.start(1), m.end(1)
            if s > first and not any(s < ce and cs < e for cs, ce, _ in chosen + out):
                out.append((s, e, entity_id))
    return out


def _inverted(span: str) -> str:
    """"<Country adjective> <noun>" as "<Noun> of <Country>", "<noun> in <Place>" as
    "<Place> <noun>", or ""."""
    words = span.split()
    if len(words) == 3 and words[0].islower() and words[1] in ("in", "of", "at") and words[2][:1].isupper():
        return f"{words[2]} {words[0]}"
    if len(words) != 2 or not words[1].islower():
        return ""
    code = countries.country_code(words[0])
    if not code or normalize_name(words[0]) == normalize_name(country_name(code)):
        return ""
    return f"{words[1].capitalize()} of {country_name(code)}"


def _exact(norms: set[str]) -> dict[str, set[int]]:
    """Entities (not retracted) whose name or alias normalises to one of `norms`."""
    found: dict[str, set[int]] = {}
    norms = sorted(norms)
    for i in range(0, len(norms), 500):  # SQLite's limit on query parameters
        chunk = norms[i:i + 500]
        rows = list(Entity.objects.exclude(workflow=Workflow.RETRACTED).filter(name_norm__in=chunk)
                    .values_list("name_norm", "id"))
        rows += list(Alias.objects.exclude(workflow=Workflow.RETRACTED).exclude(entity__workflow=Workflow.RETRACTED)
                     .filter(name_norm__in=chunk).values_list("name_norm", "entity_id"))
        for norm, entity_id in rows:
            found.setdefault(norm, set()).add(entity_id)
    return found


def _worth_fuzzy(span: str, norm: str, lower_words: set[str], names: set[str]) -> bool:
    """Whether a span without an exact match may be a misspelt name: long enough (short names
    only match as written), and either a name the model found or one capitalised word the
    text never writes in lower case ("Nuotech", not "Looking" or "Nevertheless")."""
    if len(norm) < 5:
        return False
    if norm in names:
        return True
    return " " not in span.strip() and _name_like(span) and span.lower() not in lower_words


def _best(span: str, norm: str, hits, names: dict[int, str], alias_names: dict[int, list[str]]):
    """(entity_id, quality) of the entity among `hits` (ids) that `span` names as a whole, or None."""
    best = None
    inverted = normalize_name(_inverted(span))
    for entity_id in hits:
        for candidate in [names.get(entity_id, "")] + alias_names.get(entity_id, []):
            cand_norm = normalize_name(candidate)
            if inverted and cand_norm == inverted:
                return (entity_id, 99.0)
            if not cand_norm:
                continue
            if len(cand_norm) <= 4 or len(norm) <= 4:
                # Acronyms and short names only as written ("EC", "CCP"), never fuzzily.
                quality = 100.0 if span == candidate or (span.isupper() and span == candidate.upper()) else 0.0
            elif cand_norm == norm:
                quality = 100.0
            elif normalize_name(_TRAILING_PARENS.sub("", candidate)) == norm or (
                    cand_norm.startswith(norm + " ") and core_name(candidate) == norm):
                quality = 95.0  # the name without its acronym in brackets or its legal form
            else:
                quality = fuzz.ratio(norm, cand_norm)
                # Misspellings keep the first letters and the length ("Nuotech", "Nuctek"):
                # one or two edits, by the length of the name.
                if norm[:2] != cand_norm[:2] or abs(len(norm) - len(cand_norm)) > 2:
                    quality = 0.0
                elif Levenshtein.distance(norm, cand_norm) <= (1 if len(cand_norm) < 6 else 2):
                    quality = max(quality, 88.0)
            if quality >= _FUZZY_MIN and (best is None or quality > best[1]):
                best = (entity_id, quality)
    return best


_ORG_PUBLIC = re.compile(r"\b(ministry|minister|government|commission|parliament|council|court|customs|police|"
                         r"agency|department|authority|authorities|office|service|senate|congress|army|navy|"
                         r"municipality|prosecutor|tribunal|embassy|state)\b", re.I)
_ORG_COMPANY = re.compile(r"\b(co|corp|corporation|company|ltd|limited|inc|gmbh|ag|sa|plc|llc|group|holding|"
                          r"holdings|bank|technologies|technology|industries)\b\.?", re.I)


def guess_kind(label: str, name: str) -> str:
    if label == "PERSON":
        return EntityKind.PERSON
    if label in ("GPE", "NORP"):
        return EntityKind.COUNTRY if countries.country_code(name) else EntityKind.SITE
    if label in ("FAC", "LOC"):
        return EntityKind.SITE
    if _ORG_PUBLIC.search(name):
        return EntityKind.PUBLIC_BODY
    if _ORG_COMPANY.search(name):
        return EntityKind.COMPANY
    return EntityKind.ORGANIZATION


def _overlaps(start: int, end: int, mentions: list[Mention]) -> bool:
    return any(start < m.end and m.start < end for m in mentions)


def names_and_countries(text: str, analysis: Analysis, known: list[Mention]) -> list[Mention]:
    """Names the catalogue lacks (model) and country mentions (names and adjectives)."""
    country_entities = {e.iso_code: e for e in Entity.objects.filter(kind=EntityKind.COUNTRY)
                        .exclude(workflow=Workflow.RETRACTED).exclude(iso_code=None)}
    out: list[Mention] = []
    taken = list(known)

    def add_country(start, end, code):
        entity = country_entities.get(code)
        if entity is not None:
            m = Mention(start=start, end=end, text=text[start:end], type="entity", kind=EntityKind.COUNTRY,
                        entity_id=entity.id, entity_uuid=str(entity.uuid), entity_name=entity.name, value=code,
                        workflow=entity.workflow)
        else:
            m = Mention(start=start, end=end, text=text[start:end], type="name", kind=EntityKind.COUNTRY,
                        label="GPE", value=code)
        out.append(m)
        taken.append(m)

    for span in analysis.names:
        start, end = _strip_possessive(text, span.start, span.end)
        while start < end and text[start:end].lower().startswith("the "):
            start += 4
        if end - start < 2 or _overlaps(start, end, taken):
            continue
        name = text[start:end]
        if span.label in ("GPE", "NORP"):
            code = countries.country_code(name)
            if code:
                add_country(start, end, code)
                continue
            if span.label == "NORP":
                continue  # "Uyghur", "liberal": groups, not parties to a record
        if not any(ch.isupper() for ch in name):
            continue
        m = Mention(start=start, end=end, text=name, type="name", kind=guess_kind(span.label, name), label=span.label)
        out.append(m)
        taken.append(m)
    # Country names and adjectives the model missed (or every one, without a model).
    for match in _TOKEN.finditer(text):
        word = match.group()
        if not word[:1].isupper() or _overlaps(match.start(), match.end(), taken):
            continue
        start, end = _strip_possessive(text, match.start(), match.end())
        code = countries.country_code(text[start:end])
        if code:
            add_country(start, end, code)
    return out


_MONTHS = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
           r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)")
_DATE_PATTERNS = [
    rf"\b{_MONTHS}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+(?:1[89]|20)\d\d\b",
    rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTHS}\.?,?\s+(?:1[89]|20)\d\d\b",
    rf"\b{_MONTHS}\.?\s+(?:of\s+)?(?:1[89]|20)\d\d\b",
    r"\b\d{1,2}\.\d{1,2}\.(?:1[89]|20)\d\d\b",
    r"\b(?:1[89]|20)\d\d-\d\d-\d\d\b",
    r"(?<![\d.,])(?<!\d\s)\b(?:1[89]|20)\d\d\b(?![.,]\d)(?!\s\d{3}\b)",
]
_DATE = re.compile("|".join(f"(?:{p})" for p in _DATE_PATTERNS), re.I)
_YEAR = re.compile(r"\b(?:1[89]|20)\d\d\b")


def dates(text: str, language: str = "") -> list[Mention]:
    """Dates the text states with a year, with their precision. A day and month without a
    year ("October 29") are left out: the year would be a guess."""
    from dateparser.date import DateDataParser

    parser = DateDataParser(languages=["en"], settings={"PREFER_DAY_OF_MONTH": "first",
                                                          "REQUIRE_PARTS": ["year"]})
    out = []
    for match in _DATE.finditer(text):
        surface = match.group()
        if not _YEAR.search(surface):
            continue
        data = parser.get_date_data(surface)
        if data.date_obj is None:
            continue
        period = data.period or "day"
        value = {"year": f"{data.date_obj:%Y}", "month": f"{data.date_obj:%Y-%m}"}.get(period, f"{data.date_obj:%Y-%m-%d}")
        out.append(Mention(start=match.start(), end=match.end(), text=surface, type="date", value=value,
                           precision={"year": "year", "month": "month"}.get(period, "day")))
    return out


def amounts(text: str, sentences: list[tuple[int, int]]) -> list[Mention]:
    """Amounts of money with their ISO 4217 currency, sentence by sentence (quantulum3)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its optional classifier is not installed
        from quantulum3 import parser

        out = []
        for start, end in sentences:
            sentence = text[start:end]
            if not re.search(r"\d", sentence):
                continue
            try:
                quantities = parser.parse(sentence)
            except Exception:  # noqa: BLE001 — a sentence quantulum3 cannot read has no amount
                continue
            for q in quantities:
                code = getattr(q.unit, "currency_code", None)
                if not code or q.value is None or q.value < 0:
                    continue
                s, e = q.span
                if sentence[s:e] != q.surface:
                    found = sentence.find(q.surface)
                    if found < 0:
                        continue
                    s, e = found, found + len(q.surface)
                value = f"{q.value:.2f}".rstrip("0").rstrip(".")
                out.append(Mention(start=start + s, end=start + e, text=sentence[s:e], type="amount",
                                   value=value, currency=code))
    return out


def find_mentions(text: str, analysis: Analysis, language: str = "") -> list[Mention]:
    model_names = {normalize_name(text[_strip_possessive(text, n.start, n.end)[0]:_strip_possessive(text, n.start, n.end)[1]])
                   for n in analysis.names}
    model_names |= {n[4:] for n in model_names if n.startswith("the ")}
    known = known_entities(text, model_names)
    names = names_and_countries(text, analysis, known)
    found = known + names
    extra = [m for m in dates(text, language) + amounts(text, analysis.sentences) if not _overlaps(m.start, m.end, found)]
    return sorted(found + extra, key=lambda m: (m.start, m.end))
