"""The Django admin for the store of record.

Writes go through the models' save()/delete() (so through the outbox to Neo4j) and every
change gets a history row naming the user (simple_history's middleware). The workflow
fields are read-only here: the actions "Submit for review", "Publish", "Retract" call
apps.curation.services.workflow_transition, which checks the role and the citations.
Editors see published items read-only (a reviewer must change them).
"""
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from apps.catalog.models import Alias, Citation, Entity, Record, Source
from apps.catalog.vocab import Workflow
from apps.curation import roles, services


class CitationInline(admin.StackedInline):
    model = Citation
    extra = 0
    autocomplete_fields = ["source"]
    fields = ["source", "field", "quote", "start", "end"]
    readonly_fields = ["start", "end"]


class RecordCitationInline(CitationInline):
    fk_name = "record"


class EntityCitationInline(CitationInline):
    fk_name = "entity"


class AliasInline(admin.TabularInline):
    model = Alias
    extra = 0
    fields = ["name"]


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


class CuratedAdmin(SimpleHistoryAdmin):
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


@admin.register(Entity)
class EntityAdmin(CuratedAdmin):
    list_display = ["name", "kind", "country", "status", "version", "updated_at"]
    list_filter = ["kind", "status", "country"]
    search_fields = ["name", "name_norm", "aliases__name", "key"]
    readonly_fields = ["uuid", "version", "status", "published_at", "published_by", "created_at", "updated_at",
                       "history_link"]
    fields = ["name", "kind", "key", "country", "iso_code", "state_owned", "description", "identifiers", "facts",
              "uuid", "version", "status", "published_at", "published_by", "history_link"]
    inlines = [AliasInline, EntityCitationInline]


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
        fields = list(super().get_readonly_fields(request, obj))
        return fields + ["kind"] if obj is not None else fields


@admin.register(Source)
class SourceAdmin(SimpleHistoryAdmin):
    list_display = ["title", "publisher", "published", "source_type", "language"]
    list_filter = ["source_type", "language"]
    search_fields = ["title", "publisher", "author", "url", "key"]
    readonly_fields = ["uuid", "content_hash", "created_at"]


@admin.register(Citation)
class CitationAdmin(SimpleHistoryAdmin):
    list_display = ["__str__", "record", "entity", "field", "found"]
    list_filter = ["source__source_type", "field"]
    search_fields = ["quote", "source__title", "record__title", "entity__name"]
    autocomplete_fields = ["source", "record", "entity"]
    readonly_fields = ["start", "end"]
    list_select_related = ["source", "record", "entity"]

    @admin.display(boolean=True)
    def found(self, obj):
        return obj.found


@admin.register(Alias)
class AliasAdmin(SimpleHistoryAdmin):
    list_display = ["name", "entity"]
    search_fields = ["name", "entity__name"]
    autocomplete_fields = ["entity"]
    list_filter = ["entity__kind", "entity__country"]
