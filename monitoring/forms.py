"""Forms of the dashboard pages: the date range, and the configuration (sizes, enabled models,
cascades, model options). The configuration form only parses the page's inputs into a config
payload; `config_from_payload` (called when the version is saved) stays the one validator, and
its errors are put back on the fields they name."""

from __future__ import annotations

import datetime
import re
from typing import Any

from django import forms
from django.utils import timezone

from monitoring.selectors import DateRange
from recommendations.algorithms.base import Phase, RecommendationType
from recommendations.algorithms.registry import MODELS
from recommendations.config import (
    CASCADE_FIELDS,
    FIELD_INFO,
    ConfigError,
    RecommenderConfig,
    config_from_payload,
    to_snake,
)


class DateRangeForm(forms.Form):
    """Whole days, both inclusive; the default is the last seven days."""

    date_from = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), required=False, label="From")
    date_to = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), required=False, label="To")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        self.initial.setdefault("date_to", today)
        self.initial.setdefault("date_from", today - datetime.timedelta(days=6))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        today = timezone.localdate()
        cleaned["date_to"] = cleaned.get("date_to") or today
        cleaned["date_from"] = cleaned.get("date_from") or cleaned["date_to"] - datetime.timedelta(days=6)
        if cleaned["date_from"] > cleaned["date_to"]:
            raise forms.ValidationError("The start must not be after the end.")
        return cleaned

    def date_range(self) -> DateRange:
        """The cleaned range, or the default one when the input is invalid."""
        if self.is_valid():
            start, end = self.cleaned_data["date_from"], self.cleaned_data["date_to"]
        else:
            end = timezone.localdate()
            start = end - datetime.timedelta(days=6)
        zone = timezone.get_current_timezone()
        return DateRange(
            start=datetime.datetime.combine(start, datetime.time.min, tzinfo=zone),
            end=datetime.datetime.combine(end, datetime.time.max, tzinfo=zone),
        )


def _number_list(text: str, kind: type) -> tuple:
    parts = [p for p in re.split(r"[,\s;]+", text.strip()) if p]
    try:
        return tuple(kind(p) if kind is float else int(p) for p in parts)
    except ValueError:
        raise forms.ValidationError(
            "Enter whole numbers separated by commas." if kind is int else "Enter numbers separated by commas."
        ) from None


def _format_list(values) -> str:
    return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values or ())


def cascade_situation(field_name: str) -> tuple[RecommendationType, Phase]:
    """`product_detail_scoring_cascade` → (PRODUCT_DETAIL, SCORING)."""
    stem = field_name.removesuffix("_cascade")
    situation, phase = stem.rsplit("_", 1)
    return RecommendationType(situation.upper()), Phase(phase.upper())


def cascade_choices(field_name: str) -> list[str]:
    """Models that can serve this cascade's situation; dummy is the implicit last resort of every
    cascade and is never listed."""
    situation, phase = cascade_situation(field_name)
    return [name for name, model in MODELS.items() if name != "dummy" and (situation, phase) in model.supports]


# Editable cascades: the category list retrieves by category, no model is used.
EDITABLE_CASCADES = tuple(f for f in CASCADE_FIELDS if f != "category_list_retrieval_cascade")

# (section, field, kind) of the model options the page edits; kind "ints"/"floats" are lists.
OPTION_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("ease_config", "l2_options", "floats"),
    ("ease_config", "reviews_multiplier", "float"),
    ("ease_config", "max_items", "int"),
    ("ease_config", "view_weight", "float"),
    ("ease_config", "cart_weight", "float"),
    ("ease_config", "order_weight", "float"),
    ("ease_config", "review_weight", "float"),
    ("gru4rec_config", "num_epochs_options", "ints"),
    ("gru4rec_config", "batch_size_options", "ints"),
    ("gru4rec_config", "embedding_size_options", "ints"),
    ("gru4rec_config", "hidden_size_options", "ints"),
    ("gru4rec_config", "learning_rate_options", "floats"),
    ("gru4rec_config", "incremental_trainings", "int"),
    ("gru4rec_config", "events_multiplier", "float"),
    ("similarity_config", "neighbours", "int"),
    ("popularity_config", "half_life_days", "optional_float"),
)
OPTION_SECTIONS = {
    "ease_config": "EASE",
    "gru4rec_config": "GRU4Rec",
    "similarity_config": "Similarity",
    "popularity_config": "Popularity",
}


GENERAL_FIELDS = ("retrieval_size", "ordering_size", "diversity_weight", "one_variant_per_product")


