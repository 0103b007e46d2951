import os

from django.core.wsgi import get_wsgi_application

# Production unless the development settings are asked for (bin/run asks for them).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.prod")
application = get_wsgi_application()
