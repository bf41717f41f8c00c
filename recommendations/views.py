"""HTTP API of the recommender: thin views that validate, delegate and serialize."""

from __future__ import annotations

from rest_framework.response import Response
from rest_framework.views import APIView

from recommendations.selectors import databases_unavailable


class HealthApi(APIView):
    """`GET /`: 200 when every database answers, 503 naming the ones that do not."""

    def get(self, request):
        failing = databases_unavailable()
        if failing:
            return Response({"status": "unavailable", "databases": failing}, status=503)
        return Response({"status": "ok"})
