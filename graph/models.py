"""The graph read model as neomodel classes (labels, properties and constraints).

Nodes carry the label `Entity` plus one label of their kind; every record is one
relationship whose type says its kind. `manage.py install_labels` (django-neomodel)
creates the uniqueness constraints on `uid` for every label and relationship type.
"""
from django_neomodel import DjangoNode
from neomodel import (
    ArrayProperty,
    BooleanProperty,
    FloatProperty,
    IntegerProperty,
    RelationshipTo,
    StringProperty,
    StructuredRel,
)

# Record kind -> relationship type. A fixed allow-list: types never come from input.
REL_TYPES = {
    "ownership": "OWNS",
    "role": "HAS_ROLE_IN",
    "contract": "CONTRACTED",
    "ban": "BANNED",
    "loan": "LENT_TO",
    "donation": "DONATED_TO",
    "deployment": "DEPLOYED_IN",
    "investigation": "INVESTIGATED",
    "court_case": "RULED_ON",
    "statement": "STATED_ABOUT",
}

# Entity kind -> node label (besides `Entity`).
NODE_LABELS = {
    "company": "Company",
    "person": "Person",
    "public_body": "PublicBody",
    "organization": "Organization",
    "country": "Country",
    "site": "Site",
}


class RecordRel(StructuredRel):
    uid = StringProperty(unique_index=True, required=True)
    version = IntegerProperty()
    kind = StringProperty()
    title = StringProperty()
    start = StringProperty()
    end = StringProperty()
    amount = StringProperty()
    amount_value = FloatProperty()
    currency = StringProperty()
    amount_kind = StringProperty()
    share_pct = FloatProperty()
    status = StringProperty()
    procedure = StringProperty()
    direct = BooleanProperty()
    state_control = BooleanProperty()
    site = StringProperty()
    party = StringProperty()
    related = StringProperty()
    workflow = StringProperty()
    sources = ArrayProperty(StringProperty())
    publishers = IntegerProperty()


class GraphEntity(DjangoNode):
    __label__ = "Entity"

    uid = StringProperty(unique_index=True, required=True)
    version = IntegerProperty()
    # Only what traversals look up gets an index: every index is paid for on each write.
    name = StringProperty()
    kind = StringProperty(index=True)
    aliases = ArrayProperty(StringProperty())
    country = StringProperty(index=True)
    iso_code = StringProperty(index=True)
    state_owned = BooleanProperty()
    workflow = StringProperty()

    owns = RelationshipTo("GraphEntity", REL_TYPES["ownership"], model=RecordRel)
    has_role_in = RelationshipTo("GraphEntity", REL_TYPES["role"], model=RecordRel)
    contracted = RelationshipTo("GraphEntity", REL_TYPES["contract"], model=RecordRel)
    banned = RelationshipTo("GraphEntity", REL_TYPES["ban"], model=RecordRel)
    lent_to = RelationshipTo("GraphEntity", REL_TYPES["loan"], model=RecordRel)
    donated_to = RelationshipTo("GraphEntity", REL_TYPES["donation"], model=RecordRel)
    deployed_in = RelationshipTo("GraphEntity", REL_TYPES["deployment"], model=RecordRel)
    investigated = RelationshipTo("GraphEntity", REL_TYPES["investigation"], model=RecordRel)
    ruled_on = RelationshipTo("GraphEntity", REL_TYPES["court_case"], model=RecordRel)
    stated_about = RelationshipTo("GraphEntity", REL_TYPES["statement"], model=RecordRel)

    class Meta:
        app_label = "graph"


class Company(GraphEntity):
    class Meta:
        app_label = "graph"


class Person(GraphEntity):
    class Meta:
        app_label = "graph"


class PublicBody(GraphEntity):
    class Meta:
        app_label = "graph"


class Organization(GraphEntity):
    class Meta:
        app_label = "graph"


class Country(GraphEntity):
    class Meta:
        app_label = "graph"


class Site(GraphEntity):
    class Meta:
        app_label = "graph"


class Tombstone(DjangoNode):
    """Marks a deleted uid with the version of its deletion, so a late, older update
    cannot bring it back."""

    uid = StringProperty(unique_index=True, required=True)
    version = IntegerProperty()

    class Meta:
        app_label = "graph"


NODE_CLASSES = {kind: globals()[label] for kind, label in NODE_LABELS.items()}
