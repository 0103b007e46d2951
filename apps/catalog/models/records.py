import functools
from decimal import Decimal

import pycountry
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from simple_history.models import HistoricalRecords

from apps.catalog import dates
from apps.catalog.dates import PartialDateField
from apps.catalog.ids import uuid_new
from apps.catalog.vocab import AMOUNT_KINDS, PROCEDURES, STATUSES, RecordKind, Workflow
from apps.sync.models import SyncedModel

from .entities import Entity


# The record's own fields that its graph payload reads (see record_graph_payload).
RECORD_PAYLOAD_FIELDS = ("uuid", "kind", "title", "start", "end", "amount", "currency", "amount_kind", "share_pct",
                         "status", "procedure", "attributes", "workflow")


# What the graph holds of a record, in this order (record_graph_props returns the values).
RECORD_GRAPH_PROPS = ("kind", "title", "start", "end", "amount", "amount_value", "currency", "amount_kind",
                      "share_pct", "status", "procedure", "direct", "state_control", "site", "party", "related",
                      "workflow", "sources", "publishers")


def record_graph_props(kind, title, start, end, amount, currency, amount_kind, share_pct, status, procedure,
                       attributes, workflow, site, party, related, sources) -> tuple:
    """The one projection of a record: its graph properties as a tuple in RECORD_GRAPH_PROPS
    order. The arguments are RECORD_PAYLOAD_FIELDS but uuid, in that order, then the site /
    party / related entity (record) uuids and the (source uuid, publisher) pairs of its
    citations. Positional and a tuple because the bulk export (apps.sync.parity) calls it five
    million times: a dict per record there was a third of its CPU."""
    source_uuids = set()
    publishers = set()
    for source_uuid, publisher in sources:
        source_uuids.add(str(source_uuid))
        publishers.add(publisher or str(source_uuid))
    attrs = attributes or {}
    return (kind, title, start or None, end or None, None if amount is None else str(amount),
            None if amount is None else float(amount), currency or None, amount_kind or None,
            None if share_pct is None else float(share_pct), status or None, procedure or None,
            attrs.get("direct"), attrs.get("state_control"), site, party, related, workflow,
            sorted(source_uuids), len(publishers))


def record_graph_payload(values: dict, *, s: str, o: str, site: str | None, party: str | None, related: str | None,
                         sources) -> dict:
    """What the graph holds of a record as the online writer's payload: `values` holds
    RECORD_PAYLOAD_FIELDS, s/o are its ends' uuids, the rest as record_graph_props takes them.
    Record.graph_payload() feeds it from one model instance, apps.sync.parity from plain rows."""
    props = record_graph_props(*(values[f] for f in RECORD_PAYLOAD_FIELDS[1:]), site, party, related, sources)
    return record_graph_payload_of_props(uid=str(values["uuid"]), kind=values["kind"], s=s, o=o, props=props)


def record_graph_payload_of_props(*, uid: str, kind: str, s: str, o: str, props: tuple) -> dict:
    """The payload of a record whose record_graph_props() are `props`."""
    return {"uid": uid, "kind": kind, "s": s, "o": o, "props": dict(zip(RECORD_GRAPH_PROPS, props))}


def validate_currency(value: str) -> None:
    if value and not _iso_currency(value):
        raise ValidationError("%(value)r is not an ISO 4217 currency code.", params={"value": value})


@functools.lru_cache(maxsize=1024)
def _iso_currency(value: str) -> bool:
    return pycountry.currencies.get(alpha_3=value) is not None


