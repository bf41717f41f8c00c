"""Whether the stored data suffice to train a model: the model's `training_requirement` (the
contract's thresholds, read from its options) against cheap counts (the dashboard asks for
every model on every page load)."""

from __future__ import annotations

from feedback import selectors as feedback_selectors
from products import selectors as product_selectors
from recommendations.algorithms.registry import get_model_class
from recommendations.config import RecommenderConfig
from recommendations.selectors import config_current

# What each counted row is called in a reason.
_NOUNS = {"variants": "variants", "interactions": "interactions", "views": "product views"}


def _count(counted: str) -> int:
    if counted == "variants":
        return product_selectors.variant_count()
    events = feedback_selectors.event_counts()
    if counted == "views":
        return events["views"]
    # Interactions: counts only. The matrix may hold fewer cells once repeated interactions
    # collapse, which the training then reports.
    return events["views"] + events["carts"] + events["reviews"] + product_selectors.order_line_count()


def training_readiness(*, model_name: str, config: RecommenderConfig | None = None) -> str | None:
    """None when the model may train now, else the reason it may not."""
    model_class = get_model_class(model_name)
    requirement = model_class.training_requirement
    if not model_class.needs_training or requirement is None:
        return f"{model_name} needs no training"
    config = config or config_current()
    count = _count(requirement.counted)
    noun = _NOUNS[requirement.counted]
    if requirement.multiplier_option is None:
        if count >= requirement.minimum:
            return None
        return f"{model_name} needs at least {requirement.minimum} {noun}, the catalogue has {count}"
    multiplier = getattr(config.options_of(model_name), requirement.multiplier_option)
    variants = product_selectors.variant_count()
    needed = multiplier * variants
    if count > needed and count >= requirement.minimum:
        return None
    return (
        f"{model_class.title} needs more than {max(needed, requirement.minimum - 1):g} {noun} "
        f"({requirement.multiplier_option} {multiplier:g} x {variants} variants); there are {count}"
    )
