"""Reads behind the article pages."""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from apps.articles import nlp
from apps.articles.models import Article, Proposal
from apps.catalog.dates import format_partial_date
from apps.catalog.vocab import ROLES, EntityKind, RecordKind


def article_list() -> QuerySet:
    return (Article.objects.select_related("source", "created_by")
            .annotate(n_pending=Count("proposals", filter=Q(proposals__state=Proposal.State.PENDING)),
                      n_proposals=Count("proposals")))


@dataclass
class Segment:
    text: str
    mention: dict | None = None
    index: int | None = None


def article_segments(article: Article) -> list[Segment]:
    """The stored text cut at the mentions, in order, for highlighting (escaped in the template)."""
    text = article.source.text
    segments, cursor = [], 0
    for index, m in sorted(enumerate(article.mentions), key=lambda im: (im[1]["start"], -im[1]["end"])):
        if m["start"] < cursor:
            continue
        if m["start"] > cursor:
            segments.append(Segment(text[cursor:m["start"]]))
        segments.append(Segment(text[m["start"]:m["end"]], m, index))
        cursor = m["end"]
    if cursor < len(text):
        segments.append(Segment(text[cursor:]))
    return segments


def mention_groups(article: Article) -> dict:
    """Mentions listed beside the text: known entities (once each), unknown names, dates, amounts."""
    known, names, dates, amounts = {}, {}, [], []
    for index, m in enumerate(article.mentions):
        if m["type"] == "entity" or m.get("entity_uuid"):
            entry = known.setdefault(m["entity_uuid"], {"name": m["entity_name"], "kind": m.get("kind", ""),
                                                         "uuid": m["entity_uuid"], "texts": set(), "count": 0,
                                                         "public": m.get("workflow") == "published"})
            entry["texts"].add(m["text"])
            entry["count"] += 1
        elif m["type"] == "name":
            names.setdefault(m["text"], {"text": m["text"], "kind": m.get("kind", ""), "label": m.get("label", ""),
                                         "index": index, "count": 0})["count"] += 1
        elif m["type"] == "date":
            dates.append({**m, "human": format_partial_date(m["value"]), "index": index})
        elif m["type"] == "amount":
            amounts.append({**m, "index": index})
    for entry in known.values():
        entry["others"] = sorted(t for t in entry["texts"] if t != entry["name"])
    return {"known": sorted(known.values(), key=lambda e: (-e["count"], e["name"])),
            "names": sorted(names.values(), key=lambda e: (-e["count"], e["text"])),
            "dates": dates, "amounts": amounts}


def party_choices(article: Article) -> list[tuple[str, str]]:
    """What a proposal's subject or object may be set to: the entities and names the article mentions."""
    seen, out = set(), []
    for m in article.mentions:
        if m["type"] not in ("entity", "name"):
            continue
        if m.get("entity_uuid"):
            value, label = f"e:{m['entity_uuid']}", m["entity_name"]
        else:
            value, label = f"n:{m.get('kind') or 'organization'}:{m['text']}", f"{m['text']} (new {m.get('kind') or 'entity'})"
        if value not in seen:
            seen.add(value)
            out.append((value, label))
    return sorted(out, key=lambda c: c[1].lower())


def _party_value(entity, name: str, kind: str) -> str:
    return f"e:{entity.uuid}" if entity is not None else f"n:{kind or 'organization'}:{name}"


def article_page(article: Article) -> dict:
    proposals = list(article.proposals.select_related("subject_entity", "object_entity", "matches", "record",
                                                      "matches__subject", "matches__object", "site_entity"))
    choices = party_choices(article)
    values = {value for value, _ in choices}
    for p in proposals:
        roles = ROLES.get(RecordKind(p.kind), ("subject", "object"))
        p.subject_role, p.object_role = roles
        p.subject_value = _party_value(p.subject_entity, p.subject_name, p.subject_kind)
        p.object_value = _party_value(p.object_entity, p.object_name, p.object_kind)
        for value, name in ((p.subject_value, p.subject_name), (p.object_value, p.object_name)):
            if value not in values:
                values.add(value)
                choices.append((value, name))
    return {
        "article": article,
        "source": article.source,
        "segments": article_segments(article),
        "groups": mention_groups(article),
        "proposals": proposals,
        "pending": [p for p in proposals if p.state == Proposal.State.PENDING],
        "decided": [p for p in proposals if p.state != Proposal.State.PENDING],
        "model": nlp.model_status(article.source.language),
        "choices": choices,
        "entity_kinds": EntityKind.choices,
        "record_kinds": RecordKind.choices,
    }
