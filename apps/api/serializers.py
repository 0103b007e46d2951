"""API representations. One noun keeps one name: the fields are the models' fields."""
from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers

from apps.catalog.models import Citation, Entity, Fact, Record, Source
from apps.catalog.selectors.visibility import related_if_public
from apps.catalog.vocab import Workflow
from apps.citations.selectors import record_evidence


class EntityRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Entity
        fields = ["uuid", "name", "kind", "country"]


class SourceRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Source
        fields = ["uuid", "title", "publisher", "published", "url", "source_type"]


class CitationSerializer(serializers.ModelSerializer):
    source = SourceRefSerializer()
    found = serializers.BooleanField(read_only=True)

    class Meta:
        model = Citation
        fields = ["source", "field", "quote", "start", "end", "found"]


class EntitySerializer(serializers.ModelSerializer):
    aliases = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = Entity
        fields = ["uuid", "key", "kind", "name", "aliases", "country", "iso_code", "state_owned", "workflow", "url"]

    def get_aliases(self, obj) -> list[str]:
        return [a.name for a in obj.aliases.all()]

    def get_url(self, obj) -> str:
        request = self.context.get("request")
        path = reverse("api:entity-detail", args=[obj.uuid])
        return request.build_absolute_uri(path) if request else path


class FactSerializer(serializers.ModelSerializer):
    citations = CitationSerializer(many=True)

    class Meta:
        model = Fact
        fields = ["field", "value", "workflow", "citations"]


class EntityDetailSerializer(EntitySerializer):
    """An entity with its facts (one row per value, each with its own citations: two
    sources that disagree are both shown) and the citations of the entity itself."""

    citations = serializers.SerializerMethodField()
    facts = serializers.SerializerMethodField()

    class Meta(EntitySerializer.Meta):
        fields = EntitySerializer.Meta.fields + ["description", "facts", "identifiers", "citations", "version",
                                                 "published_at"]

    def get_citations(self, obj) -> list[dict]:
        rows = getattr(obj, "shown_citations", None)
        if rows is None:  # a fresh write, answered to its curator
            rows = obj.citations.filter(record__isnull=True).select_related("source")
        return CitationSerializer(rows, many=True).data

    def get_facts(self, obj) -> list[dict]:
        rows = getattr(obj, "shown_facts", None)
        if rows is None:
            rows = obj.fact_set.prefetch_related("citations__source")
        return FactSerializer(rows, many=True).data


class ResponseSerializer(serializers.Serializer):
    record = serializers.UUIDField(source="record.uuid")
    title = serializers.CharField(source="record.title")
    speaker = EntityRefSerializer()
    stance = serializers.CharField()
    citations = CitationSerializer(many=True)


class EvidenceSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=["disputed", "confirmed", "corroborated", "reported", "unsourced"])
    label = serializers.CharField()
    support = serializers.CharField()
    summary = serializers.CharField()
    publishers = serializers.ListField(child=serializers.CharField())
    primary_sources = SourceRefSerializer(many=True)
    responses = ResponseSerializer(many=True)


class RecordSerializer(serializers.ModelSerializer):
    subject = EntityRefSerializer()
    object = EntityRefSerializer()
    site = EntityRefSerializer(allow_null=True)
    party = EntityRefSerializer(allow_null=True)
    related = serializers.SerializerMethodField()
    amount = serializers.DecimalField(max_digits=20, decimal_places=2, coerce_to_string=True, allow_null=True)
    share_pct = serializers.DecimalField(max_digits=6, decimal_places=3, coerce_to_string=True, allow_null=True)
    evidence = serializers.SerializerMethodField()
    citations = CitationSerializer(many=True)
    permalink = serializers.SerializerMethodField()

    class Meta:
        model = Record
        fields = ["uuid", "key", "kind", "title", "description", "subject", "object", "site", "party", "related",
                  "start", "end", "amount", "currency", "amount_kind", "share_pct", "status", "procedure",
                  "attributes", "workflow", "published_at", "version", "permalink", "evidence", "citations"]

    def get_related(self, obj) -> str | None:
        """The record this one follows from, only when that one is public."""
        related = related_if_public(obj)
        return str(related.uuid) if related is not None else None

    def get_evidence(self, obj) -> EvidenceSerializer:
        return EvidenceSerializer(record_evidence(obj)).data

    def get_permalink(self, obj) -> str:
        request = self.context.get("request")
        path = reverse("citations:record", args=[obj.uuid])
        return request.build_absolute_uri(path) if request else path


