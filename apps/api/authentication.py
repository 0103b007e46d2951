"""HTTP Basic auth for curators' API clients, under the same login throttling as the admin
login (django-axes): once an address or a username has failed too often, even the right
password is refused until the cool-off ends, with an answer that says so."""
from django.conf import settings
from drf_spectacular.authentication import BasicScheme
from rest_framework import exceptions
from rest_framework.authentication import BasicAuthentication


class LockedOut(exceptions.Throttled):
    default_detail = "Too many failed sign-in attempts."


class ThrottledBasicAuthentication(BasicAuthentication):
    def authenticate_credentials(self, userid, password, request=None):
        try:
            return super().authenticate_credentials(userid, password, request)
        except exceptions.AuthenticationFailed:
            # django-axes marks the (DRF) request it was handed when the attempt is refused
            # because of a lockout, or when this failure reached the limit.
            if request is not None and getattr(request, "axes_locked_out", False):
                cooloff = settings.AXES_COOLOFF_TIME
                minutes = int(cooloff.total_seconds() // 60) if cooloff else None
                raise LockedOut(
                    detail=f"Too many failed sign-in attempts: try again in {minutes} minutes." if minutes
                    else "Too many failed sign-in attempts.",
                    wait=cooloff.total_seconds() if cooloff else None,
                ) from None
            raise


class ThrottledBasicScheme(BasicScheme):
    """The OpenAPI schema describes it as the plain HTTP Basic scheme it is."""

    target_class = ThrottledBasicAuthentication
