import functools

import pycountry
from django.core.exceptions import ValidationError
from django.db import models
from simple_history.models import HistoricalRecords

from apps.catalog.ids import uuid_new
from apps.catalog.text import normalize_name
from apps.catalog.vocab import EntityKind, Workflow
from apps.sync.models import SyncedModel

# Kosovo has no ISO 3166-1 code; XK is the user-assigned code everyone uses for it.
EXTRA_COUNTRY_CODES = {"XK": "Kosovo"}


def validate_country_code(value: str) -> None:
    if value and value not in EXTRA_COUNTRY_CODES and not _iso_country(value):
        raise ValidationError("%(value)r is not an ISO 3166-1 alpha-2 country code.", params={"value": value})


@functools.lru_cache(maxsize=1024)
def _iso_country(value: str) -> bool:
    # Remembered: an import checks the same few codes millions of times.
    return pycountry.countries.get(alpha_2=value) is not None


def country_name(code: str) -> str:
    if not code:
        return ""
    if code in EXTRA_COUNTRY_CODES:
        return EXTRA_COUNTRY_CODES[code]
    country = pycountry.countries.get(alpha_2=code)
    return getattr(country, "common_name", None) or (country.name if country else code)


# What the graph holds of an entity, in this order (entity_graph_props returns the values).
ENTITY_GRAPH_PROPS = ("name", "kind", "aliases", "country", "iso_code", "state_owned", "workflow")


def entity_graph_props(kind: str, name: str, aliases: list[str], country: str, iso_code: str | None,
                       state_owned: bool | None, workflow: str) -> tuple:
    """The one projection of an entity: its graph properties as a tuple in ENTITY_GRAPH_PROPS
    order (a tuple, like record_graph_props, for the bulk export's sake)."""
    return (name, kind, aliases, country or None, iso_code or None, state_owned, workflow)


def entity_graph_payload(*, uid: str, kind: str, name: str, aliases: list[str], country: str, iso_code: str | None,
                         state_owned: bool | None, workflow: str) -> dict:
    """What the graph holds of an entity as the online writer's payload: Entity.graph_payload()
    for one entity, apps.sync.parity's rebuild from plain rows for all of them."""
    return entity_graph_payload_of_props(uid=uid, kind=kind, props=entity_graph_props(
        kind, name, aliases, country, iso_code, state_owned, workflow))


def entity_graph_payload_of_props(*, uid: str, kind: str, props: tuple) -> dict:
    """The payload of an entity whose entity_graph_props() are `props`."""
    return {"uid": uid, "kind": kind, "props": dict(zip(ENTITY_GRAPH_PROPS, props))}