class SourceSerializer(serializers.ModelSerializer):
    url_page = serializers.SerializerMethodField()

    class Meta:
        model = Source
        fields = ["uuid", "key", "title", "publisher", "author", "published", "url", "language", "source_type",
                  "content_hash", "url_page"]

    def get_url_page(self, obj) -> str:
        request = self.context.get("request")
        path = reverse("citations:source", args=[obj.uuid])
        return request.build_absolute_uri(path) if request else path


class SourceDetailSerializer(SourceSerializer):
    records = serializers.SerializerMethodField()
    facts = serializers.SerializerMethodField()

    class Meta(SourceSerializer.Meta):
        fields = SourceSerializer.Meta.fields + ["records", "facts"]

    def get_records(self, obj) -> list[dict]:
        page = self.context["page"]
        return [{"record": str(item["record"].uuid), "title": item["record"].title, "kind": item["record"].kind,
                 "subject": EntityRefSerializer(item["record"].subject).data,
                 "object": EntityRefSerializer(item["record"].object).data,
                 "quotes": [c.quote for c in item["citations"]]} for item in page["records"]]

    def get_facts(self, obj) -> list[dict]:
        page = self.context["page"]
        return [{"entity": EntityRefSerializer(c.entity).data, "field": c.field, "quote": c.quote}
                for c in page["facts"]]


# --- writes (curators) ------------------------------------------------------------------------

class _EntityByUuid(serializers.SlugRelatedField):
    def __init__(self, **kwargs):
        super().__init__(slug_field="uuid", queryset=Entity.objects.all(), **kwargs)


class RecordWriteSerializer(serializers.Serializer):
    """A draft record. Entities are given by uuid; the model validates the rest."""

    kind = serializers.ChoiceField(choices=Record._meta.get_field("kind").choices)
    subject = _EntityByUuid()
    object = _EntityByUuid()
    site = _EntityByUuid(required=False, allow_null=True)
    party = _EntityByUuid(required=False, allow_null=True)
    related = serializers.SlugRelatedField(slug_field="uuid", queryset=Record.objects.all(), required=False,
                                           allow_null=True)
    title = serializers.CharField(required=False, allow_blank=True, max_length=300)
    description = serializers.CharField(required=False, allow_blank=True)
    start = serializers.CharField(required=False, allow_blank=True, max_length=10)
    end = serializers.CharField(required=False, allow_blank=True, max_length=10)
    amount = serializers.DecimalField(max_digits=20, decimal_places=2, required=False, allow_null=True)
    currency = serializers.CharField(required=False, allow_blank=True, max_length=3)
    amount_kind = serializers.CharField(required=False, allow_blank=True)
    share_pct = serializers.DecimalField(max_digits=6, decimal_places=3, required=False, allow_null=True)
    status = serializers.CharField(required=False, allow_blank=True)
    procedure = serializers.CharField(required=False, allow_blank=True)
    attributes = serializers.JSONField(required=False)


class CitationWriteSerializer(serializers.Serializer):
    record = serializers.SlugRelatedField(slug_field="uuid", queryset=Record.objects.all(), required=False)
    entity = _EntityByUuid(required=False)
    source = serializers.SlugRelatedField(slug_field="uuid", queryset=Source.objects.all())
    quote = serializers.CharField()
    field = serializers.CharField(required=False, allow_blank=True, max_length=100)

    def validate(self, data):
        if ("record" in data) == ("entity" in data):
            raise serializers.ValidationError({"record": "Give exactly one of record or entity."})
        return data


class SourceWriteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Source
        fields = ["title", "publisher", "author", "published", "url", "language", "source_type", "text"]


class TransitionSerializer(serializers.Serializer):
    to = serializers.ChoiceField(choices=Workflow.choices)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)
