"""`/predict` and `/predict/product_positions`: validate, run the pipeline, answer."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from core.auth import TokenProtectedMixin
from core.openapi import API_ERRORS, error_responses
from core.parsers import BoundedJSONParser
from recommendations.openapi import PREDICT_ANSWER, PRODUCT_POSITIONS_ANSWER
from recommendations.pipeline import prediction_run
from recommendations.serializers import PredictRequestSerializer, ProductPositionsRequestSerializer


class PredictApi(TokenProtectedMixin, APIView):
    """`POST /predict`: the ranked variants, each with the `rs_info` the storefront echoes back."""

    parser_classes = [BoundedJSONParser]

    @extend_schema(
        operation_id="predict",
        request=PredictRequestSerializer,
        responses={
            200: OpenApiResponse(PREDICT_ANSWER, description="Recommendations."),
            **error_responses(*API_ERRORS),
        },
    )
    def post(self, request):
        serializer = PredictRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(prediction_run(serializer.to_request()).rs_items())


class ProductPositionsApi(TokenProtectedMixin, APIView):
    """`POST /predict/product_positions`: `{product id: position}` for every product of the
    category and its sub-categories, best first."""

    parser_classes = [BoundedJSONParser]

    @extend_schema(
        operation_id="predict_product_positions",
        request=ProductPositionsRequestSerializer,
        responses={
            200: OpenApiResponse(PRODUCT_POSITIONS_ANSWER, description="Product positions."),
            **error_responses(*API_ERRORS),
        },
    )
    def post(self, request):
        serializer = ProductPositionsRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(prediction_run(serializer.to_request()).product_positions)
