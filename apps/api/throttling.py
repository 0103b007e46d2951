"""Rate limits for the API, counted in the shared cache (Redis).

When the cache cannot be reached the request is allowed and a warning logged: a cache
outage must not take the read API down with it (fail open; the limits protect capacity,
not secrets).
"""
import logging

from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

log = logging.getLogger(__name__)


class _FailOpen:
    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception as exc:  # noqa: BLE001 - redis-py raises several connection errors
            log.warning("API throttle: cache unavailable, allowing the request: %s", exc)
            return True


class AnonThrottle(_FailOpen, AnonRateThrottle):
    """Anonymous clients, per IP address (`API_ANON_RATE`, default 60/min)."""


class UserThrottle(_FailOpen, UserRateThrottle):
    """Signed-in clients, per user (`API_USER_RATE`, default 600/min)."""
