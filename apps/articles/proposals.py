"""Proposed records, one sentence at a time.

A sentence that names a vendor (a company) and a counterpart together with a signal of a
kind of record ("awarded", "banned", "borrowed", ...) becomes a proposal: kind, subject and
object in the roles `vocab.ROLES` gives that kind, the sentence's date and amount, a site,
and as quote the exact span of the sentence (text[start:end], so verbatim by construction).

The method is general: word signals per kind, the types of the mentioned parties, their
distance to the signal, "the company"/"its" read as the article's main company, and
"<title> of X" / "X's <title>" for roles. Nothing in here knows a name.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from apps.articles import countries
from apps.articles.mentions import Mention
from apps.catalog.text import normalize_name
from apps.catalog.vocab import EntityKind, RecordKind

C, PB, ORG, COUNTRY, SITE, PERSON = (EntityKind.COMPANY, EntityKind.PUBLIC_BODY, EntityKind.ORGANIZATION,
                                     EntityKind.COUNTRY, EntityKind.SITE, EntityKind.PERSON)

SIGNALS = {
    RecordKind.CONTRACT: r"contract(?:s|ed)?|tenders?|award(?:ed|s)?|bought|buy(?:s|ing)?|purchas(?:e|ed|es|ing)|"
                         r"procure(?:d|ment|ments|s)?|sold|sell(?:s|ing)?|suppl(?:y|ied|ies)|agreements?|deals?",
    RecordKind.BAN: r"bann?(?:ed|s|ing)?|exclu(?:de|ded|des|ding|sion)|block(?:ed|s|ing)?|black-?list(?:ed)?|"
                    r"prohibit(?:ed|s|ion)?|restrictions?|sanction(?:s|ed)?",
    RecordKind.LOAN: r"loans?|borrow(?:ed|s|ing)?|owe[sd]?|lent|lend(?:s|ing)?|credit line|debt",
    RecordKind.DONATION: r"donat(?:e|ed|es|ing|ion|ions)|gift(?:ed)?",
    RecordKind.INVESTIGATION: r"raid(?:s|ed)?|investigat(?:e|ed|es|ing|ion|ions)|inspections|probe[sd]?",
    RecordKind.OWNERSHIP: r"(?:state-)?owned|owns|owner|controll?(?:ed|s)|parent company|subsidiar(?:y|ies)|"
                          r"stake|shareholder",
    RecordKind.ROLE: r"president|head|spokes(?:person|man|woman)|chair(?:man|woman|person)?|ceo|director|"
                     r"secretary|minister|chief|representative|founder|researcher|analyst|professor|adviser|"
                     r"advisor|ambassador|manager|editor|member",
    RecordKind.COURT_CASE: r"courts?|appeal(?:s|ed)?|annul(?:led|ment|s)?|lawsuit|sued|ruling",
}
_SIGNAL = {kind: re.compile(rf"\b(?:{pattern})\b", re.I) for kind, pattern in SIGNALS.items()}
_ANAPHOR = re.compile(r"\b(?:[Tt]he|[Tt]hat|[Tt]his|[Ii]ts)\s+(?:(?!company|firm)[\w-]+\s+){0,2}(?:company|firm|manufacturer|vendor)\b"
                      r"|\b[Ii]ts(?=\s+(?:parent|president|head|owner|subsidiar))"
                      r"|^It(?=\s+(?:\w+\s+)?(?:sold|won|signed|supplied|donated|bought|delivered)\b)")
_ATTRIBUTION = re.compile(r"(?:according to|reported by|quoted by|told)\s+(?:the\s+)?(?:[\w-]+\s+){0,3}$", re.I)
_BANKISH = re.compile(r"\b(bank|fund|lender|credit)\b", re.I)
_COURTISH = re.compile(r"\b(court|tribunal|council of state|judge)\b", re.I)
ORG_KINDS = (C, PB, ORG, COUNTRY)


@dataclass
class Party:
    start: int
    end: int
    name: str
    kind: str
    entity_id: int | None = None
    entity_uuid: str = ""
    anaphor: bool = False
    adjective: bool = False   # a country named by its adjective ("a Chinese firm"): weak as a party
    attributed: bool = False  # "according to X": a source of the news, not a party

    @property
    def key(self) -> str:
        return f"e{self.entity_id}" if self.entity_id else f"n{normalize_name(self.name)}"

    def as_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "entity": self.entity_uuid or None}


def _party(m: Mention) -> Party:
    adjective = m.kind == COUNTRY and not countries.is_country_name(m.text)
    return Party(m.start, m.end, m.entity_name or m.text, m.kind, m.entity_id, m.entity_uuid, adjective=adjective)


def main_company(mentions: list[Mention]) -> Party | None:
    """The company the article is about: the one it names most often."""
    counts: Counter = Counter()
    first: dict[str, Mention] = {}
    for m in mentions:
        if m.type in ("entity", "name") and m.kind == C:
            key = f"e{m.entity_id}" if m.entity_id else f"n{normalize_name(m.text)}"
            counts[key] += 1
            first.setdefault(key, m)
    if not counts:
        return None
    return _party(first[counts.most_common(1)[0][0]])


def propose(text: str, sentences: list[tuple[int, int]], mentions: list[Mention]) -> list[dict]:
    vendor = main_company(mentions)
    parties_by_sentence = []
    out = []
    for s_start, s_end in sentences:
        sentence = text[s_start:s_end]
        inside = [m for m in mentions if s_start <= m.start and m.end <= s_end]
        parties = [_party(m) for m in inside if m.type in ("entity", "name")]
        if vendor is not None:
            for a in _ANAPHOR.finditer(sentence):
                start, end = s_start + a.start(), s_start + a.end()
                # "the company Huawei" names its company: no reference to the main one.
                apposition = any(p.kind in (C, ORG) and p.start >= end and not text[end:p.start].strip(" \"“”")
                                 for p in parties)
                inside_anaphor = [p for p in parties if start < p.end and p.start < end]
                if not apposition and all(p.adjective for p in inside_anaphor):
                    # "the controversial Chinese company": the adjective describes the company.
                    parties = [p for p in parties if p not in inside_anaphor]
                    parties.append(Party(start, end, vendor.name, vendor.kind, vendor.entity_id, vendor.entity_uuid,
                                         anaphor=True))
        parties.sort(key=lambda p: p.start)
        for p in parties:
            p.attributed = bool(_ATTRIBUTION.search(text[max(s_start, p.start - 60):p.start]))
        parties_by_sentence.append(parties)
        dates = [m for m in inside if m.type == "date"]
        money = [m for m in inside if m.type == "amount"]
        seen = set()
        previous = parties_by_sentence[-2] if len(parties_by_sentence) > 1 else []
        pairs = []
        for kind, signal in _signals(sentence):
            pos = s_start + signal.start()
            found = _assign(kind, pos, signal, parties, vendor, text, s_start, s_end)
            if not found and kind == RecordKind.LOAN and re.search(r"\b(?:it|they)\b", sentence, re.I):
                # "it borrowed from X": the borrower is the state or body the last sentence named.
                found = _assign(kind, pos, signal, parties + [p for p in previous if p.kind in (COUNTRY, PB)
                                                              and not p.adjective], vendor, text, s_start, s_end)
            pairs += [(kind, signal, subject, obj) for subject, obj in found]
        banned = {frozenset((a.key, b.key)) for kind, _, a, b in pairs if kind == RecordKind.BAN}
        for kind, signal, subject, obj in pairs:
            # A sentence that excludes or bans a vendor speaks of a contract or an inspection it did not get.
            if kind in (RecordKind.CONTRACT, RecordKind.INVESTIGATION) and frozenset((subject.key, obj.key)) in banned:
                continue
            if subject.key == obj.key or (kind, subject.key, obj.key) in seen:
                continue
            seen.add((kind, subject.key, obj.key))
            site = next((p for p in parties if p.kind == SITE and p.key not in (subject.key, obj.key)), None)
            money_applies = money and kind not in (RecordKind.ROLE, RecordKind.OWNERSHIP)
            out.append({
                "kind": str(kind), "subject": subject.as_dict(), "object": obj.as_dict(),
                "date": dates[0].value if dates else None,
                "date_precision": dates[0].precision if dates else None,
                "amount": money[0].value if money_applies else None,
                "currency": money[0].currency if money_applies else None,
                "site": site.as_dict() if site else None,
                "signal": signal.group(),
                "quote": sentence, "start": s_start, "end": s_end,
            })
    return out


def _signals(sentence: str):
    """(kind, match) for every signal in the sentence, in reading order ("it sold X to A,
    and Y was sold to B" gives two)."""
    found = []
    for kind, pattern in _SIGNAL.items():
        for m in pattern.finditer(sentence):
            found.append((m.start(), kind, m))
    return [(kind, m) for _, kind, m in sorted(found, key=lambda f: f[0])]


def _nearest(parties, pos, kinds, exclude=(), prefer=None):
    pool = [p for p in parties if p.kind in kinds and p.key not in exclude and not p.attributed]
    if not pool:
        return None

    def distance(p):
        d = p.start - pos if p.start >= pos else pos - p.end
        rank = kinds.index(p.kind) if prefer == "kind" else 0
        return (p.adjective, rank, d)

    return min(pool, key=distance)


def _vendor(parties, vendor):
    companies = [p for p in parties if p.kind == C]
    if not companies:
        return None
    if vendor is not None:
        for p in companies:
            if p.key == vendor.key:
                return p
    return companies[0]


def _assign(kind, pos, signal, parties, vendor, text, s_start, s_end):
    """Pairs (subject, object) for `kind` in the sentence, or nothing."""
    if kind == RecordKind.ROLE:
        return _roles(parties, text, s_start, s_end)
    if kind == RecordKind.OWNERSHIP:
        return _ownership(parties, pos, signal, text, s_end, vendor)
    if kind == RecordKind.LOAN:
        lender = next((p for p in parties if p.kind in (C, ORG) and _BANKISH.search(p.name)), None)
        if lender is None:
            return []
        borrower = _nearest(parties, pos, [COUNTRY, PB], exclude={lender.key})
        return [(lender, borrower)] if borrower else []
    if kind == RecordKind.COURT_CASE:
        court = next((p for p in parties if p.kind in (PB, ORG) and _COURTISH.search(p.name)), None)
        target = _vendor(parties, vendor)
        return [(court, target)] if court and target else []
    target = _vendor(parties, vendor)
    if target is None:
        return []
    counterpart_kinds = {
        RecordKind.CONTRACT: [PB, SITE, COUNTRY, ORG],
        RecordKind.BAN: [PB, COUNTRY, ORG],
        RecordKind.INVESTIGATION: [PB, COUNTRY, ORG],
        RecordKind.DONATION: [COUNTRY, PB, SITE, ORG],
    }[kind]
    other = _nearest(parties, pos, counterpart_kinds, exclude={target.key})
    if other is None:
        return []
    others = [other] + _coordinated(other, parties, text)
    if kind == RecordKind.DONATION:
        return [(target, o) for o in others]
    return [(o, target) for o in others]


_AND = re.compile(r"(?:,|,?\s*and|,?\s*or|\s*as well as)")


def _coordinated(first: Party, parties: list[Party], text: str) -> list[Party]:
    """Parties listed with `first` ("the United States and Canada", "Greece, Hungary and Italy")."""
    out, last = [], first
    for p in parties:
        if p.start < last.end or p.kind != first.kind or p.adjective:
            continue
        gap = re.sub(r"[\[\]()#\s]+", " ", text[last.end:p.start]).strip()
        gap = re.sub(r"^(?:the\s+)|\s+the$", "", gap).strip()
        if not _AND.fullmatch(gap if gap.startswith(",") else " " + gap):
            break
        out.append(p)
        last = p
    return out


_TITLE = _SIGNAL[RecordKind.ROLE]


def _roles(parties, text, s_start, s_end):
    pairs = []
    people = [p for p in parties if p.kind == PERSON]
    if not people:
        return pairs
    orgs = [p for p in parties if p.kind in ORG_KINDS]
    for title in _TITLE.finditer(text, s_start, s_end):
        t_start, t_end = title.start(), title.end()
        person = min(people, key=lambda p: abs(p.start - t_end) if p.start >= t_end else abs(t_start - p.end))
        org = None
        # "<title> of/at X", "X's <title>", "X <title>"
        after = [p for p in orgs if p.start >= t_end and re.fullmatch(r"\s+(?:of|at|in|for)\s+(?:the\s+)?(?:[\w-]+\s+){0,3}",
                                                                      text[t_end:p.start] + " ")]
        before = [p for p in orgs if p.end <= t_start and re.fullmatch(r"(?:['’]s)?\s+(?:[\w-]+\s+)?",
                                                                       text[p.end:t_start])]
        if after:
            org = after[0]
        elif before:
            org = before[-1]
        if org is None or org.key == person.key:
            continue
        pairs.append((person, org))
    return pairs


_BY = re.compile(r"\b(?:owned|controll?ed|held)\s+by\b", re.I)
_STATE = re.compile(r"\bstate-(?:owned|controlled)\s+", re.I)


def _ownership(parties, pos, signal, text, s_end, vendor):
    """"Y is owned/controlled by X", "its parent company is controlled by X" (X -> the main
    company), "the state-owned X" (the state named in the sentence -> X)."""
    s_start = pos - signal.start()
    candidates = [p for p in parties if p.kind in (C, ORG, PB, COUNTRY) and not p.attributed]
    pairs = []
    for m in _BY.finditer(text, s_start, s_end):
        owner = next((p for p in candidates if p.start >= m.end() and p.kind != COUNTRY and not p.anaphor), None)
        owned = next((p for p in reversed(candidates) if p.end <= m.start() and p.kind in (C, ORG)), None)
        if owner and owned and owner.key != owned.key:
            pairs.append((owner, owned))
    for m in _STATE.finditer(text, s_start, s_end):
        owned = next((p for p in candidates if p.start == m.end() and p.kind != COUNTRY), None)
        state = next((p for p in candidates if p.kind == COUNTRY and not p.adjective), None)
        if owned and state:
            pairs.append((state, owned))
    return pairs
