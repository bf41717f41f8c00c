import sys

from django.apps import AppConfig


class RecommendationsConfig(AppConfig):
    name = "recommendations"
    verbose_name = "Recommendations"

    def ready(self) -> None:
        if sys.argv[1:2] == ["runserver"]:
            from recommendations.startup import warn_if_api_is_open

            warn_if_api_is_open()
