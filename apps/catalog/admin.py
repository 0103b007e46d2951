"""The Django admin for the store of record.

Every add, change and delete -- bulk delete included -- goes through apps.catalog.services
(ServiceAdmin), so the admin obeys the same role and state rules as the pages and the API,
and every change reaches Neo4j through the outbox with a history row naming the user. The
workflow fields are read-only: the actions "Submit for review", "Publish", "Retract" call
services.workflow_transition, which checks the role and the citations. Editors see
published items read-only (a reviewer must change them). Inlines only show; simple_history's
own "revert" is switched off (SIMPLE_HISTORY_REVERT_DISABLED): reverts go through the
history pages, which call the service.
"""
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from apps.catalog import services
from apps.catalog.models import Alias, Citation, Entity, Fact, Record, Source
from apps.catalog.selectors.search import entity_search
from apps.catalog.vocab import Workflow
from apps.curation import roles


class CitationInline(admin.TabularInline):
    """Read-only here: citations are added, changed and removed on their own admin page,
    through the services (which check the quote and the role)."""

    model = Citation
    extra = 0
    can_delete = False
    fields = ["source", "field", "quote", "found", "edit_link"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(boolean=True)
    def found(self, obj):
        return obj.found

    def edit_link(self, obj):
        return format_html('<a href="{}">change or remove</a>', reverse("admin:catalog_citation_change", args=[obj.pk]))


class RecordCitationInline(CitationInline):
    fk_name = "record"


class EntityCitationInline(CitationInline):
    fk_name = "entity"


class AliasInline(admin.TabularInline):
    model = Alias
    extra = 0
    can_delete = False
    fields = ["name", "workflow"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class FactInline(AliasInline):
    model = Fact
    fields = ["field", "value", "workflow"]
    readonly_fields = fields


class CountryFilter(admin.SimpleListFilter):
    """Records by the country of either end or of their site."""

    title = "country"
    parameter_name = "country"

    def lookups(self, request, model_admin):
        codes = Entity.objects.exclude(country="").values_list("country", flat=True).distinct().order_by("country")
        from apps.catalog.models import country_name

        return [(c, f"{country_name(c)} ({c})") for c in codes]

    def queryset(self, request, queryset):
        if self.value():
            c = self.value()
            return queryset.filter(Q(subject__country=c) | Q(object__country=c) | Q(site__country=c)).distinct()
        return queryset


def _transition_action(to: str, label: str):
    def action(modeladmin, request, queryset):
        done, failed = 0, []
        for obj in queryset:
            try:
                services.workflow_transition(user=request.user, obj=obj, to=to)
                done += 1
            except (ValidationError, PermissionDenied) as exc:
                failed.append(f"{obj}: {' '.join(getattr(exc, 'messages', [str(exc)]))}")
        if done:
            modeladmin.message_user(request, f"{label}: {done} done.", messages.SUCCESS)
        for message in failed:
            modeladmin.message_user(request, f"Not done — {message}", messages.ERROR)

    action.__name__ = f"workflow_{to}"
    action.short_description = label
    return action


WORKFLOW_ACTIONS = [
    _transition_action(Workflow.REVIEW, "Submit for review"),
    _transition_action(Workflow.DRAFT, "Return to draft"),
    _transition_action(Workflow.PUBLISHED, "Publish"),
    _transition_action(Workflow.RETRACTED, "Retract"),
]


class _Refused(Exception):
    """A service refused an admin write; its message is already shown."""


def _refuse(request, exc) -> None:
    text = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items()) if hasattr(exc, "error_dict") \
        else " ".join(getattr(exc, "messages", None) or [str(exc)])
    messages.error(request, f"Not saved — {text}")
    raise _Refused()


class ServiceAdmin(SimpleHistoryAdmin):
    """Every add, change and delete (bulk delete too) goes through apps.catalog.services,
    with the same role and state rules as the pages and the API, and so through the
    outbox. A refusal shows its reason and changes nothing.

    Subclasses say which services to call: `create(user, obj, data)`,
    `update(user, obj, data)` and `remove(user, obj)`.
    """

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            with transaction.atomic():
                return super().changeform_view(request, object_id, form_url, extra_context)
        except _Refused:
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(self, request, object_id, extra_context=None):
        try:
            with transaction.atomic():
                return super().delete_view(request, object_id, extra_context)
        except _Refused:
            return HttpResponseRedirect(request.get_full_path())

    def changelist_view(self, request, extra_context=None):
        try:
            with transaction.atomic():
                return super().changelist_view(request, extra_context)
        except _Refused:
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in (form.changed_data if change else form.cleaned_data)
                if name in form.cleaned_data}
        try:
            if change:
                self.update(request.user, obj, data)
            else:
                created = self.create(request.user, obj, data)
                obj.__dict__.update(created.__dict__)
        except (ValidationError, PermissionDenied) as exc:
            _refuse(request, exc)

    def save_related(self, request, form, formsets, change):
        # Inlines are read-only; nothing else may be written beside the service's own writes.
        for formset in formsets:
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def delete_model(self, request, obj):
        try:
            self.remove(request.user, obj)
        except (ValidationError, PermissionDenied) as exc:
            _refuse(request, exc)

    def delete_queryset(self, request, queryset):
        # All or nothing: one refusal keeps every selected row.
        for obj in queryset:
            self.delete_model(request, obj)


