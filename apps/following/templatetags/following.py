from django import template

from apps.following.selectors import is_following

register = template.Library()


@register.simple_tag(takes_context=True)
def following(context, entity) -> bool:
    request = context.get("request")
    return bool(request) and is_following(user=request.user, entity=entity)
