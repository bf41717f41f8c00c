"""GRU4Rec on tiny deterministic sessions: it learns a cycle, round-trips through its artefact,
and never fails on unknown SKUs, short sessions or damaged files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from recommendations.algorithms.base import (
    ArtefactError,
    Catalogue,
    NotReadyForTraining,
    PredictContext,
    RecommendationType,
    SessionData,
)
from recommendations.algorithms.gru4rec import (
    CONFIG_FILE,
    STATE_FILE,
    GRU4RecModel,
    GRU4RecParams,
)
from recommendations.training import offline


# The project conftest's autouse fixtures need Django settings; this module tests a pure
# algorithm and runs without Django (`-p no:django`), so it replaces them with no-ops.
@pytest.fixture(autouse=True)
def _isolated_model_dir():
    yield


@pytest.fixture(autouse=True)
def _fresh_process_caches():
    yield


SKUS = ["A", "B", "C", "D", "E", "F"]
CYCLE = [0, 1, 2, 3]  # A → B → C → D → A …; E and F never follow anything


def cycle_data(n_sessions: int = 120, seed: int = 0) -> SessionData:
    rng = np.random.default_rng(seed)
    sessions = []
    for _ in range(n_sessions):
        start = int(rng.integers(4))
        length = int(rng.integers(2, 7))
        sessions.append(np.array([CYCLE[(start + t) % 4] for t in range(length)], dtype=np.int64))
    # E and F exist but are rare, so they are never the right answer.
    sessions.append(np.array([4, 5], dtype=np.int64))
    return SessionData(skus=SKUS, sessions=sessions, session_start_times=np.arange(len(sessions), dtype=float))


def tiny_params(**overrides) -> GRU4RecParams:
    values = dict(
        num_epochs_options=(8,),
        batch_size_options=(8,),
        hidden_size_options=(16,),
        learning_rate_options=(0.1,),
        n_sample_options=(4,),
        dropout_hidden_options=(0.0,),
        validation_fraction=0.1,
        seed=3,
    )
    values.update(overrides)
    return GRU4RecParams(**values)


@pytest.fixture(scope="module")
def trained() -> GRU4RecModel:
    model, _ = GRU4RecModel.fit(cycle_data(), tiny_params(), progress=lambda message, fraction: None)
    return model


def context(history: tuple[str, ...]) -> PredictContext:
    return PredictContext(
        recommendation_type=RecommendationType.PRODUCT_DETAIL,
        catalogue=Catalogue.build(SKUS),
        session_history=history,
    )


def test_learns_the_next_item_of_a_cycle(trained):
    for history, expected in [(("A",), "B"), (("A", "B"), "C"), (("B", "C", "D"), "A"), (("D", "A", "B", "C"), "D")]:
        ranked = trained.score(context(history), SKUS)
        assert ranked[0][0] == expected, (history, ranked)


def test_fit_reports_every_combination_and_validation_metrics():
    progress_calls = []
    params = tiny_params(hidden_size_options=(8, 16))
    _, result = GRU4RecModel.fit(cycle_data(), params, progress=lambda m, f: progress_calls.append((m, f)))
    assert [step[0]["hidden_size"] for step in result.steps] == [8, 16]
    for _, metrics in result.steps:
        assert set(metrics) >= {"recall@20", "mrr@20", "n_events", "train_seconds"}
    best = max(result.steps, key=lambda step: (step[1]["recall@20"], step[1]["mrr@20"]))
    assert result.hyperparameters == best[0]
    assert result.metrics["recall@20"] == best[1]["recall@20"]
    assert progress_calls[-1] == ("done", 1.0)
    assert all(0.0 <= f <= 1.0 for _, f in progress_calls)
    assert [f for _, f in progress_calls] == sorted(f for _, f in progress_calls)


def test_fit_is_reproducible_with_a_seed():
    first, _ = GRU4RecModel.fit(cycle_data(), tiny_params(num_epochs_options=(1,)), progress=lambda m, f: None)
    second, _ = GRU4RecModel.fit(cycle_data(), tiny_params(num_epochs_options=(1,)), progress=lambda m, f: None)
    np.testing.assert_array_equal(first.score_all([0, 1]), second.score_all([0, 1]))


@pytest.mark.parametrize(
    "options",
    [
        dict(loss_options=("bpr-max",)),
        dict(input_options=("embedding",), embedding_size_options=(8,)),
        dict(input_options=("one-hot",)),
        dict(input_options=("decayed",), embedding_size_options=(8,)),
        dict(num_layers_options=(2,), dropout_embedding_options=(0.2,), dropout_hidden_options=(0.2,)),
        dict(momentum_options=(0.5,), logq_options=(1.0,), n_sample_options=(0,)),
    ],
)
def test_every_option_trains_and_predicts(options, tmp_path):
    model, result = GRU4RecModel.fit(
        cycle_data(60), tiny_params(num_epochs_options=(2,), **options), progress=lambda m, f: None
    )
    scores = model.score_all([0, 1])
    assert scores.shape == (len(SKUS),) and np.isfinite(scores).all()
    model.save(tmp_path)
    np.testing.assert_array_equal(GRU4RecModel.load(tmp_path).score_all([0, 1]), scores)


def test_save_load_round_trip_gives_identical_scores(trained, tmp_path):
    trained.save(tmp_path)
    loaded = GRU4RecModel.load(tmp_path)
    for history in [("A",), ("C", "D", "A"), ()]:
        assert loaded.score(context(history), SKUS) == trained.score(context(history), SKUS)
    assert loaded.skus == trained.skus
    assert json.loads((tmp_path / CONFIG_FILE).read_text())["skus"] == SKUS
    # The weights are the mapped file's pages, not a copy per process: every parameter's memory
    # lies in a mapping of the state file (Linux /proc).
    maps = Path("/proc/self/maps").read_text().splitlines()
    spans = [
        tuple(int(x, 16) for x in line.split()[0].split("-")) for line in maps if str(tmp_path / STATE_FILE) in line
    ]
    assert spans
    for tensor in loaded.network.state_dict().values():
        assert any(low <= tensor.data_ptr() < high for low, high in spans)


def test_whole_catalogue_scores_equal_what_score_gives(trained):
    universe = ["unknown", *reversed(SKUS)]
    index = {sku: i for i, sku in enumerate(universe)}
    whole = offline._UniverseScores(universe, index)
    for history in [("A",), ("C", "D", "A"), ()]:
        expected = offline._scores(trained, context(history), universe, index)
        assert whole(trained, context(history)).tolist() == expected.tolist()
        assert expected[0] == -np.inf and np.isfinite(expected[1:]).all()


def test_unknown_candidates_come_last_in_given_order(trained):
    ranked = trained.score(context(("A", "unknown-sku")), ["new-1", "C", "B", "new-2"])
    assert [sku for sku, _ in ranked] == ["B", "C", "new-1", "new-2"]
    assert ranked[2][1] == -math.inf and ranked[3][1] == -math.inf
    assert trained.score(context(("A",)), []) == []


def test_readiness_needs_a_known_sku_in_the_session(trained):
    assert trained.is_ready(context(("unknown", "A")))
    assert not trained.is_ready(context(("unknown",)))
    assert not trained.is_ready(context(()))
    # Asked anyway, an unknown-only history scores from the empty state without failing.
    assert len(trained.score(context(("unknown",)), SKUS)) == len(SKUS)


def test_missing_artefact_files_raise_artefact_error(trained, tmp_path):
    with pytest.raises(ArtefactError, match=CONFIG_FILE):
        GRU4RecModel.load(tmp_path)
    trained.save(tmp_path)
    (tmp_path / STATE_FILE).unlink()
    with pytest.raises(ArtefactError, match="missing"):
        GRU4RecModel.load(tmp_path)


@pytest.mark.parametrize(
    "damage",
    [
        lambda folder: (folder / STATE_FILE).write_bytes(b"not a torch file"),
        lambda folder: (folder / STATE_FILE).write_bytes((folder / STATE_FILE).read_bytes()[:100]),
        lambda folder: (folder / CONFIG_FILE).write_text("{not json"),
        lambda folder: (folder / CONFIG_FILE).write_text(json.dumps({"format_version": 1, "skus": SKUS})),
        # Weights of a different shape than the description says.
        lambda folder: (folder / CONFIG_FILE).write_text(
            (folder / CONFIG_FILE).read_text().replace('"hidden_size": 16', '"hidden_size": 17')
        ),
        lambda folder: (folder / CONFIG_FILE).write_text(
            json.dumps({**json.loads((folder / CONFIG_FILE).read_text()), "skus": SKUS[:-1]})
        ),
    ],
)
def test_corrupt_artefact_raises_artefact_error(trained, tmp_path, damage):
    trained.save(tmp_path)
    damage(tmp_path)
    with pytest.raises(ArtefactError):
        GRU4RecModel.load(tmp_path)


def test_artefact_holds_only_tensors(trained, tmp_path):
    trained.save(tmp_path)
    state = torch.load(tmp_path / STATE_FILE, weights_only=True)
    assert all(isinstance(value, torch.Tensor) for value in state.values())


def test_empty_data_raises_not_ready_for_training():
    with pytest.raises(NotReadyForTraining, match="two or more"):
        GRU4RecModel.fit(SessionData(skus=SKUS, sessions=[]), tiny_params(), progress=lambda m, f: None)
    with pytest.raises(NotReadyForTraining):
        GRU4RecModel.fit(SessionData(skus=[], sessions=[]), tiny_params(), progress=lambda m, f: None)


def test_sessions_of_length_one_do_not_crash():
    only_singles = SessionData(skus=SKUS, sessions=[np.array([0]), np.array([], dtype=np.int64), np.array([2])])
    with pytest.raises(NotReadyForTraining):
        GRU4RecModel.fit(only_singles, tiny_params(), progress=lambda m, f: None)
    # Mixed with longer sessions, the single clicks are skipped (also in the validation part).
    sessions = [np.array([0, 1, 2])] * 5 + [np.array([3])] * 5
    model, result = GRU4RecModel.fit(
        SessionData(skus=SKUS, sessions=sessions), tiny_params(), progress=lambda m, f: None
    )
    assert "note" in result.metrics  # the held-out sessions have nothing to predict
    assert np.isfinite(model.score_all([0])).all()


@pytest.mark.parametrize("loss", ["cross-entropy", "bpr-max"])
@pytest.mark.parametrize("n_sample", [0, 4])
def test_a_single_session_trains(loss, n_sample):
    params = tiny_params(batch_size_options=(32,), loss_options=(loss,), n_sample_options=(n_sample,))
    model, _ = GRU4RecModel.fit(SessionData(skus=SKUS, sessions=[np.array([0, 1])]), params, progress=lambda m, f: None)
    assert np.isfinite(model.score_all([0])).all()


def test_incremental_training_changes_weights_and_adds_new_skus():
    model, _ = GRU4RecModel.fit(cycle_data(), tiny_params(), progress=lambda m, f: None)
    before = {name: tensor.clone() for name, tensor in model.network.state_dict().items()}
    # New sessions refer to a new SKU "G" and reuse known ones under a different numbering.
    new = SessionData(skus=["G", "A", "B"], sessions=[np.array([1, 2, 0]), np.array([0, 1])] * 10)
    result = model.fit_incremental(new, epochs=2, progress=lambda m, f: None)
    assert result.metrics["n_new_skus"] == 1
    assert model.skus == SKUS + ["G"]
    after = model.network.state_dict()
    assert after["output_embedding"].shape[0] == len(SKUS) + 1
    assert not torch.equal(after["weight_hh.0"], before["weight_hh.0"])
    ranked = model.score(context(("A", "B")), SKUS + ["G"])
    assert {sku for sku, _ in ranked} == set(SKUS + ["G"]) and all(math.isfinite(score) for _, score in ranked)


def test_incremental_training_on_nothing_new_is_harmless(trained):
    before = trained.score_all([0])
    result = trained.fit_incremental(SessionData(skus=[], sessions=[]), progress=lambda m, f: None)
    assert result.metrics["n_examples"] == 0
    np.testing.assert_array_equal(trained.score_all([0]), before)


def test_invalid_data_and_params_are_rejected():
    with pytest.raises(ValueError, match="outside skus"):
        GRU4RecModel.fit(SessionData(skus=["A"], sessions=[np.array([0, 1])]), tiny_params())
    with pytest.raises(ValueError, match="loss"):
        GRU4RecParams(loss_options=("top1",))
    with pytest.raises(ValueError, match="non-empty"):
        GRU4RecParams(hidden_size_options=())


def test_artefact_folder_may_be_a_string(trained, tmp_path: Path):
    trained.save(str(tmp_path))
    assert GRU4RecModel.load(str(tmp_path)).skus == SKUS
