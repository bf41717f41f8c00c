"""`GET /`: the healthcheck docker compose and load balancers ask. It spans every database, so
it belongs to the project, not to one app."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connections
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from core.deadlines import database_deadline

logger = logging.getLogger(__name__)

# Seconds each database gets to answer (in server processes, see core.deadlines; elsewhere the
# connect timeout bounds a new connection): five silent databases still answer within 10 s.
SECONDS_PER_DATABASE = 2.0


def databases_unavailable() -> list[str]:
    """The aliases whose database does not answer a trivial query in time."""
    failing: list[str] = []
    for alias in settings.DATABASE_ALIASES:
        connection = connections[alias]
        try:
            with database_deadline(SECONDS_PER_DATABASE), connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except Exception as error:
            logger.warning("healthcheck: database %s does not answer: %s", alias, str(error).strip()[:300])
            failing.append(alias)
            if not connection.in_atomic_block:
                connection.close()  # a broken connection is not kept for the next request
    return failing


class HealthApi(APIView):
    """200 when every database answers, 503 naming the ones that do not."""

    @extend_schema(
        operation_id="health",
        responses={
            200: OpenApiResponse(
                {"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}},
                description="Every database answers.",
            ),
            503: OpenApiResponse(
                {
                    "type": "object",
                    "required": ["status", "databases"],
                    "properties": {
                        "status": {"const": "unavailable"},
                        "databases": {"type": "array", "items": {"type": "string"}},
                    },
                },
                description="The databases that do not answer.",
            ),
        },
    )
    def get(self, request):
        failing = databases_unavailable()
        if failing:
            return Response({"status": "unavailable", "databases": failing}, status=503)
        return Response({"status": "ok"})
