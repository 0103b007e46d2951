"""Display helpers for the browsing pages. Every filter returns plain text: the template's
autoescaping still applies to what they return."""
from decimal import Decimal, InvalidOperation

from django import template
from django.core.exceptions import ValidationError
from django.http import QueryDict

from apps.catalog.dates import format_partial_date
from apps.catalog.models import country_name as _country_name
from apps.catalog.vocab import EntityKind, RecordKind

register = template.Library()


@register.filter
def partial_date(value) -> str:
    try:
        return format_partial_date(value or "")
    except ValidationError:
        return str(value)


@register.filter
def amount(value) -> str:
    """'8631474.00' -> '8,631,474'; '5870722.48' -> '5,870,722.48'."""
    if value in (None, ""):
        return ""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if number == number.to_integral_value():
        return f"{int(number):,}"
    return f"{number:,.2f}"


@register.filter
def share(value) -> str:
    if value in (None, ""):
        return ""
    number = float(value)
    return f"{number:.3f}".rstrip("0").rstrip(".") + "%"


@register.filter
def record_kind_label(value) -> str:
    return RecordKind(value).label if value in RecordKind.values else str(value or "")


@register.filter
def entity_kind_label(value) -> str:
    return EntityKind(value).label if value in EntityKind.values else str(value or "")


@register.filter
def status_label(value) -> str:
    return str(value or "").replace("_", " ")


@register.filter
def country_label(code) -> str:
    return _country_name(code or "")


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with some parameters replaced (None/"" removes them)."""
    params: QueryDict = context["request"].GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.filter
def http_url(value) -> str:
    """The URL if it is http(s), else "" (a stored javascript: URL never becomes a link)."""
    value = str(value or "").strip()
    return value if value.lower().startswith(("http://", "https://")) else ""


@register.simple_tag(takes_context=True)
def query_set(context, name, value) -> str:
    """Like query_with, for a parameter whose name is itself a variable."""
    return query_with(context, **{str(name): value})
