"""Reading a document into plain text and the metadata it states about itself.

HTML goes through trafilatura (the page is parsed, never rendered: scripts, styles and
event handlers are dropped with the markup, nothing is executed), PDF through pypdf, text is
decoded as UTF-8 or, failing that, with the encoding charset-normalizer recognises (said in
`notes`). Every refusal is a DocumentError whose message names the file and says why.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

from django.conf import settings

from apps.catalog.dates import validate_partial_date

FORMATS = ("text", "html", "pdf")


class DocumentError(ValueError):
    """A document that cannot be taken in; the message is meant for the curator."""


@dataclass
class Document:
    text: str
    format: str
    filename: str = ""
    title: str = ""
    publisher: str = ""
    author: str = ""
    published: str = ""  # a partial date, only as the document states it
    url: str = ""
    language: str = ""
    notes: list[str] = field(default_factory=list)

    def metadata(self) -> dict:
        return {"title": self.title, "publisher": self.publisher, "author": self.author,
                "published": self.published, "url": self.url, "language": self.language}


def detect_format(filename: str, data: bytes) -> str:
    name = (filename or "").lower()
    head = data[:1024].lstrip().lower()
    if name.endswith(".pdf") or data[:5] == b"%PDF-":
        return "pdf"
    if name.endswith((".html", ".htm", ".xhtml")) or head.startswith((b"<!doctype html", b"<html")):
        return "html"
    return "text"


def read_document(data: bytes, *, filename: str = "", format: str = "") -> Document:
    """Plain text and stated metadata of `data` (bytes of a text, HTML or PDF file)."""
    label = filename or "the document"
    if not data or not data.strip():
        raise DocumentError(f"{label} is empty: there is no text to read.")
    fmt = format or detect_format(filename, data)
    if fmt not in FORMATS:
        raise DocumentError(f"{label}: unknown format {fmt!r} (text, html or pdf).")
    limit = settings.ARTICLE_PDF_MAX_BYTES if fmt == "pdf" else settings.ARTICLE_UPLOAD_MAX_BYTES
    if len(data) > limit:
        raise DocumentError(f"{label} is {_size(len(data))}: {fmt.upper() if fmt == 'pdf' else 'an article'} "
                            f"may be at most {_size(limit)} (setting "
                            f"{'ARTICLE_PDF_MAX_BYTES' if fmt == 'pdf' else 'ARTICLE_UPLOAD_MAX_BYTES'}).")
    reader = {"text": _read_text, "html": _read_html, "pdf": _read_pdf}[fmt]
    doc = reader(data, label)
    doc.filename = filename
    doc.text = normalize_text(doc.text)
    if not doc.text.strip():
        raise DocumentError(f"{label} has no readable text.")
    if len(doc.text) > settings.ARTICLE_MAX_TEXT_CHARS:
        raise DocumentError(f"{label} has {len(doc.text):,} characters of text: at most "
                            f"{settings.ARTICLE_MAX_TEXT_CHARS:,} are taken (setting ARTICLE_MAX_TEXT_CHARS).")
    if not doc.language:
        doc.language = guess_language(doc.text)
    if not doc.published:
        doc.published = stated_date(doc.text)
    return doc


def read_pasted(text: str) -> Document:
    doc = Document(text=normalize_text(text or ""), format="text")
    if not doc.text.strip():
        raise DocumentError("The pasted text is empty.")
    if len(doc.text) > settings.ARTICLE_MAX_TEXT_CHARS:
        raise DocumentError(f"The pasted text has {len(doc.text):,} characters: at most "
                            f"{settings.ARTICLE_MAX_TEXT_CHARS:,} are taken (setting ARTICLE_MAX_TEXT_CHARS).")
    doc.title = _first_line_title(doc.text)
    doc.language = guess_language(doc.text)
    doc.published = stated_date(doc.text)
    return doc


def normalize_text(text: str) -> str:
    """One newline convention (browsers send CRLF) and no surrounding blank space; nothing else
    changes, so offsets into the stored text stay the offsets into what the curator reads."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").strip()


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def _read_text(data: bytes, label: str) -> Document:
    notes = []
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16")
        notes.append("Decoded as UTF-16.")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            from charset_normalizer import from_bytes

            best = from_bytes(data).best()
            if best is None or best.encoding in ("utf_8",) or _garbled(str(best)):
                raise DocumentError(f"{label} is not UTF-8 text (byte {exc.start}: {data[exc.start:exc.start + 1]!r}) "
                                    "and its encoding could not be recognised: save it as UTF-8 and try again.") from exc
            text = str(best)
            notes.append(f"{label} is not UTF-8: decoded as {best.encoding}. Check the special characters.")
    if "\x00" in text or _garbled(text):
        raise DocumentError(f"{label} does not look like text (binary content).")
    return Document(text=text, format="text", title=_first_line_title(text), notes=notes)


