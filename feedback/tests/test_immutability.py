"""Events, reviews, prediction results, config versions and training records can only be created."""

import uuid

import pytest
from django.utils import timezone

from conftest import ALL_DATABASES
from feedback.models import (
    PredictionResult,
    ProductAddToCart,
    ProductDetailEnter,
    ProductDetailLeave,
    RecommendationView,
    Review,
)
from modelstore.models import (
    ConfigVersion,
    TrainingFinished,
    TrainingStarted,
    TrainingStatistics,
    TrainingStepFinished,
    TrainingStepStarted,
)

EVENT = {"session_id": "s1", "user_id": "7", "product_id": 1, "product_variant_sku": "sku-1"}

IMMUTABLE_ROWS = [
    (ProductDetailEnter, EVENT),
    (ProductDetailLeave, {**EVENT, "time_spent": 3.5}),
    (ProductAddToCart, EVENT),
    (RecommendationView, {**EVENT, "recommendation_type": "HOMEPAGE", "model_identifier": "ease_1"}),
    (Review, {**EVENT, "id": 10, "rating": 4}),
    (
        PredictionResult,
        {
            "retrieval_model_name": "dummy",
            "retrieval_model_identifier": "dummy",
            "scoring_model_name": "dummy",
            "scoring_model_identifier": "dummy",
            "recommendation_type": "HOMEPAGE",
            "session_id": "s1",
            "retrieval_duration": 0.1,
            "scoring_duration": 0.1,
            "ordering_duration": 0.0,
            "predicted_items": ["a", "b"],
        },
    ),
    (ConfigVersion, {"data": {}}),
    (TrainingStarted, {"model_name": "ease", "model_identifier": "ease_1"}),
    (TrainingFinished, {"training_id": uuid.uuid4()}),
    (TrainingStepStarted, {"training_id": uuid.uuid4(), "model_name": "ease", "model_identifier": "ease_1"}),
    (TrainingStepFinished, {"step_id": uuid.uuid4(), "model_name": "ease", "model_identifier": "ease_1"}),
    (
        TrainingStatistics,
        {
            "model_name": "ease",
            "model_identifier": "ease_1",
            "duration": 1.0,
            "peak_memory": 10.0,
            "peak_memory_percentage": 0.1,
        },
    ),
]


@pytest.mark.django_db(databases=ALL_DATABASES)
@pytest.mark.parametrize("model, fields", IMMUTABLE_ROWS, ids=lambda v: getattr(v, "__name__", ""))
def test_immutable_rows_can_be_created_but_not_updated_or_deleted(model, fields):
    row = model.objects.create(**fields)

    with pytest.raises(TypeError, match="immutable"):
        row.save()
    with pytest.raises(TypeError, match="immutable"):
        row.delete()
    with pytest.raises(TypeError, match="immutable"):
        model.objects.all().delete()
    with pytest.raises(TypeError, match="immutable"):
        model.objects.all().update(create_at=timezone.now())
    assert model.objects.count() == 1


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_timestamps_are_taken_per_row_and_imported_history_keeps_its_own():
    first = ProductDetailEnter.objects.create(**EVENT)
    second = ProductDetailEnter.objects.create(**EVENT)
    past = timezone.now() - timezone.timedelta(days=30)
    imported = ProductDetailEnter.objects.create(**EVENT, create_at=past)

    assert second.create_at > first.create_at
    assert ProductDetailEnter.objects.get(pk=imported.pk).create_at == past
