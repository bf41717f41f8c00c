"""The registry maps every model name to its class."""

from __future__ import annotations

import pytest

registry = pytest.importorskip(
    "recommendations.algorithms.registry", reason="the registry needs every model module, gru4rec included"
)


def test_every_model_is_registered_under_its_name():
    assert list(registry.MODELS) == ["dummy", "selection", "popularity", "similarity", "gru4rec", "ease", "sknn"]
    assert all(cls.name == name for name, cls in registry.MODELS.items())


def test_unknown_name_raises_a_clear_key_error():
    with pytest.raises(KeyError, match="unknown prediction model 'nope'"):
        registry.get_model_class("nope")


def test_register_adds_a_model_and_refuses_a_taken_name(monkeypatch):
    from recommendations.algorithms.base import PredictionModel

    monkeypatch.setattr(registry, "MODELS", dict(registry.MODELS))

    class Newcomer(PredictionModel):
        name = "newcomer"
        title = "Newcomer"
        description = "test"

    class Impostor(PredictionModel):
        name = "dummy"
        title = "Impostor"
        description = "test"

    assert registry.register(Newcomer) is Newcomer
    assert registry.get_model_class("newcomer") is Newcomer
    with pytest.raises(ValueError, match="already registered"):
        registry.register(Impostor)
