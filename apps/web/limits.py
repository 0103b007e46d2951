"""The client address and the rate limiter, in one place for the API and the public pages.

**Client address** (`client_ip`): the TCP peer (`REMOTE_ADDR`) unless the deployment says how
many reverse proxies it trusts (`VENDORGRAPH_NUM_PROXIES`, default 0). Each trusted proxy
appends the address it received the request from to `X-Forwarded-For`, so with N proxies the
client is the N-th address from the right; whatever the client wrote further left is its own
claim and is ignored. With 0 proxies the header is ignored entirely: a client cannot change its
identity (and so its allowance) by sending a different `X-Forwarded-For` with each request.

**Limiter** (`limit_hit`): a sliding-window counter per (scope, client) in the shared cache
(Redis), so that every web process counts against one allowance. When the cache cannot be
reached the request is allowed and a warning logged (fail open: the limits protect capacity,
not secrets, and reading must survive a Redis outage).
"""
from __future__ import annotations

import functools
import ipaddress
import logging
import math
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

log = logging.getLogger(__name__)

_KEY_PREFIX = "ratelimit"
_now = time.time  # the clock (a test moves it to a window's edge)
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def client_ip(request) -> str:
    """The client's address under the trusted-proxies rule (see the module's docstring)."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    proxies = int(getattr(settings, "VENDORGRAPH_NUM_PROXIES", 0) or 0)
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if not forwarded:
        return remote
    candidate = forwarded[-min(proxies, len(forwarded))]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        # A trusted proxy always writes an address; anything else came from the client.
        return remote


def rate_parse(rate: str) -> tuple[int, int]:
    """'30/min' -> (30, 60). The unit's first letter counts: s, m, h, d."""
    try:
        count, period = rate.split("/")
        return int(count), _PERIODS[period.strip()[0].lower()]
    except (ValueError, KeyError, IndexError):
        raise ValueError(f"Bad rate {rate!r}: use e.g. 30/min, 5/s, 1000/hour, 10000/day") from None


def limit_hit(*, scope: str, ident: str, rate: str) -> float | None:
    """Count one request of `ident` against `rate` in `scope`; None if allowed, else about
    how many seconds to wait (for Retry-After).

    A sliding window, estimated from two fixed ones: the requests of the current window plus
    the previous window's, weighted by how much of it still lies within the last period. So a
    burst is refused the same way whether or not it straddles a window's edge (a plain fixed
    window would grant a fresh allowance at each edge). Refused requests count too: a client
    that keeps hammering stays refused until it slows down."""
    count, seconds = rate_parse(rate)
    window, elapsed = divmod(_now(), seconds)
    base = f"{_KEY_PREFIX}:{scope}:{ident}:{seconds}"
    key = f"{base}:{int(window)}"
    try:
        # Kept two periods: the next window still reads this one as its previous.
        cache.add(key, 0, timeout=2 * seconds + 1)
        try:
            current = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=2 * seconds + 1)
            current = 1
        previous = cache.get(f"{base}:{int(window) - 1}", 0)
    except Exception as exc:  # noqa: BLE001 - redis-py raises several connection errors
        log.warning("Rate limit %s: cache unavailable, allowing the request: %s", scope, exc)
        return None
    if previous * (1 - elapsed / seconds) + current <= count:
        return None
    return max(seconds - elapsed, 1.0)


def limits_reset() -> None:
    """Forget every counter (tests start each case with a full allowance)."""
    client = cache._cache.get_client(write=True)
    pattern = cache.make_key(f"{_KEY_PREFIX}:*")
    for key in client.scan_iter(match=pattern, count=1000):
        client.delete(key)


def page_rate(scope: str) -> str:
    return settings.VENDORGRAPH_PAGE_RATES[scope]


def rate_limited(scope: str, *, as_json: bool = False):
    """Limit a public view per client address (rate: settings.VENDORGRAPH_PAGE_RATES[scope]).
    Over the limit: 429 with Retry-After and a message saying when to try again."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            wait = limit_hit(scope=scope, ident=client_ip(request), rate=page_rate(scope))
            if wait is None:
                return view(request, *args, **kwargs)
            seconds = math.ceil(wait)
            message = (f"Too many requests from your address for this page ({page_rate(scope)}). "
                       f"Try again in {seconds} s.")
            if as_json:
                response = JsonResponse({"error": message}, status=429)
            else:
                template = "web/partials/rate_limited.html" if getattr(request, "htmx", False) else "web/rate_limited.html"
                body = render_to_string(template, {"message": message}, request=request)
                response = HttpResponse(body, status=429)
            response["Retry-After"] = str(seconds)
            return response

        return wrapper

    return decorate