class CuratedAdmin(ServiceAdmin):
    """Role rules on top of the model permissions: see apps/curation/roles.py."""

    actions = WORKFLOW_ACTIONS

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return super().has_change_permission(request)
        return roles.can_change(request.user, obj)

    def history_link(self, obj):
        name = "curation:record_history" if isinstance(obj, Record) else "curation:entity_history"
        return format_html('<a href="{}">history and revert</a>', reverse(name, args=[obj.uuid]))

    history_link.short_description = "History"


class ClaimAdmin(ServiceAdmin):
    """Names and facts: reviewed like records (an editor proposes, a reviewer publishes)."""

    actions = WORKFLOW_ACTIONS
    readonly_fields = ["workflow"]

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return super().has_change_permission(request)
        return roles.can_change(request.user, obj)


@admin.register(Entity)
class EntityAdmin(CuratedAdmin):
    list_display = ["name", "kind", "country", "workflow", "version", "updated_at"]
    list_filter = ["kind", "workflow", "country"]
    search_fields = ["name", "name_norm", "aliases__name", "key"]
    readonly_fields = ["uuid", "version", "workflow", "published_at", "published_by", "created_at", "updated_at",
                       "history_link"]
    fields = ["name", "kind", "key", "country", "iso_code", "state_owned", "description", "identifiers",
              "uuid", "version", "workflow", "published_at", "published_by", "history_link"]
    inlines = [AliasInline, FactInline, EntityCitationInline]

    def get_search_results(self, request, queryset, search_term):
        """The one entity search (names and aliases, accents and typos tolerated), drafts too;
        the autocomplete of other admin pages uses it as well."""
        if not search_term.strip():
            return queryset, False
        hits = entity_search(q=search_term, include_unpublished=True)
        return queryset.filter(id__in=[h.entity_id for h in hits]), False

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "key"]

    def create(self, user, obj, data):
        return services.entity_create(user=user, **data)

    def update(self, user, obj, data):
        return services.entity_update(user=user, entity=obj, **data)

    def remove(self, user, obj):
        services.entity_delete(user=user, entity=obj)


@admin.register(Record)
class RecordAdmin(CuratedAdmin):
    list_display = ["__str__", "kind", "subject", "object", "start", "workflow", "version"]
    list_filter = ["kind", "workflow", CountryFilter]
    list_select_related = ["subject", "object"]
    search_fields = ["title", "key", "subject__name", "object__name", "description"]
    autocomplete_fields = ["subject", "object", "site", "party", "related"]
    readonly_fields = ["uuid", "version", "workflow", "published_at", "published_by", "created_at", "updated_at",
                       "history_link"]
    fields = ["kind", "key", "title", "description", "subject", "object", "site", "party", "related", "start",
              "end", "amount", "currency", "amount_kind", "share_pct", "status", "procedure", "attributes",
              "uuid", "version", "workflow", "published_at", "published_by", "history_link"]
    inlines = [RecordCitationInline]

    def get_readonly_fields(self, request, obj=None):
        fields = [*super().get_readonly_fields(request, obj), "key", "flag"]
        return fields + ["kind"] if obj is not None else fields

    def create(self, user, obj, data):
        return services.record_create(user=user, **data)

    def update(self, user, obj, data):
        return services.record_update(user=user, record=obj, **data)

    def remove(self, user, obj):
        services.record_delete(user=user, record=obj)


