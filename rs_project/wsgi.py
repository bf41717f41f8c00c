"""WSGI entry point for gunicorn."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rs_project.settings")
application = get_wsgi_application()

from recommendations.startup import warn_if_api_is_open  # noqa: E402  (needs the app registry)

warn_if_api_is_open()
