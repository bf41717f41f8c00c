"""What the server says when it starts."""

import logging

from django.conf import settings


def warn_if_api_is_open() -> None:
    if not settings.RS_API_TOKEN:
        logging.getLogger("recommendations").warning(
            "RS_API_TOKEN is not set: the API is open to anyone who can reach it"
        )
