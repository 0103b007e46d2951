"""Middleware of the development settings (config/settings/dev.py)."""
import ipaddress

from django.http import HttpResponseForbidden


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


class LoopbackOnlyMiddleware:
    """Refuse every request whose TCP peer is not this machine (development settings only:
    they run with DEBUG and a known secret key, so they must never serve the network)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not _is_loopback(request.META.get("REMOTE_ADDR", "")):
            return HttpResponseForbidden(
                "This server runs with development settings and serves this machine only.",
                content_type="text/plain")
        return self.get_response(request)
