from rest_framework.permissions import SAFE_METHODS, BasePermission

from apps.curation.roles import is_curator


class ReadOnlyOrCurator(BasePermission):
    """Anyone reads; only signed-in curators write (the services check the exact role)."""

    message = "Writing needs a signed-in editor, reviewer or admin."

    def has_permission(self, request, view):
        return request.method in SAFE_METHODS or is_curator(request.user)
