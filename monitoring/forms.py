"""Forms of the dashboard pages: the date range, the configuration (sizes, enabled models,
cascades, model options) and a new experiment. The configuration form only parses the page's inputs into a config
payload; `config_from_payload` (called when the version is saved) stays the one validator, and
its errors are put back on the fields they name."""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
import types
import typing
from typing import Any

from django import forms
from django.utils import timezone

from monitoring.selectors import DateRange
from recommendations.algorithms.registry import MODELS
from recommendations.config import (
    CASCADE_FIELDS,
    ConfigError,
    ExperimentArm,
    RecommenderConfig,
    cascade_situation,
    config_from_payload,
    field_info,
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


def cascade_choices(field_name: str) -> list[str]:
    """Models that can serve this cascade's situation; the last resort ends every cascade
    implicitly and is never listed."""
    situation, phase = cascade_situation(field_name)
    return [name for name, model in MODELS.items() if not model.is_last_resort and (situation, phase) in model.supports]


# Editable cascades: those with a default cascade (the category list retrieves by category).
EDITABLE_CASCADES = tuple(f for f in CASCADE_FIELDS if getattr(RecommenderConfig(), f) is not None)


def _kind(annotation: Any) -> str:
    """How the page edits a field of this type: "ints"/"floats" are comma-separated lists."""
    if typing.get_origin(annotation) is tuple:
        return "ints" if typing.get_args(annotation)[0] is int else "floats"
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return "optional_float"
    return "int" if annotation is int else "float"


def _option_fields() -> tuple[tuple[str, str, str, str], ...]:
    """(section key, section title, field, kind) of every model option, in the registry's order."""
    found = []
    for model in MODELS.values():
        if model.options is None:
            continue
        hints = typing.get_type_hints(model.options)
        for f in dataclasses.fields(model.options):
            found.append((model.options_key(), model.title, f.name, _kind(hints[f.name])))
    return tuple(found)


OPTION_FIELDS = _option_fields()


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
        for name in self._toggled():
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
        for section, _title, name, kind in OPTION_FIELDS:
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
        title, description = field_info(name)
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
        for _section, _title, name, kind in OPTION_FIELDS:
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
        data["models_disabled"] = {name: True for name in self._toggled() if not cleaned[f"enabled_{name}"]}
        for name in EDITABLE_CASCADES:
            data[name] = list(cleaned[name])
        for section, _title, name, _kind in OPTION_FIELDS:
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
        return {n: self[f"enabled_{n}"] for n in self._toggled()}

    @staticmethod
    def _toggled() -> list[str]:
        """The models an operator may disable: all but the last resort."""
        return [name for name, model in MODELS.items() if not model.is_last_resort]

    def cascades(self):
        return [(self[n], cascade_choices(n)) for n in EDITABLE_CASCADES]

    def option_sections(self):
        sections: dict[str, list] = {}
        for _section, title, name, _kind in OPTION_FIELDS:
            sections.setdefault(title, []).append(self[name])
        return list(sections.items())


def _initial(value, kind: str):
    if kind in ("ints", "floats"):
        return _format_list(value)
    return value


ARM_ROWS = 4
_ARM_ERROR = re.compile(r"experiments\.\d+\.arms\.(\d+)\.(name|weight|overrides)")


class ExperimentStartForm(forms.Form):
    """A new experiment: its name and up to `ARM_ROWS` arms (blank rows are left out), each with a
    name, a weight and its overrides as a JSON object of config keys. The first arm is the control."""

    name = forms.CharField(max_length=64, help_text="Letters, digits, '.', '_' or '-'; shown in the reports.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for row in range(ARM_ROWS):
            self.fields[f"arm_{row}_name"] = forms.CharField(required=row < 2, max_length=64, label="Arm")
            self.fields[f"arm_{row}_weight"] = forms.FloatField(required=False, min_value=0, label="Weight")
            self.fields[f"arm_{row}_overrides"] = forms.CharField(
                required=False,
                label="Overrides (JSON)",
                widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false", "class": "json"}),
            )
        self.initial.setdefault("arm_0_name", "control")
        self.initial.setdefault("arm_0_weight", 1)
        self.initial.setdefault("arm_0_overrides", "{}")
        self.initial.setdefault("arm_1_weight", 1)
        self.initial.setdefault("arm_1_overrides", '{"homepageScoringCascade": ["popularity"]}')

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for row in range(ARM_ROWS):
            text = (cleaned.get(f"arm_{row}_overrides") or "").strip() or "{}"
            try:
                overrides = json.loads(text)
            except ValueError as error:
                self.add_error(f"arm_{row}_overrides", f"Not JSON: {error}.")
                continue
            if not isinstance(overrides, dict):
                self.add_error(f"arm_{row}_overrides", 'Give a JSON object, e.g. {"retrievalSize": 500}.')
                continue
            cleaned[f"arm_{row}_overrides"] = overrides
        return cleaned

    def arm_rows(self) -> list[tuple]:
        return [
            (self[f"arm_{row}_name"], self[f"arm_{row}_weight"], self[f"arm_{row}_overrides"])
            for row in range(ARM_ROWS)
        ]

    def _filled_rows(self) -> list[int]:
        return [row for row in range(ARM_ROWS) if (self.cleaned_data.get(f"arm_{row}_name") or "").strip()]

    def arms(self) -> list[ExperimentArm]:
        cleaned = self.cleaned_data
        return [
            ExperimentArm(
                name=cleaned[f"arm_{row}_name"].strip(),
                weight=cleaned[f"arm_{row}_weight"] if cleaned[f"arm_{row}_weight"] is not None else 1.0,
                overrides=cleaned[f"arm_{row}_overrides"],
            )
            for row in self._filled_rows()
        ]

    def add_config_errors(self, error: ConfigError) -> None:
        """Put the validator's errors (`experiments.3.arms.1.overrides.retrievalSize`) on the row of
        the arm they name (blank rows are not arms)."""
        rows = self._filled_rows()
        for key, messages in error.errors.items():
            match = _ARM_ERROR.match(key)
            if match and int(match[1]) < len(rows):
                detail = key[match.end() :].lstrip(".")
                field_name = f"arm_{rows[int(match[1])]}_{match[2]}"
                self.add_error(field_name, [f"{detail}: {m}" if detail else m for m in messages])
            elif key.endswith(".name") and key.count(".") == 2:
                self.add_error("name", messages)
            else:
                self.add_error(None, f"{key}: {' '.join(messages)}")
