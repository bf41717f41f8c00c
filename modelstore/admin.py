"""Admin of the read-only training records and identifiers. The config versions and the trainer
queue, which are edited against the registry and the typed config, are in `recommendations.admin`."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import OuterRef, Subquery

from core.admin import ReadOnlyAdmin
from modelstore.models import (
    LatestIdentifier,
    TrainingFinished,
    TrainingStarted,
    TrainingStatistics,
    TrainingStepFinished,
    TrainingStepStarted,
)


@admin.register(LatestIdentifier)
class LatestIdentifierAdmin(ReadOnlyAdmin):
    list_display = ["model_name", "identifier", "previous_identifier", "update_at"]


@admin.register(TrainingStarted)
class TrainingStartedAdmin(ReadOnlyAdmin):
    list_display = ["model_identifier", "model_name", "full_train", "create_at", "outcome"]
    list_filter = ["model_name", "full_train"]
    search_fields = ["model_identifier", "training_id"]
    date_hierarchy = "create_at"
    ordering = ["-create_at"]

    def get_queryset(self, request):
        finished = TrainingFinished.objects.filter(training_id=OuterRef("training_id"))
        return super().get_queryset(request).annotate(outcome=Subquery(finished.values("outcome")[:1]))

    @admin.display(description="outcome", ordering="outcome")
    def outcome(self, obj) -> str:
        return obj.outcome or "unfinished"


@admin.register(TrainingFinished)
class TrainingFinishedAdmin(ReadOnlyAdmin):
    list_display = ["training_id", "outcome", "create_at"]
    list_filter = ["outcome"]


@admin.register(TrainingStepStarted)
class TrainingStepStartedAdmin(ReadOnlyAdmin):
    list_display = ["step_id", "model_name", "model_identifier", "hyperparameters", "create_at"]


@admin.register(TrainingStepFinished)
class TrainingStepFinishedAdmin(ReadOnlyAdmin):
    list_display = ["step_id", "model_name", "model_identifier", "metrics", "create_at"]


@admin.register(TrainingStatistics)
class TrainingStatisticsAdmin(ReadOnlyAdmin):
    list_display = ["model_name", "model_identifier", "duration", "peak_memory", "full_train", "metrics", "create_at"]
    list_filter = ["model_name", "full_train"]
    search_fields = ["model_identifier"]
    date_hierarchy = "create_at"
    ordering = ["-create_at"]
