"""Bad input at the door: every refusal names the file and says why; nothing is stored."""
import pytest
from django.test import override_settings

from apps.articles.reading import DocumentError, read_document, read_pasted
from tests.articles.conftest import ARTICLE_HTML, scanned_pdf, text_pdf


def test_it_refuses_an_empty_file():
    with pytest.raises(DocumentError, match=r"empty\.txt is empty"):
        read_document(b"  \n ", filename="empty.txt")


def test_it_refuses_a_pdf_over_the_size_limit():
    with override_settings(ARTICLE_PDF_MAX_BYTES=1000):
        with pytest.raises(DocumentError, match=r"big\.pdf is .*at most 1 KB \(setting ARTICLE_PDF_MAX_BYTES\)"):
            read_document(b"%PDF-1.4\n" + b"0" * 5000, filename="big.pdf")


def test_it_says_a_scanned_pdf_has_no_text():
    with pytest.raises(DocumentError, match=r"scan\.pdf has no text layer \(a scanned PDF\?\)"):
        read_document(scanned_pdf(), filename="scan.pdf")


def test_it_reads_the_text_of_a_pdf():
    doc = read_document(text_pdf(["Nuctech won a contract in Finland.", "Second line."]), filename="a.pdf")
    assert doc.format == "pdf"
    assert "Nuctech won a contract in Finland." in doc.text


def test_it_refuses_a_broken_pdf_clearly():
    with pytest.raises(DocumentError, match=r"broken\.pdf is not a readable PDF"):
        read_document(b"%PDF-1.4\nthis is not a pdf at all", filename="broken.pdf")


def test_it_decodes_a_text_that_is_not_utf8_and_says_so():
    data = "Café Nuctech in Zürich: a contract with the Ministère de l'Intérieur, signed in Genève.\n".encode("cp1252")
    doc = read_document(data * 3, filename="latin.txt")
    assert "Café Nuctech in Zürich" in doc.text
    assert any("not UTF-8" in note for note in doc.notes)


def test_it_refuses_binary_content_posing_as_text():
    with pytest.raises(DocumentError, match="binary.txt"):
        read_document(bytes(range(256)) * 20, filename="binary.txt")


def test_it_keeps_scripts_out_of_the_text_of_an_html_page():
    doc = read_document(ARTICLE_HTML.encode(), filename="article.html")
    assert doc.format == "html"
    assert "INJECTED" not in doc.text and "__pwned" not in doc.text and "document.write" not in doc.text
    assert "This year, Belgium also decided to exclude Nuotech" in doc.text


def test_it_prefills_what_an_html_page_states_about_itself():
    doc = read_document(ARTICLE_HTML.encode(), filename="article.html")
    assert doc.publisher == "Example News"
    assert doc.author == "Jane Roe"
    assert doc.published == "2023-11-23"
    assert doc.url == "https://news.example.org/belgium-nuctech"
    assert doc.language == "en"
    assert "Nuotech" in doc.title


def test_it_takes_the_date_a_text_states_on_its_first_line():
    doc = read_pasted("23.11.2023.\r\n\r\nChinese equipment installed in Serbia\r\nThe text follows here.")
    assert doc.published == "2023-11-23"
    assert doc.title == "Chinese equipment installed in Serbia"
    assert "\r" not in doc.text


def test_it_refuses_an_empty_paste():
    with pytest.raises(DocumentError, match="pasted text is empty"):
        read_pasted(" \r\n ")
