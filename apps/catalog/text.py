"""Name normalisation shared by search, duplicates and the graph projection."""
import re
import unicodedata

from unidecode import unidecode

_SPACES = re.compile(r"[^a-z0-9]+")


def normalize_name(value: str) -> str:
    """Lower-case ASCII, accents folded, punctuation collapsed: 'Nüctech Co.' -> 'nuctech co'."""
    folded = unidecode(unicodedata.normalize("NFKC", value or "")).lower()
    return _SPACES.sub(" ", folded).strip()


def normalize_quote(value: str) -> str:
    """Whitespace-insensitive form used to locate quotes in a source text."""
    return " ".join((value or "").split())