@admin.register(Source)
class SourceAdmin(ServiceAdmin):
    list_display = ["title", "publisher", "published", "source_type", "language"]
    list_filter = ["source_type", "language"]
    search_fields = ["title", "publisher", "author", "url", "key"]
    readonly_fields = ["uuid", "key", "content_hash", "created_at"]

    def create(self, user, obj, data):
        return services.source_create(user=user, **data)

    def update(self, user, obj, data):
        return services.source_update(user=user, source=obj, **data)

    def remove(self, user, obj):
        services.source_delete(user=user, source=obj)


@admin.register(Citation)
class CitationAdmin(ServiceAdmin):
    list_display = ["__str__", "record", "entity", "field", "found"]
    list_filter = ["source__source_type", "field"]
    search_fields = ["quote", "source__title", "record__title", "entity__name"]
    autocomplete_fields = ["source", "record", "entity", "fact"]
    fields = ["source", "record", "entity", "fact", "field", "quote", "start", "end"]
    readonly_fields = ["start", "end"]
    list_select_related = ["source", "record", "entity"]

    @admin.display(boolean=True)
    def found(self, obj):
        return obj.found

    def create(self, user, obj, data):
        target = data.get("record") or data.get("fact") or data.get("entity")
        field = data.get("field", "")
        if data.get("entity") is not None and field.startswith("alias:"):
            target = Alias.objects.filter(entity=data["entity"], name=field[6:]).first()
            if target is None:
                raise ValidationError({"field": f"{data['entity']} has no name {field[6:]!r}."})
        if target is None:
            raise ValidationError({"record": "Choose the record, entity or fact this citation supports."})
        return services.citation_create(user=user, target=target, source=data["source"], quote=data["quote"],
                                        field=field if isinstance(target, (Record, Entity)) else "")

    def update(self, user, obj, data):
        fixed = set(data) - {"source", "quote", "field"}
        if fixed:
            raise ValidationError({name: "What a citation supports cannot change; cite anew instead."
                                   for name in sorted(fixed)})
        return services.citation_update(user=user, citation=obj, **data)

    def remove(self, user, obj):
        services.citation_delete(user=user, citation=obj)


@admin.register(Alias)
class AliasAdmin(ClaimAdmin):
    list_display = ["name", "entity", "workflow"]
    search_fields = ["name", "entity__name"]
    autocomplete_fields = ["entity"]
    list_filter = ["workflow", "entity__kind", "entity__country"]
    fields = ["entity", "name", "workflow"]

    def get_readonly_fields(self, request, obj=None):
        return ["workflow", "entity"] if obj is not None else ["workflow"]

    def create(self, user, obj, data):
        return services.alias_create(user=user, entity=data["entity"], name=data["name"])

    def update(self, user, obj, data):
        return services.alias_update(user=user, alias=obj, **data)

    def remove(self, user, obj):
        services.alias_delete(user=user, alias=obj)


@admin.register(Fact)
class FactAdmin(ClaimAdmin):
    list_display = ["entity", "field", "value", "workflow"]
    search_fields = ["field", "value", "entity__name"]
    autocomplete_fields = ["entity"]
    list_filter = ["workflow", "field"]
    fields = ["entity", "field", "value", "workflow"]

    def get_readonly_fields(self, request, obj=None):
        return ["workflow", "entity"] if obj is not None else ["workflow"]

    def create(self, user, obj, data):
        return services.fact_create(user=user, entity=data["entity"], field=data["field"], value=data["value"])

    def update(self, user, obj, data):
        return services.fact_update(user=user, fact=obj, **data)

    def remove(self, user, obj):
        services.fact_delete(user=user, fact=obj)