class Record(SyncedModel):
    """A relationship between two entities with its own dates, money, status and citations.

    `subject` and `object` mean what `vocab.ROLES` says for the record's kind
    (owner -> owned, buyer -> supplier, authority -> target, lender -> borrower, ...).
    """

    graph_aggregate = "record"
    _missing = {"invalid": "There is no entity with id %(value)r: it does not exist."}

    uuid = models.UUIDField(default=uuid_new, unique=True, editable=False)
    key = models.SlugField(max_length=100, unique=True, null=True, blank=True,
                           help_text="Stable key used by curated data files.")
    # The four ends and the kind are indexed together (Meta: record_<end>_group); no index of
    # the kind alone: a handful of values over millions of rows serves no query, and every
    # index costs every import insert.
    kind = models.CharField(max_length=16, choices=RecordKind.choices)
    subject = models.ForeignKey(Entity, on_delete=models.PROTECT, related_name="records_out", error_messages=_missing,
                                db_index=False)
    object = models.ForeignKey(Entity, on_delete=models.PROTECT, related_name="records_in", error_messages=_missing,
                               db_index=False)
    site = models.ForeignKey(Entity, on_delete=models.PROTECT, null=True, blank=True, related_name="records_at", error_messages=_missing,
                             db_index=False, help_text="Where it happens: a site or a country.")
    party = models.ForeignKey(Entity, on_delete=models.PROTECT, null=True, blank=True, related_name="records_party", error_messages=_missing,
                              db_index=False, help_text="A third party: a loan's tied supplier, a deployment's operator, ...")
    # Indexed by a partial index (Meta): nearly every record has no `related` one.
    related = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="followups",
                                db_index=False,
                                help_text="A record this one follows from: the ban a court case challenged, ...")
    title = models.CharField(max_length=300, blank=True)
    description = models.TextField(blank=True)
    start = PartialDateField()
    end = PartialDateField()
    amount = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True,
                                 validators=[MinValueValidator(Decimal("0"))])
    currency = models.CharField(max_length=3, blank=True, validators=[validate_currency])
    amount_kind = models.CharField(max_length=16, blank=True, choices=[(k, k) for k in AMOUNT_KINDS])
    share_pct = models.DecimalField(max_digits=6, decimal_places=3, null=True, blank=True,
                                    validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
                                    help_text="Ownership share in percent, where known.")
    status = models.CharField(max_length=16, blank=True, help_text="State of the relationship (see vocab.STATUSES).")
    procedure = models.CharField(max_length=20, blank=True, choices=[(p, p) for p in PROCEDURES])
    attributes = models.JSONField(default=dict, blank=True)
    workflow = models.CharField(max_length=16, choices=Workflow.choices, default=Workflow.DRAFT, db_index=True)
    flag = models.CharField(max_length=300, blank=True,
                            help_text="Why reviewers should look at it again (e.g. a quote no longer found in its source).")
    published_at = models.DateTimeField(null=True, blank=True)
    # Not indexed: no page reads records by their publisher (only deleting a user looks them up).
    published_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                     db_index=False)
    created_at = models.DateTimeField(auto_now_add=True)

    # Read by the record's id (and history_date) only: see Entity.history.
    history = HistoricalRecords(excluded_fields=["updated_at"],
                                no_db_index=["uuid", "key", "kind", "workflow", "subject", "object", "site", "party",
                                             "related", "published_by"])

    class Meta:
        ordering = ["start", "id"]
        permissions = [("publish_record", "Can publish and retract records")]
        indexes = [
            # An entity's records by each end: a group of an entity's page (its kinds) read in
            # date order, stopping after a page (selectors.browse.entity_group_page); the
            # prefix serves every lookup by the end alone (the foreign keys, merges, exports).
            *[models.Index(fields=[end, "kind", "start", "id"], name=f"record_{end}_group")
              for end in ("subject", "object")],
            # Most records have no site or party: those two leave them out, so that the
            # planner's statistics rate them as selective as they are (an index of mostly nulls
            # rates as one huge value, and SQLite then drives a query from every entity, or
            # walks the whole table in date order), and an import inserts into them less.
            *[models.Index(fields=[end, "kind", "start", "id"], name=f"record_{end}_group",
                           condition=Q(**{f"{end}__isnull": False}))
              for end in ("site", "party")],
            # The timeline reads records in date order and stops after a page.
            models.Index(fields=["start", "id"], name="record_start_id"),
            # The home page and the feeds: the latest published first (see selectors.latest).
            models.Index(Coalesce("published_at", "updated_at").desc(), F("id").desc(), name="record_published_on"),
            # The responses shown on every record card (`related_id IN (...)`). Only the few
            # records that follow another are in it, so the planner's statistics rate it as
            # selective as it is (a full index of mostly nulls rates as one huge value, and
            # SQLite then walks the whole table in date order instead).
            models.Index(fields=["related"], condition=Q(related__isnull=False), name="record_related"),
        ]

    def __str__(self):
        return self.title or f"{self.get_kind_display()}: {self.subject_id} -> {self.object_id}"

    def clean(self):
        errors: dict[str, list[str]] = {}

        def add(field, message):
            errors.setdefault(field, []).append(message)

        if self.pk:
            old_kind = type(self)._base_manager.filter(pk=self.pk).values_list("kind", flat=True).first()
            if old_kind and old_kind != self.kind:
                add("kind", "The kind of a record cannot change; create a new record instead.")
        if self.kind in STATUSES and self.status and self.status not in STATUSES[self.kind]:
            allowed = ", ".join(STATUSES[self.kind]) or "none"
            add("status", f"{self.status!r} is not a status of a {self.kind} record (allowed: {allowed}).")
        if self.amount is not None and not self.currency:
            add("currency", "An amount needs its currency.")
        if self.currency and self.amount is None:
            add("amount", "A currency without an amount.")
        if self.share_pct is not None and self.kind != RecordKind.OWNERSHIP:
            add("share_pct", "Only ownership records carry a share.")
        if self.kind == RecordKind.OWNERSHIP and self.subject_id and self.subject_id == self.object_id:
            add("object", "An entity cannot own itself.")
        if self.subject_id and self.subject_id == self.object_id and self.kind != RecordKind.STATEMENT:
            if "object" not in errors:
                add("object", "The subject and the object are the same entity.")
        try:
            if dates.ends_before_start(self.start, self.end):
                add("end", f"The end ({self.end}) is before the start ({self.start}).")
        except ValidationError:
            pass  # the field validators already report the malformed date
        if self.workflow == Workflow.PUBLISHED and not self.has_verified_citation():
            add("workflow", "A record cannot be published without at least one citation whose quote is found in its source.")
        if errors:
            raise ValidationError(errors)

    def has_verified_citation(self) -> bool:
        return bool(self.pk) and self.citations.filter(start__isnull=False).exists()

    @property
    def subject_role(self) -> str:
        from apps.catalog.vocab import ROLES

        return ROLES[RecordKind(self.kind)][0]

    @property
    def object_role(self) -> str:
        from apps.catalog.vocab import ROLES

        return ROLES[RecordKind(self.kind)][1]

    def graph_payload(self) -> dict:
        sources = []
        cached = getattr(self, "_prefetched_objects_cache", {}).get("citations")
        if cached is not None:  # a bulk write hands the citations it has just written
            sources = list({(c.source.uuid, c.source.publisher) for c in cached})
        elif self.pk:
            sources = list(self.citations.values_list("source__uuid", "source__publisher").distinct())
        return record_graph_payload(
            {f: getattr(self, f) for f in RECORD_PAYLOAD_FIELDS}, s=str(self.subject.uuid), o=str(self.object.uuid),
            site=str(self.site.uuid) if self.site_id else None, party=str(self.party.uuid) if self.party_id else None,
            related=str(self.related.uuid) if self.related_id else None, sources=sources)
