"""How well the proposer finds the case study's records (manage.py article_eval).

The three source articles are read as files (as `article_propose` reads them) and their
proposals compared with the records curated from them in data/casestudy/nuctech.json:
recall is the share of those records proposed with the right kind and both parties (in
either order), precision the share of proposals that match such a record.

The catalogue knows the case study's entities (as after `load_casestudy`), none of its
records are used: the evaluation loads the file in a transaction it rolls back, so it
writes nothing.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction

from apps.articles.analysis import text_analyse
from apps.articles.reading import read_document
from apps.catalog.text import normalize_name

CASESTUDY = Path(settings.BASE_DIR) / "data" / "casestudy"
KINDS = ("contract", "ban", "loan", "donation", "investigation", "ownership", "role", "court_case")


@dataclass
class Outcome:
    gold: list[dict]
    proposals: list[dict]
    found: set = field(default_factory=set)
    right: int = 0
    misses: list[dict] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return len(self.found) / len(self.gold) if self.gold else 0.0

    @property
    def precision(self) -> float:
        return self.right / len(self.proposals) if self.proposals else 0.0


class _Rollback(Exception):
    pass


def article_evaluate(path: Path = CASESTUDY / "nuctech.json") -> Outcome:
    from apps.ingest.casestudy import load_casestudy

    data = json.loads(Path(path).read_text(encoding="utf-8"))
    result: list[Outcome] = []
    try:
        with transaction.atomic():
            load_casestudy(path, publish=True)
            result.append(_evaluate(data, Path(path).parent / "sources"))
            raise _Rollback
    except _Rollback:
        pass
    return result[0]


def _evaluate(data: dict, folder: Path) -> Outcome:
    from apps.catalog.models import Entity

    uuid_to_key = {str(u): k for u, k in Entity.objects.exclude(key=None).values_list("uuid", "key")}
    name_to_key = {}
    for entity in data["entities"]:
        for name in [entity["name"], *[a["name"] for a in entity.get("aliases", [])]]:
            name_to_key.setdefault(normalize_name(name), entity["key"])
    gold = []
    for record in data["records"]:
        if record["kind"] not in KINDS:
            continue
        cited = sorted({c["source"] for c in record["citations"]})
        gold.append({"key": record["key"], "kind": record["kind"], "parties": {record["subject"], record["object"]},
                     "subject": record["subject"], "object": record["object"], "sources": cited})
    proposals = []
    for source in data["sources"]:
        doc = read_document((folder / source["file"]).read_bytes(), filename=source["file"])
        for p in text_analyse(text=doc.text, language=doc.language).proposals:
            p["source"] = source["key"]
            p["parties"] = {_key(p["subject"], uuid_to_key, name_to_key), _key(p["object"], uuid_to_key, name_to_key)}
            proposals.append(p)
    outcome = Outcome(gold=gold, proposals=proposals)
    for p in proposals:
        hit = [g for g in gold if g["kind"] == p["kind"] and g["parties"] == p["parties"]]
        p["right"] = bool(hit)
        p["direction"] = any(_key(p["subject"], uuid_to_key, name_to_key) == g["subject"] for g in hit)
        outcome.right += bool(hit)
        outcome.found.update(g["key"] for g in hit)
    outcome.misses = [g for g in gold if g["key"] not in outcome.found]
    return outcome


def _key(party: dict, uuid_to_key: dict, name_to_key: dict) -> str:
    if party.get("entity"):
        return uuid_to_key.get(party["entity"], party["entity"])
    return name_to_key.get(normalize_name(party["name"]), "new:" + party["name"])
