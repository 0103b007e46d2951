"""One function from a text to its mentions and proposed records (reads only)."""
from __future__ import annotations

from dataclasses import dataclass

from apps.articles import mentions as mention_finder
from apps.articles import nlp
from apps.articles.proposals import propose


@dataclass
class Result:
    mentions: list[mention_finder.Mention]
    proposals: list[dict]
    used_model: bool

    def as_json(self) -> dict:
        return {"mentions": [m.as_dict() for m in self.mentions], "proposals": self.proposals,
                "named_entity_model": self.used_model}


def text_analyse(*, text: str, language: str = "") -> Result:
    analysis = nlp.analyse(text, language)
    found = mention_finder.find_mentions(text, analysis, language)
    return Result(mentions=found, proposals=propose(text, analysis.sentences, found), used_model=analysis.used_model)
