"""Name normalisation: the one home for how names compare, used by search, import
matching, the duplicates page and the graph projection.

- `normalize_name`: the stored `name_norm` (lower-case ASCII; Cyrillic and Chinese
  transliterated by unidecode, which spells Калашников "kalashnikov" as an English reader
  would type it). Kept stable: search indexes and stored values depend on it.
- `core_name`: the name without its legal form, so "NUCTECH COMPANY LIMITED", "Nuctech
  Co., Ltd." and "同方威视技术股份有限公司"'s "...gong si" compare on what names the firm.
  Legal forms in every language come from `rigour.names` (Sp. z o.o., ООО, GmbH & Co. KG,
  S.p.A., ...), applied to the original script before transliteration; a short list of
  generic words rigour keeps ("company", "group", ...) goes after it.
- `name_keys`: the blocking keys of a name (see apps/catalog/selectors/matching.py).
"""
import re
import unicodedata
from functools import lru_cache

from rigour.names import remove_org_types
from unidecode import unidecode

_SPACES = re.compile(r"[^a-z0-9]+")

# Words that say nothing about which firm it is, kept by rigour because they are not legal
# forms on their own ("Nuctech Company" is "Nuctech"), and transliterated Chinese forms
# (有限公司 "you xian gong si": limited company).
GENERIC_WORDS = frozenset({"co", "company", "companies", "corp", "corporation", "inc", "ltd", "limited", "llc",
                           "plc", "group", "holding", "holdings", "the", "and", "of"})
_GENERIC_PHRASES = re.compile(r"\b(?:gu fen )?(?:you xian (?:ze ren )?)?gong si\b|\bji tuan\b")


def normalize_name(value: str) -> str:
    """Lower-case ASCII, accents folded, punctuation collapsed: 'Nüctech Co.' -> 'nuctech co'."""
    folded = unidecode(unicodedata.normalize("NFKC", value or "")).lower()
    return _SPACES.sub(" ", folded).strip()


@lru_cache(maxsize=65536)
def core_name(value: str) -> str:
    """The normalised name without legal forms and generic words: 'NUCTECH COMPANY LIMITED',
    'Nuctech Co., Ltd.' and 'Nüctech GmbH & Co. KG' are all 'nuctech'. A name that is
    nothing but such words ("Holding") stays as it is."""
    text = unicodedata.normalize("NFKC", value or "").casefold()
    previous = None
    while previous != text:  # "Co., Ltd." is two forms: remove until nothing changes
        previous, text = text, remove_org_types(text, replacement=" ")
    norm = _GENERIC_PHRASES.sub(" ", normalize_name(text))
    core = " ".join(t for t in norm.split() if t not in GENERIC_WORDS)
    return core or normalize_name(value)


TYPO_KEY = "~"  # marks the keys of the first word with one letter left out


def name_keys(value: str) -> set[str]:
    """Blocking keys of a name: two names that may be the same share at least one.

    Every word of the core name (3 letters or more; the whole core when it has none), and
    for the first word (usually what names the firm; 6 to 14 letters) each form with one letter left out, so
    a typo ("Nuotech" / "Nuctech": both give "nutech") still shares a key."""
    core = core_name(value)
    words = [w for w in core.split() if len(w) >= 3][:8]
    if not words:
        return {core} if core else set()
    keys = set(words)
    head = words[0]
    if 6 <= len(head) <= 14:  # shorter words: too many other words one letter away
        keys.update(TYPO_KEY + head[:i] + head[i + 1:] for i in range(len(head)))
    return keys


def head_word(value: str) -> str:
    """The first word of the core name, the one whose typo keys `name_keys` makes."""
    words = [w for w in core_name(value).split() if len(w) >= 3]
    return words[0] if words else ""


def normalize_quote(value: str) -> str:
    """Whitespace-insensitive form used to locate quotes in a source text."""
    return " ".join((value or "").split())
