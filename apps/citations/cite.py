"""Ready-to-paste citations: plain text, CSL-JSON and BibTeX.

Pure functions of already-loaded objects; the views pass the absolute permalink and the
access date, so the output is deterministic and testable.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from apps.catalog.dates import format_partial_date, parse_partial_date
from apps.catalog.models import Citation, Entity, Record, Source


@dataclass
class Claim:
    """One citable statement: a record, or one fact of an entity, with its citations."""

    key: str                    # short stable id, e.g. "vg-3f2a9c1d"
    text: str                   # the claim in words
    citations: list[Citation]
    permalink: str
    revision_link: str = ""     # the exact revision the reader saw
    version: int | None = None
    evidence: str = ""          # the evidence strength summary


def _money(record: Record) -> str:
    if record.amount is None:
        return ""
    amount = f"{record.amount:,.2f}".replace(".00", "")
    kind = f" ({record.amount_kind})" if record.amount_kind and record.amount_kind != "value" else ""
    return f"{amount} {record.currency}{kind}".strip()


def _period(record: Record) -> str:
    start, end = format_partial_date(record.start), format_partial_date(record.end)
    if start and end:
        return f"{start} – {end}"
    if start:
        return f"from {start}" if record.kind in ("ownership", "role", "loan", "deployment") else start
    return f"until {end}" if end else ""


def record_claim_text(record: Record) -> str:
    """'Title. Loan: lender X → borrower Y; 2014 – 2025; 8,631,474 EUR (outstanding); status active.'"""
    parts = [f"{record.get_kind_display()}: {record.subject_role} {record.subject.name} → "
             f"{record.object_role} {record.object.name}"]
    if record.share_pct is not None:
        parts.append(f"{record.share_pct.normalize():f}% share")
    for value in (_period(record), _money(record)):
        if value:
            parts.append(value)
    if record.status:
        parts.append(f"status {record.status.replace('_', ' ')}")
    head = f"{record.title}. " if record.title else ""
    return head + "; ".join(parts) + "."


def entity_fact_text(entity: Entity, fact: str, citations=()) -> str:
    """The claim behind an entity citation's `field`: '', 'alias:<name>', 'fact:<name>' or another field.

    A field may hold several values from different sources: the claim names the values
    that `citations` support."""
    if fact.startswith("alias:"):
        return f"{entity.name} is also named “{fact[6:]}”."
    if fact.startswith("fact:"):
        name = fact[5:]
        values = list(dict.fromkeys(c.fact.value for c in citations if getattr(c, "fact", None) is not None))
        return f"{entity.name} — {name.replace('_', ' ')}: {'; '.join(values)}."
    if fact:
        return f"{entity.name} — {fact.replace('_', ' ')}: {getattr(entity, fact, '')}."
    where = f", {entity.country_name}" if entity.country_name else ""
    return f"{entity.name} ({entity.get_kind_display().lower()}{where})."


def source_line(source: Source) -> str:
    """Publisher, “Title”, author, date, URL, in the order a reference list uses."""
    bits = [source.publisher or "Publisher not stated", f"“{source.title}”"]
    if source.author:
        bits.append(source.author)
    bits.append(format_partial_date(source.published) or "undated")
    if source.url:
        bits.append(source.url)
    return ", ".join(bits)


def _grouped(citations: list[Citation]) -> list[tuple[Source, list[Citation]]]:
    groups: dict[int, tuple[Source, list[Citation]]] = {}
    for c in citations:
        groups.setdefault(c.source_id, (c.source, []))[1].append(c)
    return list(groups.values())


def cite_text(claim: Claim, *, accessed: dt.date) -> str:
    """The plain-text citation a journalist pastes into a story or a footnote."""
    lines = [f"Claim: {claim.text}"]
    if claim.evidence:
        lines.append(f"Evidence: {claim.evidence}")
    lines.append("Sources:")
    groups = _grouped(claim.citations)
    if not groups:
        lines.append("  (none yet)")
    for n, (source, quotes) in enumerate(groups, start=1):
        lines.append(f"  [{n}] {source_line(source)}")
        for c in quotes:
            lines.append(f"      Quote: “{' '.join(c.quote.split())}”")
    version = f" (version {claim.version})" if claim.version else ""
    lines.append(f"Permalink: {claim.permalink}{version}")
    if claim.revision_link:
        lines.append(f"This revision: {claim.revision_link}")
    lines.append(f"Accessed: {accessed.isoformat()}")
    lines.append("Via: vendorgraph")
    return "\n".join(lines) + "\n"


def _date_parts(value: str) -> dict | None:
    if not value:
        return None
    year, month, day = parse_partial_date(value)
    return {"date-parts": [[p for p in (year, month, day) if p is not None]]}


_CSL_TYPES = {Source.SourceType.ARTICLE: "article-newspaper", Source.SourceType.PRIMARY: "document",
              Source.SourceType.DATASET: "dataset"}


def cite_csl(claim: Claim, *, accessed: dt.date) -> list[dict]:
    """CSL-JSON: one item for the claim (the vendorgraph entry) and one per source."""
    accessed_parts = {"date-parts": [[accessed.year, accessed.month, accessed.day]]}
    items = [{
        "id": claim.key,
        "type": "entry",
        "title": claim.text,
        "container-title": "vendorgraph",
        "URL": claim.permalink,
        "accessed": accessed_parts,
        **({"version": str(claim.version)} if claim.version else {}),
        "note": "; ".join(filter(None, [claim.evidence, f"This revision: {claim.revision_link}" if claim.revision_link else ""])),
        "references": "; ".join(f"{claim.key}-s{n}" for n in range(1, len(_grouped(claim.citations)) + 1)),
    }]
    for n, (source, quotes) in enumerate(_grouped(claim.citations), start=1):
        item = {
            "id": f"{claim.key}-s{n}",
            "type": _CSL_TYPES.get(source.source_type, "document"),
            "title": source.title,
            "publisher": source.publisher or None,
            "container-title": source.publisher or None,
            "author": [{"literal": source.author}] if source.author else None,
            "issued": _date_parts(source.published),
            "URL": source.url or None,
            "language": source.language or None,
            "accessed": accessed_parts,
            "note": " | ".join(f"Quote: “{' '.join(c.quote.split())}”" for c in quotes),
        }
        items.append({k: v for k, v in item.items() if v is not None})
    return items


_BIB_ESCAPE = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "&": r"\&", "%": r"\%", "$": r"\$",
               "#": r"\#", "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
_BIB_RE = re.compile("|".join(re.escape(k) for k in _BIB_ESCAPE))


def _bib(value: str) -> str:
    return _BIB_RE.sub(lambda m: _BIB_ESCAPE[m.group(0)], " ".join(str(value).split()))


# Characters that are not allowed in a URL as written (RFC 3986) and that TeX would read:
# braces end the field early (a stored URL could then add fields or commands), a backslash
# starts a command. Percent-encoding them is what a browser does anyway, so the link still works.
_BIB_URL_UNSAFE = re.compile(r'[{}\\\s"<>^`|]')


def _bib_url(url: str) -> str:
    return _BIB_URL_UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group(0).encode("utf-8")), url or "")


def _bib_entry(kind: str, key: str, fields: dict) -> str:
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields.items() if value)
    return f"@{kind}{{{key},\n{body}\n}}\n"


def cite_bibtex(claim: Claim, *, accessed: dt.date) -> str:
    """BibTeX: a @misc entry for the claim and one entry per source (quotes in `note`)."""
    groups = _grouped(claim.citations)
    keys = [f"{claim.key}-s{n}" for n in range(1, len(groups) + 1)]
    out = [_bib_entry("misc", claim.key, {
        "title": _bib(claim.text),
        "howpublished": f"\\url{{{_bib_url(claim.permalink)}}}",
        "url": _bib_url(claim.permalink),
        "version": str(claim.version or ""),
        "urldate": accessed.isoformat(),
        "note": _bib("; ".join(filter(None, [claim.evidence, "Sources: " + ", ".join(keys) if keys else ""]))),
        "organization": "vendorgraph",
    })]
    for key, (source, quotes) in zip(keys, groups):
        year = month = ""
        if source.published:
            y, m, _ = parse_partial_date(source.published)
            year, month = str(y), (str(m) if m else "")
        kind = "article" if source.source_type == Source.SourceType.ARTICLE else "misc"
        out.append(_bib_entry(kind, key, {
            "title": _bib(source.title),
            "journal" if kind == "article" else "publisher": _bib(source.publisher),
            "author": _bib(source.author),
            "year": year,
            "month": month,
            "url": _bib_url(source.url),
            "urldate": accessed.isoformat(),
            "language": _bib(source.language),
            "note": _bib(" | ".join(f"Quote: “{c.quote}”" for c in quotes)),
        }))
    return "\n".join(out)