class ConfigurationForm(forms.Form):
    retrieval_size = forms.IntegerField()
    ordering_size = forms.IntegerField()
    diversity_weight = forms.FloatField()
    one_variant_per_product = forms.BooleanField(required=False)

    def __init__(self, *args, config: RecommenderConfig, **kwargs):
        self.config = config
        super().__init__(*args, **kwargs)
        for name in GENERAL_FIELDS:
            self._describe(name)
            self.initial.setdefault(name, getattr(config, name))
        for name in MODELS:
            if name == "dummy":
                continue
            self.fields[f"enabled_{name}"] = forms.BooleanField(required=False, label=MODELS[name].title)
            self.initial.setdefault(f"enabled_{name}", not config.is_disabled(name))
        for name in EDITABLE_CASCADES:
            self.fields[name] = forms.CharField(
                required=False,
                widget=forms.TextInput(
                    attrs={
                        "class": "cascade-input",
                        "data-choices": ",".join(cascade_choices(name)),
                        "spellcheck": "false",
                    }
                ),
            )
            self._describe(name)
            self.initial.setdefault(name, ", ".join(getattr(config, name) or ()))
        for section, name, kind in OPTION_FIELDS:
            if kind in ("ints", "floats"):
                field: forms.Field = forms.CharField(required=False)
            elif kind == "int":
                field = forms.IntegerField()
            else:
                field = forms.FloatField(required=kind == "float")
            self.fields[name] = field
            self._describe(name)
            self.initial.setdefault(name, _initial(getattr(getattr(config, section), name), kind))

    def _describe(self, name: str) -> None:
        title, description = FIELD_INFO.get(name, (None, None))
        self.fields[name].label = title or name.replace("_", " ").capitalize()
        self.fields[name].help_text = description or ""

    # -- parsing ------------------------------------------------------------------------------
    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name in EDITABLE_CASCADES:
            if name not in cleaned:
                continue
            models = [p.strip().lower() for p in re.split(r"[,\s]+", cleaned[name] or "") if p.strip()]
            allowed = cascade_choices(name)
            unknown = [m for m in models if m not in MODELS]
            unfit = [m for m in models if m in MODELS and m not in allowed]
            if unknown:
                self.add_error(name, f"Unknown model {', '.join(map(repr, unknown))}.")
            if unfit:
                situation, phase = cascade_situation(name)
                self.add_error(
                    name,
                    f"{', '.join(unfit)} cannot serve {situation.value.lower().replace('_', ' ')} "
                    f"{phase.value.lower()}; choose from {', '.join(allowed)}.",
                )
            cleaned[name] = tuple(models)
        for section, name, kind in OPTION_FIELDS:
            if kind in ("ints", "floats") and name in cleaned:
                try:
                    cleaned[name] = _number_list(cleaned[name], int if kind == "ints" else float)
                except forms.ValidationError as error:
                    self.add_error(name, error)
        if not self.errors:
            # The one validator of configs, so its bounds show on the page before saving.
            try:
                config_from_payload(self.to_payload())
            except ConfigError as error:
                self.add_config_errors(error)
        return cleaned

    def to_payload(self) -> dict[str, Any]:
        """The current config with what the page edits replaced (snake_case)."""
        data = self.config.to_data()
        cleaned = self.cleaned_data
        for name in GENERAL_FIELDS:
            data[name] = cleaned[name]
        data["models_disabled"] = {
            name: not cleaned[f"enabled_{name}"]
            for name in MODELS
            if name != "dummy" and not cleaned[f"enabled_{name}"]
        }
        for name in EDITABLE_CASCADES:
            data[name] = list(cleaned[name])
        for section, name, kind in OPTION_FIELDS:
            value = cleaned[name]
            data[section][name] = list(value) if isinstance(value, tuple) else value
        return data

    def add_config_errors(self, error: ConfigError) -> None:
        """Put the validator's errors (keyed like `easeConfig.l2Options`) on the form's fields."""
        for key, messages in error.errors.items():
            name = to_snake(key.rsplit(".", 1)[-1])
            if name in self.fields:
                self.add_error(name, messages)
            else:
                self.add_error(None, f"{key}: {' '.join(messages)}")

    # -- groups for the template --------------------------------------------------------------
    def general_fields(self):
        return [self[n] for n in GENERAL_FIELDS]

    def model_toggles(self) -> dict[str, Any]:
        """Model name → its "Enabled" checkbox. Names, not classes: a template calls a callable
        it is handed, and a model class cannot be built without its arguments."""
        return {n: self[f"enabled_{n}"] for n in MODELS if n != "dummy"}

    def cascades(self):
        return [(self[n], cascade_choices(n)) for n in EDITABLE_CASCADES]

    def option_sections(self):
        sections: dict[str, list] = {}
        for section, name, _kind in OPTION_FIELDS:
            sections.setdefault(OPTION_SECTIONS[section], []).append(self[name])
        return list(sections.items())


def _initial(value, kind: str):
    if kind in ("ints", "floats"):
        return _format_list(value)
    return value