class Entity(SyncedModel):
    """A node of the graph: a company, person, public body, organization, country or site."""

    graph_aggregate = "entity"

    uuid = models.UUIDField(default=uuid_new, unique=True, editable=False)
    key = models.SlugField(max_length=100, unique=True, null=True, blank=True,
                           help_text="Stable key used by curated data files.")
    kind = models.CharField(max_length=16, choices=EntityKind.choices, db_index=True)
    name = models.CharField(max_length=500)
    name_norm = models.CharField(max_length=500, editable=False, db_index=True)
    country = models.CharField(max_length=2, blank=True, db_index=True, validators=[validate_country_code],
                               help_text="ISO 3166-1 alpha-2 code.")
    iso_code = models.CharField(max_length=2, blank=True, null=True, unique=True, validators=[validate_country_code],
                                help_text="For countries: their own ISO 3166-1 alpha-2 code.")
    state_owned = models.BooleanField(null=True, blank=True, help_text="Owned or controlled by a state, where a source says so.")
    description = models.TextField(blank=True)
    identifiers = models.JSONField(default=dict, blank=True)
    # The review state (draft -> review -> published -> retracted), as on records. Further
    # facts live in `Fact`, one row per (field, value), each with its own citations.
    workflow = models.CharField(max_length=16, choices=Workflow.choices, default=Workflow.DRAFT, db_index=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    # Every change (who, when, what); `touch()` re-projections are skipped (nothing of
    # the entity itself changed). `updated_at` would make every row differ, so it is left out.
    # History is read by the entity's id (and history_date) only: the indexes its copied
    # fields would inherit cost every write (a random uuid's above all) and serve no query.
    history = HistoricalRecords(excluded_fields=["updated_at", "name_norm"],
                                no_db_index=["uuid", "key", "kind", "country", "iso_code", "workflow", "published_by"])

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "entities"
        permissions = [
            ("publish_entity", "Can publish and retract entities"),
            ("merge_entity", "Can merge duplicate entities"),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        errors = {}
        # A country carries its ISO code where it has one (Kosovo has none in ISO 3166-1).
        if self.kind == EntityKind.COUNTRY:
            if self.iso_code and self.country and self.country != self.iso_code:
                errors["country"] = "A country's country is itself."
        elif self.iso_code:
            errors["iso_code"] = "Only countries carry an ISO code of their own."
        if errors:
            raise ValidationError(errors)

    def normalize(self) -> None:
        """What every write stores besides the given values (save() and the bulk writes)."""
        self.name = (self.name or "").strip()
        self.name_norm = normalize_name(self.name)
        if self.kind == EntityKind.COUNTRY and self.iso_code:
            self.country = self.iso_code
        if self.iso_code == "":
            self.iso_code = None

    def save(self, *args, **kwargs):
        self.normalize()
        super().save(*args, **kwargs)

    def graph_payload(self) -> dict:
        from apps.catalog.selectors.visibility import public_alias_names

        return entity_graph_payload(uid=str(self.uuid), kind=self.kind, name=self.name,
                                    aliases=public_alias_names(self) if self.pk else [], country=self.country,
                                    iso_code=self.iso_code, state_owned=self.state_owned, workflow=self.workflow)

    @property
    def country_name(self) -> str:
        return country_name(self.country)


class Alias(models.Model):
    """Another name of an entity, as some source spells it ("Nuotech" for Nuctech).

    A name is a claim like any other: it is public only once reviewed (`workflow`
    published, with a verified citation) and while its entity is public.
    """

    entity = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="aliases")
    name = models.CharField(max_length=500)
    name_norm = models.CharField(max_length=500, editable=False, db_index=True)
    workflow = models.CharField(max_length=16, choices=Workflow.choices, default=Workflow.DRAFT, db_index=True)

    history = HistoricalRecords(excluded_fields=["name_norm"], no_db_index=["workflow"])  # see Entity.history

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["entity", "name"], name="alias_unique_per_entity")]
        verbose_name_plural = "aliases"

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        from django.db import transaction

        self.name = (self.name or "").strip()
        self.name_norm = normalize_name(self.name)
        with transaction.atomic():
            super().save(*args, **kwargs)
            self.entity.touch()

    def delete(self, *args, **kwargs):
        from django.db import transaction

        with transaction.atomic():
            result = super().delete(*args, **kwargs)
            self.entity.touch()
        return result


class Fact(models.Model):
    """One value of one field of an entity ("founded" = "1997"), with its own citations.

    Two sources that say different things make two facts side by side, each backed by its
    own quotes; a fact is public only once reviewed and while its entity is public.
    """

    entity = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="fact_set")
    field = models.CharField(max_length=100)
    value = models.TextField()
    workflow = models.CharField(max_length=16, choices=Workflow.choices, default=Workflow.DRAFT, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(no_db_index=["workflow"])  # read by entity_id (see Entity.history)

    class Meta:
        ordering = ["field", "id"]
        constraints = [models.UniqueConstraint(fields=["entity", "field", "value"], name="fact_unique_value")]

    def __str__(self):
        return f"{self.field}: {self.value}"

    def clean(self):
        self.field = (self.field or "").strip()
        self.value = (self.value or "").strip()
        errors = {}
        if not self.field:
            errors["field"] = "A fact needs the name of its field."
        if not self.value:
            errors["value"] = "A fact needs a value."
        if errors:
            raise ValidationError(errors)


class NameKey(models.Model):
    """A blocking key of one of an entity's names (apps.catalog.text.name_keys): entities
    that share a key (and a kind) are compared as possible duplicates; entities that share
    none never are, so finding candidates is an indexed lookup, not a comparison of every
    pair. Derived data, kept in step by apps.catalog.signals (and `name_keys_rebuild`)."""

    entity = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16)
    key = models.CharField(max_length=64)
    # For a typo key: the word it was made from. A typo block is worth reading only when it
    # joins two different words ("nuctech" / "nuotech"); one word's own typo keys are
    # shared by everything sharing the word, which its word key finds already.
    head = models.CharField(max_length=32, blank=True)

    class Meta:
        indexes = [models.Index(fields=["key", "kind", "head", "entity"], name="name_key_block")]

    def __str__(self):
        return f"{self.kind}:{self.key}"
