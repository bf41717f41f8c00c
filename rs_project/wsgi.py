"""WSGI entry point for gunicorn (and runserver): the server process, whose database waits are
bounded (core.deadlines)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rs_project.settings")
application = get_wsgi_application()

from core import deadlines  # noqa: E402  (needs the settings)
from recommendations.startup import warn_if_api_is_open  # noqa: E402  (needs the app registry)

deadlines.install()
warn_if_api_is_open()
