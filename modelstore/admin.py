"""Admin for config versions (saving always makes a new version), the trainer queue and the
read-only training records."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin

from modelstore.config import ConfigError, config_from_payload, known_model_names
from modelstore.models import (
    ConfigVersion,
    LatestIdentifier,
    TrainerQueueItem,
    TrainingFinished,
    TrainingStarted,
    TrainingStatistics,
    TrainingStepFinished,
    TrainingStepStarted,
)
from modelstore.selectors import config_current


class ConfigVersionForm(forms.ModelForm):
    data = forms.JSONField(
        widget=forms.Textarea(attrs={"rows": 40, "cols": 100, "style": "font-family: monospace"}),
        help_text="The whole configuration. Saving stores a new version, which becomes current.",
    )

    class Meta:
        model = ConfigVersion
        fields = ["data"]

    def clean_data(self):
        try:
            return config_from_payload(self.cleaned_data["data"]).to_data()
        except ConfigError as error:
            raise forms.ValidationError([f"{field}: {' '.join(messages)}" for field, messages in error.errors.items()])


@admin.register(ConfigVersion)
class ConfigVersionAdmin(admin.ModelAdmin):
    form = ConfigVersionForm
    list_display = ["id", "create_at", "created_by"]
    ordering = ["-create_at", "-id"]

    def get_changeform_initial_data(self, request):
        return {"data": json.loads(json.dumps(config_current().to_data()))}

    def has_change_permission(self, request, obj=None) -> bool:
        # Versions are immutable: "change" shows the version; a new one is made with "add".
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        obj.created_by = request.user.get_username()
        super().save_model(request, obj, form, change)


class TrainerQueueItemForm(forms.ModelForm):
    class Meta:
        model = TrainerQueueItem
        fields = ["model_name", "full_train"]

    def clean_model_name(self):
        name = self.cleaned_data["model_name"]
        if name not in known_model_names():
            raise forms.ValidationError(f"Unknown model {name!r}; known: {', '.join(sorted(known_model_names()))}.")
        return name


@admin.register(TrainerQueueItem)
class TrainerQueueItemAdmin(admin.ModelAdmin):
    form = TrainerQueueItemForm
    list_display = ["id", "model_name", "status", "attempts", "create_at", "claimed_at", "finished_at", "requested_by"]
    list_filter = ["status", "model_name"]
    ordering = ["-create_at"]
    readonly_fields = ["status", "attempts", "claimed_at", "claimed_by", "finished_at", "error", "create_at"]

    def get_fields(self, request, obj=None):
        return ["model_name", "full_train"] if obj is None else ["model_name", "full_train", *self.readonly_fields]

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.requested_by = f"admin:{request.user.get_username()}"
        super().save_model(request, obj, form, change)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(LatestIdentifier)
class LatestIdentifierAdmin(ReadOnlyAdmin):
    list_display = ["model_name", "identifier", "previous_identifier", "update_at"]


@admin.register(TrainingStarted)
class TrainingStartedAdmin(ReadOnlyAdmin):
    list_display = ["training_id", "model_name", "model_identifier", "full_train", "create_at"]
    list_filter = ["model_name"]


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
