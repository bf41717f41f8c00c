"""The definitions of the monitoring figures, as the dashboard's `info` texts show them."""

from __future__ import annotations

HIT_RATE_K = 10
GENERAL = "general"

PERFORMANCE_INFO: dict[str, dict[str, str]] = {
    "hitRate": {
        "title": "Hit rate @ %k%",
        "description": (
            "Share of the recommendation lists served in the range that got a click in their top %k% "
            "positions: the click must be attributed to the list's model and recommendation type, in the "
            "same session, after the list was served and inside the range. Each click counts for one list "
            "(the newest one of that session, type and model that showed the clicked product, else the newest one)."
        ),
    },
    "futureHitRate": {
        "title": "Future hit rate @ %k%",
        "description": (
            "Share of the recommendation lists served in the range with one of their top %k% products "
            "viewed later in the same session (inside the range), whether the shopper came to it on their "
            "own or through this model's recommendation; views through another model's recommendation count "
            "for that model."
        ),
    },
    "coverage": {
        "title": "Coverage",
        "description": (
            "Distinct catalogue variants that appeared in the recommendation lists served in the range, "
            "as a share of all variants in the catalogue (not deleted)."
        ),
    },
    "clickThroughRate": {
        "title": "Click-through rate",
        "description": "Clicks on recommended products per recommended product shown (recommendation views), inside the range.",
    },
    "predictions": {
        "title": "Predictions",
        "description": "Number of recommendation lists served in the range (a model's: the lists it scored).",
    },
    "durations": {
        "title": "Durations",
        "description": (
            "Seconds spent in retrieval, scoring and ordering per prediction: average, 95th percentile and "
            "maximum. A model's retrieval durations are those of the lists it retrieved for."
        ),
    },
    "experiments": {
        "title": "Experiments",
        "description": (
            "Per arm of an experiment, the lists served with that arm's configuration and their hit rate, future "
            "hit rate, click-through rate and coverage (clicks and views count for the arm of their session), each "
            "with a 95% Wilson confidence interval. Each arm is compared with the control (the first arm) by a "
            "two-sided two-proportion z-test: 'better' or 'worse' when the p-value is below 0.05, otherwise 'no "
            "significant difference'. Coverage treats every catalogue variant as one trial, so its test is a rough "
            "guide, and an arm with more traffic covers more."
        ),
    },
}
