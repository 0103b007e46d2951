"""Follow and unfollow an entity (signed-in users, POST with CSRF)."""
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from apps.catalog.selectors.browse import entity_get
from apps.following import services


@login_required
@require_POST
def follow(request, uid):
    entity = entity_get(uid)
    if entity is None:
        raise Http404("No such published entity.")
    if request.POST.get("action") == "unfollow":
        services.follow_delete(user=request.user, entity=entity)
    else:
        services.follow_create(user=request.user, entity=entity)
    return redirect("browse:entity", uid=entity.uuid)
