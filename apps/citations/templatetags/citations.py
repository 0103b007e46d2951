"""Template pieces shared with other pages: the evidence badge and the Cite button.

    {% load citations %}
    {% evidence_badge record %}      strength of evidence (+ the subject's response, if any)
    {% cite_button record %}         a <details> that loads the ready-to-paste citation
    {% cite_button entity "fact:founded" %}   the same for one fact of an entity
"""
from django import template
from django.urls import reverse
from django.utils.text import slugify

from apps.catalog.models import Record
from apps.citations.selectors import record_evidence

register = template.Library()


@register.inclusion_tag("citations/partials/evidence_badge.html")
def evidence_badge(record):
    return {"record": record, "evidence": record_evidence(record)}


@register.inclusion_tag("citations/partials/cite_button.html")
def cite_button(target, fact=""):
    if isinstance(target, Record):
        url = reverse("citations:cite_record", args=[target.uuid])
    else:
        url = reverse("citations:cite_entity", args=[target.uuid])
        if fact:
            from urllib.parse import urlencode

            url += "?" + urlencode({"fact": fact})
    sep = "&" if "?" in url else "?"
    return {"url": url, "sep": sep, "target": target, "ident": f"cite-{target.uuid}" + (f"-{slugify(fact)}" if fact else "")}
