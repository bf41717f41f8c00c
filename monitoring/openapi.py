"""OpenAPI shapes of the dashboard API (contract section 8, with this service's additions) and of
/metrics, for drf-spectacular."""

from __future__ import annotations

from typing import Any

from monitoring.selectors.experiments import EXPERIMENT_METRICS
from monitoring.statistics import Verdict
from recommendations.openapi import config_schema

_NUMBER = {"type": ["number", "null"]}
_COUNT = {"type": "integer", "minimum": 0}


def _object(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "required": list(properties), "properties": properties, **extra}


MODEL = _object(
    {
        "name": {"type": "string"},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "disabled": {"type": "boolean"},
        "canBeTrained": {"type": "boolean"},
        "isReadyForTraining": {"type": "boolean"},
        "isTrained": {"type": "boolean"},
    }
)
_MODELS = {"type": "array", "items": MODEL}

CONFIGURATION = _object(
    {
        "models": _MODELS,
        "config": config_schema(for_request=False),
        "info": {"type": "object", "description": "Title and description of every config field, nested like it."},
    }
)

_DURATIONS = _object({"avg": _NUMBER, "max": _NUMBER, "p95": _NUMBER})
PERFORMANCE_FIGURES = _object(
    {
        "k": {"type": "integer"},
        "data": _object(
            {
                "hitRate": _NUMBER,
                "futureHitRate": _NUMBER,
                "coverage": _NUMBER,
                "predictions": _COUNT,
                "retrievalDuration": _DURATIONS,
                "scoringDuration": _DURATIONS,
                "orderingDuration": _DURATIONS,
                "clickThroughRate": _NUMBER,
                "clicks": _COUNT,
                "recommendationViews": _COUNT,
            }
        ),
    }
)
_METRIC = _object(
    {
        "value": _NUMBER,
        "successes": _COUNT,
        "trials": _COUNT,
        "ci95": {
            "type": ["array", "null"],
            "items": {"type": "number"},
            "minItems": 2,
            "maxItems": 2,
            "description": "95% Wilson interval.",
        },
        "z": _NUMBER,
        "pValue": _NUMBER,
        "verdict": {
            "type": "string",
            "enum": [
                Verdict.CONTROL,
                Verdict.BETTER,
                Verdict.WORSE,
                Verdict.NO_DIFFERENCE,
                Verdict.NOT_ENOUGH_DATA,
            ],
            "description": "Against the control by a two-sided two-proportion z-test at 5%.",
        },
    }
)
EXPERIMENT = _object(
    {
        "name": {"type": "string"},
        "active": {"type": "boolean"},
        "configured": {"type": "boolean"},
        "predictions": _COUNT,
        "arms": {
            "type": "array",
            "items": _object(
                {
                    "name": {"type": "string"},
                    "weight": _NUMBER,
                    "overrides": {"type": "object"},
                    "control": {"type": "boolean"},
                    "predictions": _COUNT,
                    "metrics": _object({key: _METRIC for key in EXPERIMENT_METRICS}),
                }
            ),
        },
    }
)
_TEXT = _object({"title": {"type": "string"}, "description": {"type": "string"}})
PERFORMANCE = _object(
    {
        "models": _MODELS,
        "performance": _object(
            {
                "general": PERFORMANCE_FIGURES,
                "modelSpecific": {"type": "object", "additionalProperties": PERFORMANCE_FIGURES},
            }
        ),
        "info": {"type": "object", "additionalProperties": _TEXT},
        "experiments": {"type": "array", "items": EXPERIMENT},
    }
)

_PAIR = _object({"avg": _NUMBER, "max": _NUMBER})
TRAINING_FIGURES = _object(
    {
        "data": _object(
            {
                "trainings": _object({key: _COUNT for key in ("started", "completed", "failed", "skipped")})
                | {
                    "properties": {
                        key: {"type": "integer"} for key in ("started", "completed", "failed", "skipped", "unfinished")
                    }
                },
                "peakMemory": _PAIR,
                "peakMemoryPercentage": _PAIR,
                "duration": _PAIR,
                "latestMetrics": {
                    "anyOf": [
                        {"type": "null"},
                        _object(
                            {
                                "modelIdentifier": {"type": "string"},
                                "createAt": {"type": "string", "format": "date-time"},
                                "fullTrain": {"type": "boolean"},
                                "metrics": {"type": "object"},
                                "hyperparameters": {"type": "object"},
                            }
                        ),
                    ]
                },
            }
        )
    }
)
TRAINING = _object(
    {
        "models": _MODELS,
        "training": _object(
            {"general": TRAINING_FIGURES, "modelSpecific": {"type": "object", "additionalProperties": TRAINING_FIGURES}}
        ),
    }
)
DASHBOARD = _object(
    {
        "dateFrom": {"type": "string", "format": "date-time"},
        "dateTo": {"type": "string", "format": "date-time"},
        "configuration": CONFIGURATION,
        "performance": PERFORMANCE,
        "training": TRAINING,
    }
)

METRICS_TEXT = {
    "type": "string",
    "description": "The Prometheus text format (version 0.0.4), summed over the server's worker processes.",
}
