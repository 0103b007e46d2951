import pytest

from tests.personas import *  # noqa: F401,F403

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "data" / "casestudy" / "sources"


@pytest.fixture
def casestudy(db):
    """The case study's entities and records, published (the catalogue a curator reads against)."""
    from apps.ingest.casestudy import load_casestudy

    load_casestudy()


def text_pdf(lines: list[str]) -> bytes:
    """A one-page PDF whose page carries `lines` as real text (Helvetica), built by hand."""
    stream = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(f"({line}) Tj T*" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def scanned_pdf() -> bytes:
    """A PDF with a page and no text layer (what a scan without OCR looks like to a reader)."""
    import io

    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


ARTICLE_HTML = """<!doctype html>
<html lang="en"><head>
<title>Belgium excludes Nuotech from scanner tender | Example News</title>
<meta property="og:site_name" content="Example News">
<meta name="author" content="Jane Roe">
<meta property="article:published_time" content="2023-11-23">
<link rel="canonical" href="https://news.example.org/belgium-nuctech">
<script>window.__pwned = true; document.title = "PWNED";</script>
</head><body onload="window.__onload = true">
<article>
<h1>Belgium excludes Nuotech from scanner tender</h1>
<p>This year, Belgium also decided to exclude Nuotech from the tender for the supply of X-ray scanners for the control of vehicles and containers.</p>
<script>document.write("<p>INJECTED TEXT</p>")</script>
<p>According to the company's website, Nuctech donated equipment to Serbia in 2020 to fight the pandemic.</p>
<p>The Ministry of Finance of Georgia signed a contract with Nuctech worth $6.8 million on 12 March 2019.</p>
<p>Wendy Example-Smith, a spokesperson for the Zeta Logistics Group, declined to comment.</p>
</article></body></html>
"""
