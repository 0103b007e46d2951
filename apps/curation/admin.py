from django.contrib import admin

from apps.curation.models import MergeDecision


@admin.register(MergeDecision)
class MergeDecisionAdmin(admin.ModelAdmin):
    """Decisions are made on the duplicates page (which merges); here they can be read or undone."""

    list_display = ["name_a", "name_b", "verdict", "decided_by", "decided_at"]
    list_filter = ["verdict"]
    search_fields = ["name_a", "name_b", "note"]
    readonly_fields = ["entity_a", "entity_b", "name_a", "name_b", "kept", "decided_by", "decided_at"]

    def has_add_permission(self, request):
        return False
