"""The JSON API: read-only for everyone (published data only), writes for curators.

Detail is read from the store of record; ownership chains, deployments and paths from
Neo4j, through apps.catalog.selectors. Every write goes through apps.catalog.services, so it checks
the same role and validates the same way as the forms: errors come back as
`400 {"field": ["why"]}` and change nothing.
"""
from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action, api_view, permission_classes
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from apps.api import serializers as s
from apps.catalog import dates
from apps.catalog import services
from apps.catalog.models import Alias, Citation, Entity, Fact, Record, Source
from apps.catalog.selectors import browse as catalog_browse
from apps.catalog.selectors import exposure as catalog_exposure
from apps.catalog.selectors.browse import GraphTimeout, GraphUnavailable
from apps.catalog.selectors.search import entity_search
from apps.catalog.selectors.visibility import (
    public_aliases,
    public_citations,
    public_entities,
    public_facts,
    public_records,
    public_sources,
)
from apps.citations import selectors
from apps.curation.roles import is_curator


class GraphDown(APIException):
    """503: Neo4j is unreachable, or (`GraphDown(exc)` with a GraphTimeout) the traversal ran
    past NEO4J_QUERY_TIMEOUT and was stopped."""

    status_code = 503
    default_detail = "The graph is unavailable right now; try again shortly."
    default_code = "graph_unavailable"

    def __init__(self, exc: Exception | None = None):
        if isinstance(exc, GraphTimeout):
            super().__init__("This query took too long and was stopped: try fewer steps (max_hops), fewer kinds "
                             "or an earlier as_of.", code="graph_timeout")
        else:
            super().__init__()


def _django_errors(exc: DjangoValidationError) -> ValidationError:
    if hasattr(exc, "error_dict"):
        return ValidationError(exc.message_dict)
    return ValidationError({"non_field_errors": exc.messages})


def _call(fn, **kwargs):
    """Run a service, turning its Django errors into API errors (400 by field, 403)."""
    try:
        return fn(**kwargs)
    except DjangoValidationError as exc:
        raise _django_errors(exc) from exc
    except DjangoPermissionDenied as exc:
        raise PermissionDenied(str(exc) or "Your role may not do this.") from exc


def _from_graph(fn, **kwargs):
    """Run a graph-backed selector, answering 503 when Neo4j is unreachable."""
    try:
        return fn(**kwargs)
    except GraphUnavailable as exc:
        raise GraphDown(exc) from exc


def _paginate(view, rows, serializer_fn=lambda rows: rows):
    page = view.paginate_queryset(rows)
    return view.get_paginated_response(serializer_fn(page))


def _partial_date(request, name) -> str | None:
    value = request.query_params.get(name) or None
    if value:
        try:
            dates.parse_partial_date(value)
        except DjangoValidationError as exc:
            raise ValidationError({name: exc.messages}) from exc
    return value


class EntityViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Published entities. Filters: `kind`, `country` (ISO2), `q` (name or alias)."""

    lookup_field = "uuid"

    def get_queryset(self):
        curator = is_curator(self.request.user)
        qs = Entity.objects.all() if curator else public_entities()
        qs = qs.prefetch_related(Prefetch("aliases", queryset=Alias.objects.all() if curator else public_aliases()))
        qs = qs.order_by("name", "id")
        params = self.request.query_params
        if params.get("kind"):
            qs = qs.filter(kind=params["kind"])
        if params.get("country"):
            qs = qs.filter(country=params["country"].upper())
        if params.get("q"):
            # The one search (apps.catalog.selectors.search), best match first.
            hits = entity_search(q=params["q"], include_unpublished=curator)
            order = {h.entity_id: i for i, h in enumerate(hits)}
            return sorted(qs.filter(id__in=list(order)), key=lambda e: order[e.id])
        if self.action == "retrieve":
            citations = (Citation.objects if curator else public_citations()).filter(record__isnull=True)
            facts = Fact.objects.all() if curator else public_facts()
            qs = qs.prefetch_related(
                Prefetch("citations", queryset=citations.select_related("source"), to_attr="shown_citations"),
                Prefetch("fact_set", queryset=facts.prefetch_related(
                    Prefetch("citations", queryset=Citation.objects.select_related("source"))), to_attr="shown_facts"))
        return qs

    def get_serializer_class(self):
        return s.EntityDetailSerializer if self.action == "retrieve" else s.EntitySerializer

    @extend_schema(parameters=[OpenApiParameter("kind", str), OpenApiParameter("country", str),
                               OpenApiParameter("q", str)])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        try:
            return super().retrieve(request, *args, **kwargs)
        except Http404:
            merged = selectors.merged_into(kwargs["uuid"])
            if merged is not None:
                return redirect("api:entity-detail", uuid=merged.uuid, permanent=True)
            raise

    @extend_schema(request=inline_serializer("EntityWrite", {
        "kind": serializers.CharField(), "name": serializers.CharField(),
        "country": serializers.CharField(required=False), "description": serializers.CharField(required=False)}),
        responses=s.EntityDetailSerializer)
    def create(self, request, *args, **kwargs):
        allowed = {"kind", "name", "country", "iso_code", "state_owned", "description", "identifiers"}
        unknown = set(request.data) - allowed
        if unknown:
            raise ValidationError({name: ["Unknown field."] for name in sorted(unknown)})
        entity = _call(services.entity_create, user=request.user, **{k: request.data[k] for k in request.data})
        return Response(s.EntityDetailSerializer(entity, context={"request": request}).data,
                        status=status.HTTP_201_CREATED)

    def _entity(self):
        return get_object_or_404(self.get_queryset(), uuid=self.kwargs["uuid"])

    @extend_schema(parameters=[
        OpenApiParameter("direction", str, enum=["up", "down"], description="up: owners (default); down: holdings"),
        OpenApiParameter("as_of", str, description="YYYY, YYYY-MM or YYYY-MM-DD")],
        responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def ownership(self, request, uuid=None):
        """Ownership and control from Neo4j, as the ownership page shows it.

        up: one row per chain to an ultimate owner (or into a cycle): `nodes` from the top
        owner down to this entity, `rels` between them, `ultimate`, `state`,
        `effective_share` (when every share is known) and `ends_in_cycle`.
        down: one row per ownership edge below the entity: `owner`, `owned`, `rel`.
        """
        entity = self._entity()
        direction = request.query_params.get("direction", "up")
        if direction not in ("up", "down"):
            raise ValidationError({"direction": ["Use up or down."]})
        as_of = _partial_date(request, "as_of")
        try:
            if direction == "up":
                rows = [_chain_row(chain) for chain in catalog_browse.ownership_chains(entity, as_of=as_of)]
            else:
                rows = catalog_browse.ownership_edges_down(entity, as_of=as_of)
        except GraphUnavailable as exc:
            raise GraphDown(exc) from exc
        return _paginate(self, rows)

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def deployments(self, request, uuid=None):
        """Where the entity's equipment is deployed, contracted, donated, banned or cancelled, by
        country: one row per record (`country`, `map_status` as the deployment map colours it,
        `rel`, `counterpart`, `site_name`)."""
        entity = self._entity()
        try:
            rows = catalog_browse.footprint_rows(entity)
        except GraphUnavailable as exc:
            raise GraphDown(exc) from exc
        return _paginate(self, rows)

    @extend_schema(parameters=[OpenApiParameter("as_of", str, description="YYYY, YYYY-MM or YYYY-MM-DD")],
                   responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def exposure(self, request, uuid=None):
        """What this entity bought (contracts, deployments at it, loans it took) from a supplier
        that a state owns or controls up its ownership chain, or that an authority banned: the
        same rows as the entity's exposure page (see `/api/countries/{iso}/exposure/`)."""
        as_of = _partial_date(request, "as_of")
        view = _from_graph(catalog_exposure.buyer_exposure, entity=self._entity(), as_of=as_of)
        return Response(_exposure_payload(view, as_of))

    @extend_schema(parameters=[OpenApiParameter("as_of", str, description="YYYY, YYYY-MM or YYYY-MM-DD")],
                   responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"], url_path="contracts-after-bans")
    def contracts_after_bans(self, request, uuid=None):
        """The vendor's dated contracts against the dated bans on it, at the precision of
        both dates: `after` (signed after at least one ban, listed in `after`) and
        `not_after` (with the bans they came `before` or share a `same_period` with)."""
        as_of = _partial_date(request, "as_of")
        view = _from_graph(catalog_exposure.contracts_after_bans, entity=self._entity(), as_of=as_of)
        return Response({"as_of": as_of, "after": view["after"], "not_after": view["not_after"]})

    @extend_schema(responses=s.RecordSerializer(many=True))
    @action(detail=True, methods=["get"])
    def records(self, request, uuid=None):
        """The entity's published records, at either end."""
        entity = self._entity()
        qs = selectors.records_for_display(
            public_records().filter(Q(subject=entity) | Q(object=entity)).order_by("start", "id"))
        return _paginate(self, qs, lambda page: s.RecordSerializer(page, many=True, context={"request": request}).data)


def _chain_row(chain: dict) -> dict:
    """A chain from graph.queries.ownership_chains, top owner first."""
    steps = list(reversed(chain["steps"]))
    return {"nodes": [steps[0]["owner"], *(step["owned"] for step in steps)],
            "rels": [{**step["rel"], "unknown_intermediate": step["unknown_intermediate"]} for step in steps],
            "ultimate": chain["ultimate"], "state": chain["state"], "effective_share": chain["effective_share"],
            "ends_in_cycle": chain["ends_in_cycle"]}


def _exposure_payload(view: dict, as_of: str | None) -> dict:
    """Exposure rows as the pages show them: each with its supply `record`, `buyer`,
    `supplier`, `reasons`, the `chains` to a state (each step with its `record`) and the
    `bans` (each with its `record`); every record carries its `citations` (with quotes)."""
    rows = [{
        "kind": row["kind"], "record": row["rel"], "buyer": row["buyer"], "supplier": row["supplier"],
        "state": row["state"], "reasons": row["reasons"],
        "chains": [{"top": chain["top"], "ultimate": chain["ultimate"], "steps": [
            {"owner": step["owner"], "owned": step["owned"], "state": step["state"],
             "unknown_intermediate": step["unknown_intermediate"], "record": step["rel"]}
            for step in chain["steps"]]} for chain in row["chains"]],
        "bans": [{"authority": ban["authority"], "target": ban["target"], "record": ban["rel"]} for ban in row["bans"]],
    } for row in view["rows"]]
    return {"as_of": as_of, "count": len(rows), "not_exposed": view["not_exposed"], "results": rows}


@extend_schema(parameters=[OpenApiParameter("as_of", str, description="YYYY, YYYY-MM or YYYY-MM-DD")],
               responses=OpenApiTypes.OBJECT)
@api_view(["GET"])
@permission_classes([AllowAny])
def country_exposure(request, iso):
    """Contracts, deployments and loans bought in a country (ISO 3166-1 alpha-2) whose supplier
    is, up its ownership chain, state-owned or state-controlled, or banned (from Neo4j)."""
    iso = iso.upper()
    if not catalog_browse.valid_country_code(iso):
        raise ValidationError({"iso": ["Use an ISO 3166-1 alpha-2 country code."]})
    as_of = _partial_date(request, "as_of")
    return Response(_exposure_payload(_from_graph(catalog_exposure.country_exposure, iso=iso, as_of=as_of), as_of))


class RecordViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Published records with their citations and evidence. Filters: `kind`, `entity` (uuid, either end)."""

    lookup_field = "uuid"

    def get_queryset(self):
        qs = Record.objects.all() if is_curator(self.request.user) else public_records()
        params = self.request.query_params
        if params.get("kind"):
            qs = qs.filter(kind=params["kind"])
        if params.get("entity"):
            try:
                qs = qs.filter(Q(subject__uuid=params["entity"]) | Q(object__uuid=params["entity"]))
            except DjangoValidationError as exc:
                raise ValidationError({"entity": ["Not a uuid."]}) from exc
        return selectors.records_for_display(qs.order_by("start", "id"))

    def get_serializer_class(self):
        return s.RecordWriteSerializer if self.action in ("create", "update", "partial_update") else s.RecordSerializer

    @extend_schema(parameters=[OpenApiParameter("kind", str), OpenApiParameter("entity", OpenApiTypes.UUID)])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def _read(self, record, code=status.HTTP_200_OK):
        record = selectors.records_for_display(Record.objects.all()).get(pk=record.pk)
        return Response(s.RecordSerializer(record, context={"request": self.request}).data, status=code)

    @extend_schema(responses=s.RecordSerializer)
    def create(self, request, *args, **kwargs):
        data = s.RecordWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        record = _call(services.record_create, user=request.user, **data.validated_data)
        return self._read(record, status.HTTP_201_CREATED)

    @extend_schema(responses=s.RecordSerializer)
    def update(self, request, *args, **kwargs):
        record = get_object_or_404(Record, uuid=kwargs["uuid"])
        data = s.RecordWriteSerializer(data=request.data, partial=kwargs.get("partial", False))
        data.is_valid(raise_exception=True)
        _call(services.record_update, user=request.user, record=record, **data.validated_data)
        return self._read(record)

    @extend_schema(request=s.TransitionSerializer, responses=s.RecordSerializer)
    @action(detail=True, methods=["post"])
    def workflow(self, request, uuid=None):
        """Move the record through draft → review → published → retracted (role permitting)."""
        record = get_object_or_404(Record, uuid=uuid)
        data = s.TransitionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        _call(services.workflow_transition, user=request.user, obj=record, **data.validated_data)
        return self._read(record)


class SourceViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Sources (documents) with, in detail, every published record and entity fact they support."""

    lookup_field = "uuid"
    def get_queryset(self):
        # A source cited only by unpublished items is not public.
        qs = Source.objects.all() if is_curator(self.request.user) else public_sources()
        return qs.order_by("title", "id")

    def get_serializer_class(self):
        if self.action == "create":
            return s.SourceWriteSerializer
        return s.SourceDetailSerializer if self.action == "retrieve" else s.SourceSerializer

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if self.action == "retrieve" and "uuid" in self.kwargs:
            source = get_object_or_404(self.get_queryset(), uuid=self.kwargs["uuid"])
            context["page"] = selectors.source_page(source, public_only=not is_curator(self.request.user))
        return context

    @extend_schema(responses=s.SourceDetailSerializer)
    def create(self, request, *args, **kwargs):
        data = s.SourceWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        source = _call(services.source_create, user=request.user, **data.validated_data)
        page = selectors.source_page(source, public_only=False)
        return Response(s.SourceDetailSerializer(source, context={"request": request, "page": page}).data,
                        status=status.HTTP_201_CREATED)


class CitationViewSet(mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Add a citation (curators): the quote must be found verbatim in the source's text."""

    serializer_class = s.CitationWriteSerializer
    queryset = Citation.objects.none()

    @extend_schema(responses=s.CitationSerializer)
    def create(self, request, *args, **kwargs):
        data = s.CitationWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        citation = _call(services.citation_create, user=request.user, target=v.get("record") or v.get("entity"),
                         source=v["source"], quote=v["quote"], field=v.get("field", ""))
        return Response(s.CitationSerializer(citation).data, status=status.HTTP_201_CREATED)


@extend_schema(parameters=[
    OpenApiParameter("from", OpenApiTypes.UUID, required=True), OpenApiParameter("to", OpenApiTypes.UUID, required=True),
    OpenApiParameter("kinds", str, description="comma-separated record kinds (default: all)"),
    OpenApiParameter("max_hops", int, description="at most this many steps, 1-6 (default 6); fewer steps if "
                                                  "the query times out (503 graph_timeout)")],
    responses=OpenApiTypes.OBJECT)
@api_view(["GET"])
@permission_classes([AllowAny])
def paths(request):
    """Shortest paths between two published entities, each hop a published record (from Neo4j)."""
    errors = {}
    ends = {}
    for name in ("from", "to"):
        value = request.query_params.get(name, "")
        entity = None
        if not value:
            errors[name] = ["Required: an entity uuid."]
        else:
            try:
                entity = public_entities().filter(uuid=value).first()
            except DjangoValidationError:
                errors[name] = [f"{value!r} is not a uuid."]
            else:
                if entity is None:
                    errors[name] = ["No published entity has this uuid."]
        ends[name] = entity
    max_hops = request.query_params.get("max_hops", str(catalog_browse.MAX_PATH_HOPS))
    if not max_hops.isdigit() or not 1 <= int(max_hops) <= catalog_browse.MAX_PATH_HOPS:
        errors["max_hops"] = [f"A whole number of steps from 1 to {catalog_browse.MAX_PATH_HOPS}."]
    kinds = [k for k in request.query_params.get("kinds", "").split(",") if k]
    unknown = [k for k in kinds if k not in catalog_browse.RECORD_KINDS_IN_GRAPH]
    if unknown:
        errors["kinds"] = [f"Unknown record kind(s): {', '.join(unknown)}."]
    if errors:
        raise ValidationError(errors)
    try:
        rows = catalog_browse.path_rows(ends["from"], ends["to"], kinds=kinds, max_hops=int(max_hops))
    except GraphUnavailable as exc:
        raise GraphDown(exc) from exc
    from apps.api.pagination import Pagination

    paginator = Pagination()
    page = paginator.paginate_queryset(rows, request)
    return paginator.get_paginated_response(page)
