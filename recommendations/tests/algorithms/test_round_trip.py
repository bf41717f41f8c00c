"""Every model of this package: train (if it needs it) → save → load → predict, and broken
artefacts raise ArtefactError."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from recommendations.algorithms.artefacts import str_array, write_arrays
from recommendations.algorithms.base import (
    ArtefactError,
    Catalogue,
    Phase,
    PredictContext,
    PredictionModel,
    RecommendationType,
)
from recommendations.algorithms.dummy import DummyModel
from recommendations.algorithms.ease import EASEModel, EASEParams, build_ease_data
from recommendations.algorithms.popularity import PopularityModel
from recommendations.algorithms.selection import SelectionModel
from recommendations.algorithms.similarity import ARRAYS as SIMILARITY_ARRAYS
from recommendations.algorithms.similarity import MAPPED_ARRAYS as SIMILARITY_MAPPED
from recommendations.algorithms.similarity import SimilarityData, SimilarityModel, SimilarityParams
from recommendations.algorithms.sknn import SKNNData, SKNNModel
from recommendations.training import offline

SKUS = ["a", "b", "c", "d"]
CATALOGUE = Catalogue.build(
    SKUS,
    is_available=[True, True, True, False],
    recommendation_weight=[1.0, 0.0, 3.0, 5.0],
    popularity=[2.0, 7.0, 0.0, 9.0],
)


def trained_similarity() -> PredictionModel:
    data = SimilarityData(
        skus=SKUS,
        prices={"EUR": np.array([10.0, 11.0, 30.0, 12.0])},
        numerical=np.zeros((4, 0)),
        categorical=[],
    )
    return SimilarityModel.fit(data, SimilarityParams(neighbours=2))[0]


def trained_ease() -> PredictionModel:
    triplets = [("u1", "a", 1), ("u1", "b", 1), ("u2", "a", 1), ("u2", "b", 1), ("u3", "c", 1), ("u3", "d", 1)]
    return EASEModel.fit(build_ease_data(triplets), EASEParams(l2_options=(1.0,)))[0]


def trained_sknn() -> PredictionModel:
    sessions = SKNNData(["u1", "u2", "u3"], [["a", "b"], ["c", "a"], ["c", "d"]], [1.0, 2.0, 3.0])
    return SKNNModel.fit(sessions)[0]


# name → (build the model, the request, expected retrieval of 10, candidates, expected scoring order)
CASES: dict[str, tuple[Callable[[], PredictionModel], PredictContext, list[str] | None, list[str], list[str]]] = {
    "dummy": (
        DummyModel,
        PredictContext(RecommendationType.HOMEPAGE, CATALOGUE, exclude=frozenset({"a"}), seed=1),
        None,  # random: checked as a set below
        ["d", "zz", "a"],
        ["d", "zz", "a"],
    ),
    "selection": (
        SelectionModel,
        PredictContext(RecommendationType.HOMEPAGE, CATALOGUE, exclude=frozenset({"a"}), seed=1),
        ["c", "b"],  # positive weight first; "d" unavailable
        ["a", "b", "zz", "d"],
        ["d", "a", "b", "zz"],
    ),
    "popularity": (
        PopularityModel,
        PredictContext(RecommendationType.HOMEPAGE, CATALOGUE, exclude=frozenset({"a"}), seed=1),
        ["b", "c"],  # sold first
        ["a", "c", "d", "b"],
        ["d", "b", "a", "c"],
    ),
    "similarity": (
        trained_similarity,
        PredictContext(RecommendationType.PRODUCT_DETAIL, CATALOGUE, viewed_variant="a"),
        ["b"],  # a's 2 stored nearest are b and d; d is unavailable
        ["c", "d", "b"],
        ["b", "d", "c"],
    ),
    "ease": (
        trained_ease,
        PredictContext(RecommendationType.HOMEPAGE, CATALOGUE, user_history=(("a", 1.0),), exclude=frozenset({"a"})),
        None,  # checked below: "b" co-occurs with "a"
        ["c", "b"],
        ["b", "c"],
    ),
    "sknn": (
        trained_sknn,
        PredictContext(RecommendationType.PRODUCT_DETAIL, CATALOGUE, session_history=("a",), exclude=frozenset({"a"})),
        ["b", "c"],  # u1 and u2 hold "a" (similarity 1 each): b and c score 1, by item index
        ["d", "zz", "c", "b"],
        ["c", "b", "d", "zz"],  # d is known but no neighbour holds it: 0, before the unknown zz
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_train_save_load_predict(name: str, tmp_path: Path):
    build, context, expected_retrieval, candidates, expected_order = CASES[name]
    folder = tmp_path / name
    folder.mkdir()
    model = build()

    model.save(folder)
    loaded = type(model).load(folder)

    assert loaded.name == name
    assert loaded.is_ready(context)
    retrieved = loaded.retrieve(context, 10)
    if expected_retrieval is not None:
        assert retrieved == expected_retrieval
    if name == "dummy":
        assert sorted(retrieved) == ["b", "c"]
    if name == "ease":
        assert retrieved[0] == "b" and "a" not in retrieved and "d" not in retrieved
    assert [sku for sku, _ in loaded.score(context, candidates)] == expected_order
    assert loaded.score(context, candidates) == model.score(context, candidates)
    assert loaded.can_serve(context.recommendation_type, Phase.RETRIEVAL)


@pytest.mark.parametrize("build", [trained_similarity, trained_ease, trained_sknn], ids=["similarity", "ease", "sknn"])
def test_missing_artefact_raises_artefact_error(build, tmp_path: Path):
    model = build()

    with pytest.raises(ArtefactError, match="does not exist"):
        type(model).load(tmp_path / "nowhere")
    with pytest.raises(ArtefactError, match="missing"):
        type(model).load(tmp_path)  # exists but empty


@pytest.mark.parametrize(
    "build, file_name",
    # Similarity and EASE: one memory-mapped `.npy` per array; session-kNN: one `.npz` archive.
    [(trained_similarity, "neighbour_distance.npy"), (trained_ease, "weights.npy"), (trained_sknn, "sknn.npz")],
    ids=["similarity", "ease", "sknn"],
)
def test_corrupt_artefacts_raise_artefact_error(build, file_name, tmp_path: Path):
    model = build()
    model.save(tmp_path)
    archive = tmp_path / file_name
    original = archive.read_bytes()

    archive.write_bytes(original[: len(original) // 2])
    with pytest.raises(ArtefactError, match="corrupt"):
        type(model).load(tmp_path)

    archive.unlink()
    with pytest.raises(ArtefactError, match="missing"):
        type(model).load(tmp_path)

    if archive.suffix == ".npz":
        with zipfile.ZipFile(archive, "w") as broken:
            broken.writestr("skus.npy", b"not an array")
    else:
        archive.write_bytes(b"not an array")
    with pytest.raises(ArtefactError):
        type(model).load(tmp_path)

    archive.write_bytes(original)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ArtefactError, match="JSON"):
        type(model).load(tmp_path)


def test_similarity_artefact_is_memory_mapped_and_checked(tmp_path: Path):
    model = trained_similarity()
    model.save(tmp_path)

    loaded = SimilarityModel.load(tmp_path)

    assert sorted(path.name for path in tmp_path.glob("*.npy")) == sorted(f"{key}.npy" for key in SIMILARITY_ARRAYS)
    for key in SIMILARITY_MAPPED:
        assert isinstance(getattr(loaded, key).base, np.memmap) or isinstance(getattr(loaded, key), np.memmap), key
    assert loaded.neighbour_index.tolist() == model.neighbour_index.tolist()
    assert loaded.neighbour_distance.tolist() == model.neighbour_distance.tolist()
    # A neighbour list of another length than the distances is refused.
    np.save(tmp_path / "neighbour_distance.npy", model.neighbour_distance[:, :1])
    with pytest.raises(ArtefactError, match="shapes differ"):
        SimilarityModel.load(tmp_path)
    np.save(tmp_path / "neighbour_distance.npy", model.neighbour_distance)
    np.save(tmp_path / "neighbour_index.npy", model.neighbour_index + 4)
    with pytest.raises(ArtefactError, match="out of range"):
        SimilarityModel.load(tmp_path)


def test_ease_weights_are_memory_mapped_and_the_older_archive_is_still_read(tmp_path: Path):
    model = trained_ease()
    (tmp_path / "new").mkdir()
    model.save(tmp_path / "new")
    context = PredictContext(RecommendationType.HOMEPAGE, CATALOGUE, user_history=(("a", 1.0),))

    loaded = EASEModel.load(tmp_path / "new")

    assert isinstance(loaded.weights.base, np.memmap) or isinstance(loaded.weights, np.memmap)
    assert loaded.weights.tolist() == model.weights.tolist()
    assert loaded.score(context, ["b", "c", "d"]) == model.score(context, ["b", "c", "d"])
    # Format 1 (one ease.npz) written by an earlier release keeps serving until the next training.
    old = tmp_path / "old"
    old.mkdir()
    write_arrays(old / "ease.npz", {"skus": str_array(model.skus), "weights": model.weights})
    manifest = json.loads((tmp_path / "new" / "manifest.json").read_text())
    (old / "manifest.json").write_text(json.dumps({**manifest, "format": 1}))
    assert EASEModel.load(old).score(context, ["b", "c", "d"]) == model.score(context, ["b", "c", "d"])
    (old / "manifest.json").write_text(json.dumps({**manifest, "format": 7}))
    with pytest.raises(ArtefactError, match="has format 7; this code reads format 2 or 1"):
        EASEModel.load(old)


def test_an_artefact_of_another_model_is_refused(tmp_path: Path):
    trained_ease().save(tmp_path)

    with pytest.raises(ArtefactError, match="for model 'ease'"):
        SimilarityModel.load(tmp_path)


def test_object_arrays_are_never_written(tmp_path: Path):
    from recommendations.algorithms.artefacts import write_arrays

    with pytest.raises(TypeError):
        write_arrays(tmp_path / "x.npz", {"skus": np.asarray(["a"], dtype=object)})


@pytest.mark.parametrize("build", [trained_ease, trained_sknn], ids=["ease", "sknn"])
def test_whole_catalogue_scores_equal_what_score_gives(build):
    """Offline evaluation ranks a whole catalogue from `known_item_scores`; the ranks must be
    those of `score` (unknown SKUs -inf, the rest the same values), whatever the universe order."""
    model = build()
    universe = ["zz", "d", "b", "a", "c", "yy"]
    index = {sku: i for i, sku in enumerate(universe)}
    for history in [("a",), ("c", "a"), ("zz",), ()]:
        context = PredictContext(
            RecommendationType.HOMEPAGE,
            CATALOGUE,
            session_history=history,
            user_history=tuple((sku, 1.0) for sku in history),
        )
        expected = offline._scores(model, context, universe, index)
        whole = offline._UniverseScores(universe, index)

        assert whole(model, context).tolist() == expected.tolist()
        assert whole(model, context).tolist() == expected.tolist()  # the mapping, cached, still holds
        assert expected[0] == expected[5] == -np.inf and np.isfinite(expected[1:5]).all()


def test_ease_with_one_l2_option_skips_validation_and_a_refit_keeps_the_chosen_l2():
    triplets = [("u1", "a", 1), ("u1", "b", 1), ("u2", "a", 1), ("u2", "b", 1), ("u3", "c", 1), ("u3", "d", 1)]
    model, result = EASEModel.fit(build_ease_data(triplets), EASEParams(l2_options=(5.0,)))

    assert model.l2 == 5.0 and result.metrics["validation"] == "skipped: one l2 option"
    chosen = trained_ease()  # chose among (1.0,)
    assert chosen.refit_params(EASEParams(l2_options=(1.0, 10.0, 100.0))).l2_options == (chosen.l2,)
