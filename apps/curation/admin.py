from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group, User

from apps.curation.models import MergeDecision
from apps.curation.roles import ROLES


@admin.register(MergeDecision)
class MergeDecisionAdmin(admin.ModelAdmin):
    """Decisions are made on the duplicates page (which merges); here they can be read or undone."""

    list_display = ["name_a", "name_b", "verdict", "decided_by", "decided_at"]
    list_filter = ["verdict"]
    search_fields = ["name_a", "name_b", "note"]
    readonly_fields = ["entity_a", "entity_b", "name_a", "name_b", "kept", "decided_by", "decided_at"]

    def has_add_permission(self, request):
        return False


admin.site.unregister(User)


@admin.register(User)
class CuratorUserAdmin(UserAdmin):
    """Users, as the `admin` role manages them: it may add curators and give them a role
    (editor, reviewer, admin), but never more than it holds itself — no superuser flag, no
    individual permissions, no other group — and it cannot see, change or delete a superuser
    (changing one's password would be a way to become one). Superusers keep Django's admin."""

    def _limited(self, request) -> bool:
        return not request.user.is_superuser

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs.filter(is_superuser=False) if self._limited(request) else qs

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if self._limited(request):
            fields += ["is_superuser", "user_permissions"]
        return fields

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "groups" and self._limited(request):
            kwargs["queryset"] = Group.objects.filter(name__in=ROLES)
        return super().formfield_for_manytomany(db_field, request, **kwargs)
