"""Rate limits for the API, counted by the one limiter of apps.web.limits.

Anonymous clients are keyed on their real address (`apps.web.limits.client_ip`: the TCP peer,
or the address the trusted proxies saw — never a forgeable `X-Forwarded-For`), signed-in users
on their id. The rates are DRF's (`DEFAULT_THROTTLE_RATES`, from `API_ANON_RATE`,
`API_USER_RATE`). When the cache cannot be reached the request is allowed (fail open, logged by
the limiter).
"""
from rest_framework.throttling import SimpleRateThrottle

from apps.web.limits import client_ip, limit_hit


class _Throttle(SimpleRateThrottle):
    def get_ident(self, request):
        return client_ip(request)

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        ident = self.get_cache_key(request, view)
        if ident is None:
            return True
        self._wait = limit_hit(scope=f"api-{self.scope}", ident=ident, rate=self.rate)
        return self._wait is None

    def wait(self):
        return getattr(self, "_wait", None)


class AnonThrottle(_Throttle):
    """Anonymous clients, per address (`API_ANON_RATE`, default 60/min)."""

    scope = "anon"

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            return None
        return self.get_ident(request)


class UserThrottle(_Throttle):
    """Signed-in clients, per user (`API_USER_RATE`, default 600/min)."""

    scope = "user"

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            return f"user-{request.user.pk}"
        return None
