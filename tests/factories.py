"""Small builders for tests: real rows through the real save() (and so the outbox)."""
from __future__ import annotations

import itertools

from apps.catalog.models import Citation, Entity, Record, Source

_seq = itertools.count(1)

SOURCE_TEXT = (
    "Acme Scanners Ltd won a contract worth 1,200,000 euros in 2021. "
    "The ministry later banned Acme Scanners Ltd in March 2023. "
    "Acme Holding owns 60% of Acme Scanners Ltd."
)


def make_source(**kwargs) -> Source:
    n = next(_seq)
    defaults = {"title": f"Test article {n}", "publisher": "Test Wire", "published": "2023-05-01", "text": SOURCE_TEXT}
    defaults.update(kwargs)
    source = Source(**defaults)
    source.full_clean()
    source.save()
    return source


def make_entity(name: str | None = None, kind: str = "company", **kwargs) -> Entity:
    entity = Entity(name=name or f"Entity {next(_seq)}", kind=kind, **kwargs)
    entity.save()
    return entity


def make_record(subject: Entity, object: Entity, kind: str = "contract", **kwargs) -> Record:
    record = Record(kind=kind, subject=subject, object=object, **kwargs)
    record.save()
    return record


def cite(target, quote: str, source: Source | None = None, field: str = "") -> Citation:
    source = source or make_source()
    citation = Citation(source=source, quote=quote, field=field,
                        **({"record": target} if isinstance(target, Record) else {"entity": target}))
    citation.save()
    return citation


def make_published_record(subject: Entity, object: Entity, kind: str = "contract", quote: str | None = None,
                           source: Source | None = None, **kwargs) -> Record:
    """A published record between published entities, with one verified citation."""
    from apps.catalog.vocab import Workflow

    for entity in (subject, object):
        if entity.workflow != Workflow.PUBLISHED:
            entity.workflow = Workflow.PUBLISHED
            entity.save()
    record = make_record(subject, object, kind=kind, **kwargs)
    cite(record, quote or "Acme Scanners Ltd won a contract worth 1,200,000 euros in 2021.", source)
    record.workflow = Workflow.PUBLISHED
    record.save()
    return record
