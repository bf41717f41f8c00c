"""Admin of what is edited against the registry and the typed config: config versions (saving
always makes a new version) and the trainer queue."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html

from modelstore.models import ConfigVersion, TrainerQueueItem
from modelstore.selectors import config_version_current
from modelstore.services import training_request
from recommendations.config import ConfigError, config_from_payload, known_model_names
from recommendations.selectors import config_current


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
            raise forms.ValidationError(
                [f"{field}: {' '.join(messages)}" for field, messages in error.errors.items()]
            ) from error


@admin.register(ConfigVersion)
class ConfigVersionAdmin(admin.ModelAdmin):
    form = ConfigVersionForm
    list_display = ["id", "create_at", "created_by", "is_current", "sizes", "disabled_models"]
    ordering = ["-create_at", "-id"]
    search_fields = ["created_by"]
    date_hierarchy = "create_at"
    readonly_fields = ["pretty_data"]

    def get_queryset(self, request):
        self._current_id = getattr(config_version_current(), "pk", None)
        return super().get_queryset(request)

    @admin.display(boolean=True, description="current")
    def is_current(self, obj) -> bool:
        return obj.pk == getattr(self, "_current_id", None)

    @admin.display(description="retrieval / ordering size")
    def sizes(self, obj) -> str:
        return f"{obj.data.get('retrieval_size')} / {obj.data.get('ordering_size')}"

    @admin.display(description="disabled models")
    def disabled_models(self, obj) -> str:
        return ", ".join(sorted(k for k, v in (obj.data.get("models_disabled") or {}).items() if v)) or "-"

    @admin.display(description="data")
    def pretty_data(self, obj) -> str:
        return format_html("<pre style='font-size: 12px'>{}</pre>", json.dumps(obj.data, indent=2, sort_keys=True))

    def get_fields(self, request, obj=None):
        # Adding edits the JSON; viewing an (immutable) version shows it indented.
        return ["data"] if obj is None else ["created_by", "create_at", "pretty_data"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["created_by", "create_at", "pretty_data"]

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
    date_hierarchy = "create_at"
    search_fields = ["model_name", "requested_by", "error"]
    readonly_fields = ["status", "attempts", "claimed_at", "claimed_by", "finished_at", "error", "create_at"]
    actions = ["queue_again"]

    @admin.action(description="Queue the selected models for training again")
    def queue_again(self, request, queryset) -> None:
        # Items are the trainer's record of what happened; a retry is a new request.
        names = sorted(set(queryset.values_list("model_name", flat=True)) & set(known_model_names()))
        for name in names:
            training_request(model_name=name, requested_by=f"admin:{request.user.get_username()}")
        self.message_user(request, f"Queued: {', '.join(names) or 'nothing'}.", messages.SUCCESS)

    def get_fields(self, request, obj=None):
        return ["model_name", "full_train"] if obj is None else ["model_name", "full_train", *self.readonly_fields]

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.requested_by = f"admin:{request.user.get_username()}"
        super().save_model(request, obj, form, change)
