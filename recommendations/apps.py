import logging

from django.apps import AppConfig
from django.conf import settings


class RecommendationsConfig(AppConfig):
    name = "recommendations"
    verbose_name = "Recommendations"

    def ready(self) -> None:
        if not settings.RS_API_TOKEN:
            logging.getLogger("recommendations").warning(
                "RS_API_TOKEN is not set: the API is open to anyone who can reach it"
            )
