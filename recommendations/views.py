"""`/predict` and `/predict/product_positions`: validate, run the pipeline, answer."""

from __future__ import annotations

import numpy as np
from rest_framework.response import Response
from rest_framework.views import APIView

from core.auth import TokenProtectedMixin
from core.openapi import api_operation
from core.parsers import BoundedJSONParser
from core.renderers import PlainJSONRenderer, Positions
from recommendations.openapi import PREDICT_ANSWER, PRODUCT_POSITIONS_ANSWER
from recommendations.pipeline import PredictionAnswer, prediction_run
from recommendations.serializers import PredictRequestSerializer, ProductPositionsRequestSerializer


class _PredictionApi(TokenProtectedMixin, APIView):
    parser_classes = [BoundedJSONParser]
    renderer_classes = [PlainJSONRenderer]

    def _prediction(self, request, request_serializer: type) -> PredictionAnswer:
        serializer = request_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return prediction_run(serializer.to_request())


class PredictApi(_PredictionApi):
    """`POST /predict`: the ranked variants, each with the `rs_info` the storefront echoes back."""

    @api_operation("predict", request=PredictRequestSerializer, answer=PREDICT_ANSWER, description="Recommendations.")
    def post(self, request):
        return Response(self._prediction(request, PredictRequestSerializer).rs_items())


class ProductPositionsApi(_PredictionApi):
    """`POST /predict/product_positions`: `{product id: position}` for every product of the
    category and its sub-categories, best first."""

    @api_operation(
        "predict_product_positions",
        request=ProductPositionsRequestSerializer,
        answer=PRODUCT_POSITIONS_ANSWER,
        description="Product positions.",
    )
    def post(self, request):
        ranked = self._prediction(request, ProductPositionsRequestSerializer).ranked_products
        # Written from the array (a root category of a large shop has hundreds of thousands).
        return Response(Positions(ranked if ranked is not None else np.zeros(0, dtype=np.int64)))
