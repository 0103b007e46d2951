"""Country names and adjectives ("Lithuanian", "Belgian") to ISO 3166-1 codes, with pycountry.

Regular adjectives are recognised by their stem (Lithuan-ian -> Lithuania, Belgi-an ->
Belgium, Fin-nish -> Finland); the irregular ones of English are listed.
"""
from __future__ import annotations

import functools

import pycountry

from apps.catalog.models.entities import EXTRA_COUNTRY_CODES
from apps.catalog.text import normalize_name

IRREGULAR = {
    "american": "US", "dutch": "NL", "french": "FR", "british": "GB", "english": "GB", "swiss": "CH",
    "greek": "GR", "czech": "CZ", "finnish": "FI", "norwegian": "NO", "icelandic": "IS", "danish": "DK", "swedish": "SE", "irish": "IE", "welsh": "GB",
    "scottish": "GB", "turkish": "TR", "spanish": "ES", "thai": "TH", "filipino": "PH", "kosovar": "XK",
    "emirati": "AE", "saudi": "SA", "peruvian": "PE", "malagasy": "MG", "cypriot": "CY", "maltese": "MT",
    "portuguese": "PT", "congolese": "CD", "lebanese": "LB", "vietnamese": "VN", "burmese": "MM",
}
_SUFFIXES = ("ians", "ian", "eans", "ean", "ans", "an", "ish", "ese", "ic", "i", "ns", "n")


@functools.lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    names: dict[str, str] = {}
    for c in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            value = getattr(c, attr, None)
            if value:
                names.setdefault(normalize_name(value), c.alpha_2)
    for code, name in EXTRA_COUNTRY_CODES.items():
        names[normalize_name(name)] = code
    names.update({"usa": "US", "us": "US", "uk": "GB", "russia": "RU", "south korea": "KR", "north korea": "KP",
                  "iran": "IR", "syria": "SY", "vietnam": "VN", "laos": "LA", "taiwan": "TW"})
    return names


def country_code(text: str) -> str:
    """ISO code of a country name or adjective, or ""."""
    norm = normalize_name(text)
    if not norm:
        return ""
    names = _names()
    if norm in names:
        return names[norm]
    if norm in IRREGULAR:
        return IRREGULAR[norm]
    if " " in norm or len(norm) < 5:
        return ""
    for suffix in _SUFFIXES:
        if norm.endswith(suffix) and len(norm) - len(suffix) >= 3:
            stem = norm[: -len(suffix)]
            hits = {code for name, code in names.items()
                    if " " not in name and name.startswith(stem) and len(name) - len(stem) <= 3}
            if len(hits) == 1:
                return hits.pop()
    return ""


def is_country_name(text: str) -> bool:
    """Whether `text` is a country's name (rather than its adjective)."""
    norm = normalize_name(text)
    for suffix in (" s", ""):
        if suffix and norm.endswith(suffix):
            norm = norm[: -len(suffix)]
    return norm in _names()