def _garbled(text: str) -> bool:
    controls = sum(1 for ch in text[:20000] if ord(ch) < 32 and ch not in "\n\r\t\f")
    return controls > max(5, len(text[:20000]) // 100)


def _first_line_title(text: str) -> str:
    for line in text.strip().splitlines():
        line = line.strip().strip("*#_ ").strip()
        if not line:
            continue
        # A date line ("23.11.2023.") is not a title.
        if re.fullmatch(r"[\d\s./-]+", line):
            continue
        return line[:300] if len(line) <= 300 else ""
    return ""


_LANG = re.compile(rb"<html[^>]*\blang\s*=\s*[\"']?([A-Za-z]{2,3})", re.I)


def _read_html(data: bytes, label: str) -> Document:
    import trafilatura

    # Parsed only: trafilatura builds an lxml tree and drops script/style elements; nothing
    # here runs JavaScript, and the stored text is shown escaped.
    extracted = trafilatura.bare_extraction(
        data, with_metadata=True, include_comments=False, include_tables=True, favor_recall=True,
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    if extracted is None or not (extracted.text or "").strip():
        raise DocumentError(f"{label}: no article text was found in this HTML page.")
    lang = _LANG.search(data[:5000])
    published = ""
    if extracted.date:
        candidate = str(extracted.date)[:10]
        try:
            validate_partial_date(candidate)
            published = candidate
        except Exception:  # noqa: BLE001 — a malformed date in a page is simply not prefilled
            published = ""
    url = extracted.url or ""
    if url and not url.startswith(("http://", "https://")):
        url = ""
    return Document(text=extracted.text, format="html", title=(extracted.title or "")[:500],
                    publisher=(extracted.sitename or "")[:300], author=(extracted.author or "")[:300],
                    published=published, url=url[:1000],
                    language=(lang.group(1).decode().lower() if lang else (extracted.language or "")))


def _read_pdf(data: bytes, label: str) -> Document:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError(f"{label} is a password-protected PDF: remove the protection first.")
        if len(reader.pages) > settings.ARTICLE_PDF_MAX_PAGES:
            raise DocumentError(f"{label} has {len(reader.pages)} pages: at most {settings.ARTICLE_PDF_MAX_PAGES} "
                                "are read (setting ARTICLE_PDF_MAX_PAGES).")
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
        info = reader.metadata or {}
    except DocumentError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise DocumentError(f"{label} is not a readable PDF ({exc}).") from exc
    text = "\n\n".join(p for p in pages if p)
    if not text.strip():
        raise DocumentError(f"{label} has no text layer (a scanned PDF?): run OCR on it first, "
                            "or paste the text instead.")
    title = str(info.get("/Title") or "").strip() or _first_line_title(text)
    return Document(text=text, format="pdf", title=title[:500], author=str(info.get("/Author") or "").strip()[:300])


# A handful of the commonest English words: enough to tell an English text from another one;
# anything else stays blank for the curator to fill in.
_ENGLISH = set("the of and to in is was that for on with as by at from it be are has have this which were".split())


def guess_language(text: str) -> str:
    words = re.findall(r"[^\W\d_]+", text[:20000].lower())
    if len(words) < 20:
        return ""
    share = sum(1 for w in words if w in _ENGLISH) / len(words)
    return "en" if share >= 0.12 else ""


_STATED = re.compile(r"^\s*(\d{1,2})\.(\d{1,2})\.(\d{4})\.?\s*$|^\s*(\d{4})-(\d{2})-(\d{2})\s*$")


def stated_date(text: str) -> str:
    """A publication date the text states alone on one of its first lines ("23.11.2023.")."""
    for line in text.splitlines()[:5]:
        m = _STATED.match(line)
        if not m:
            continue
        day, month, year = (m.group(1), m.group(2), m.group(3)) if m.group(1) else (m.group(6), m.group(5), m.group(4))
        value = f"{int(year):04d}-{int(month):02d}-{int(day):02d}"
        try:
            validate_partial_date(value)
        except Exception:  # noqa: BLE001
            continue
        return value
    return ""
