"""Middleware of the development settings (config/settings/dev.py)."""
import ipaddress

from django.http import HttpResponseForbidden


def _is_loopback(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if ip.is_loopback:
        return True
    # Docker's compose file publishes the dev server on the host's loopback only; inside the
    # container the peer is the bridge gateway, which config/settings/docker.py names here.
    from django.conf import settings

    return any(ip in ipaddress.ip_network(net) for net in getattr(settings, "DEV_TRUSTED_BRIDGES", []))


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
