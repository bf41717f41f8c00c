"""Session kNN (V-SKNN) on five hand-made sessions whose similarities and scores are worked out
below, plus a brute-force version of the algorithm on random sessions to check the vectorised
one, extension of the index, artefacts and parameter validation."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from recommendations.algorithms.base import (
    ArtefactError,
    Catalogue,
    NotReadyForTraining,
    Phase,
    PredictContext,
    RecommendationType,
)
from recommendations.algorithms.ranking import CatalogueRows
from recommendations.algorithms.sknn import (
    ARRAYS_FILE,
    SKNNData,
    SKNNModel,
    SKNNParams,
    position_weights,
    score_decay,
)

# Five past sessions (oldest click first) and the time of their last click.
SESSIONS = {
    "s1": (["a", "b", "c"], 10.0),
    "s2": (["b", "d"], 20.0),
    "s3": (["c", "d", "e"], 30.0),
    "s4": (["a", "e"], 40.0),
    "s5": (["f"], 50.0),
}
# For the current session (a, c) with the default weights: c is the last click, w(c) = 1,
# a one click earlier, w(a) = 0.9. Candidates are the sessions holding a or c: s1, s3, s4.
#   sim(s1) = w(a) + w(c) = 1.9    sim(s3) = w(c) = 1.0    sim(s4) = w(a) = 0.9
# Score decay "div": s1 and s3 hold c, the last click (t = 1, λ = 1); s4 holds only a (t = 2,
# λ = 1/2), so it adds 0.9 / 2 = 0.45 to its items.
#   a = 1.9 + 0.45 = 2.35   b = 1.9   c = 1.9 + 1.0 = 2.9   d = 1.0   e = 1.0 + 0.45 = 1.45
EXPECTED_SCORES = {"c": 2.9, "a": 2.35, "b": 1.9, "e": 1.45, "d": 1.0}
CATALOGUE = Catalogue.build(["a", "b", "c", "d", "e", "f", "g"])


def data(sessions: dict[str, tuple[list[str], float]] = SESSIONS) -> SKNNData:
    return SKNNData(
        session_ids=list(sessions),
        sessions=[items for items, _ in sessions.values()],
        times=np.asarray([when for _, when in sessions.values()]),
    )


def fitted(**params) -> SKNNModel:
    return SKNNModel.fit(data(), SKNNParams(**params))[0]


def context(*history: str, rtype=RecommendationType.HOMEPAGE, catalogue=CATALOGUE, **kwargs) -> PredictContext:
    return PredictContext(rtype, catalogue, session_history=history, **kwargs)


def scores_of(model: SKNNModel, *history: str) -> dict[str, float]:
    items, scores = model.item_scores(model.history_items(history))
    return {model.skus[i]: s for i, s in zip(items.tolist(), scores.tolist())}


def neighbours_of(model: SKNNModel, *history: str) -> list[tuple[str, float]]:
    found = model.neighbours(model.history_items(history))
    return [(model.session_ids[r], s) for r, s in zip(found.rows.tolist(), found.similarities.tolist())]


# -- the hand-made example ---------------------------------------------------------------------
def test_similarities_scores_and_ranking_match_the_hand_computation():
    model = fitted()

    assert neighbours_of(model, "a", "c") == [("s1", pytest.approx(1.9)), ("s3", 1.0), ("s4", pytest.approx(0.9))]
    found = model.neighbours(model.history_items(("a", "c")))
    assert found.decays.tolist() == [1.0, 1.0, 0.5]
    assert scores_of(model, "a", "c") == pytest.approx(EXPECTED_SCORES)
    assert model.retrieve(context("a", "c"), 10) == ["c", "a", "b", "e", "d"]


def test_without_score_decay_every_neighbour_counts_its_full_similarity():
    model = fitted(weighting_score="same")

    # s4 now adds its full 0.9: a = 1.9 + 0.9, e = 1.0 + 0.9.
    assert scores_of(model, "a", "c") == pytest.approx({"a": 2.8, "b": 1.9, "c": 2.9, "d": 1.0, "e": 1.9})


def test_k_keeps_the_most_similar_and_sample_size_the_most_recent_candidates():
    # k = 2: s1 (1.9) and s3 (1.0); s4 (0.9) is left out.
    assert scores_of(fitted(k=2), "a", "c") == pytest.approx({"a": 1.9, "b": 1.9, "c": 2.9, "d": 1.0, "e": 1.0})
    # sample_size = 2: of s1 (t=10), s3 (30), s4 (40) only s3 and s4 are candidates.
    model = fitted(sample_size=2)
    assert neighbours_of(model, "a", "c") == [("s3", 1.0), ("s4", pytest.approx(0.9))]
    assert scores_of(model, "a", "c") == pytest.approx({"c": 1.0, "d": 1.0, "e": 1.45, "a": 0.45})


def test_equal_similarities_prefer_the_more_recent_session():
    # History (d): s2 (t=20) and s3 (t=30) both hold d with weight 1.
    assert neighbours_of(fitted(), "d") == [("s3", 1.0), ("s2", 1.0)]
    assert neighbours_of(fitted(k=1), "d") == [("s3", 1.0)]


def test_equal_scores_are_returned_by_item_index():
    # k = 2 gives a = b = 1.9 and d = e = 1.0; the fit met a before b and d before e.
    assert fitted(k=2).retrieve(context("a", "c"), 10) == ["c", "a", "b", "d", "e"]


def test_repeated_clicks_take_the_position_of_the_latest_one():
    model = fitted()

    # (a, c, a, b): L = 4; latest positions a 3, b 4, c 2 → w = 0.9, 1, 0.8 (linear).
    found = model.neighbours(model.history_items(("a", "c", "a", "b")))
    assert [model.skus[i] for i in found.items] == ["a", "b", "c"]
    assert found.weights == pytest.approx([0.9, 1.0, 0.8])
    # s1 holds all three: 2.7; s2 holds b: 1; s4 holds a: 0.9; s3 holds c: 0.8.
    assert neighbours_of(model, "a", "c", "a", "b") == [
        ("s1", pytest.approx(2.7)),
        ("s2", 1.0),
        ("s4", pytest.approx(0.9)),
        ("s3", pytest.approx(0.8)),
    ]
    # The most recent shared click of s4 (a) is 2 clicks back (t = 2), of s3 (c) 3 back.
    assert found.decays.tolist() == pytest.approx([1.0, 1.0, 0.5, 1 / 3])


def test_position_weights_and_score_decays():
    positions = np.array([1, 2, 3, 4])
    assert position_weights("linear", positions, 4) == pytest.approx([0.7, 0.8, 0.9, 1.0])
    assert position_weights("linear", np.array([1, 2]), 12) == pytest.approx([0.0, 0.0])  # 11 and 10 clicks back
    assert position_weights("same", positions, 4).tolist() == [1.0, 1.0, 1.0, 1.0]
    assert position_weights("div", positions, 4).tolist() == [0.25, 0.5, 0.75, 1.0]
    assert position_weights("quadratic", positions, 4).tolist() == [0.0625, 0.25, 0.5625, 1.0]
    assert position_weights("log", positions, 4) == pytest.approx([1 / math.log10(d + 1.7) for d in (3, 2, 1, 0)])
    steps = np.array([1, 2, 4, 12])
    assert score_decay("same", steps).tolist() == [1.0, 1.0, 1.0, 1.0]
    assert score_decay("div", steps).tolist() == [1.0, 0.5, 0.25, 1 / 12]
    assert score_decay("quadratic", steps).tolist() == [1.0, 0.25, 0.0625, 1 / 144]
    assert score_decay("log", steps) == pytest.approx([1 / math.log10(t + 1.7) for t in (1, 2, 4, 12)])
    assert score_decay("linear", steps) == pytest.approx([0.9, 0.8, 0.6, 0.0])


def test_cosine_divides_by_both_norms():
    model = fitted(similarity="cosine")

    norm = math.sqrt(0.9**2 + 1.0**2)
    assert neighbours_of(model, "a", "c") == [
        ("s1", pytest.approx(1.9 / (norm * math.sqrt(3)))),
        ("s4", pytest.approx(0.9 / (norm * math.sqrt(2)))),
        ("s3", pytest.approx(1.0 / (norm * math.sqrt(3)))),
    ]


def test_without_remind_the_sessions_own_items_are_not_scored():
    assert scores_of(fitted(remind=False), "a", "c") == pytest.approx({"b": 1.9, "e": 1.45, "d": 1.0})


def test_min_session_items_leaves_short_sessions_out_of_the_index():
    model, result = SKNNModel.fit(data(), SKNNParams(min_session_items=3))

    assert model.session_ids == ["s1", "s3"]
    assert result.metrics["sessions"] == 2 and result.metrics["skipped_sessions"] == 3
    assert "f" not in model.sku_index


def test_fit_reports_the_index_and_the_hyperparameters():
    _, result = SKNNModel.fit(data(), SKNNParams(k=7))

    assert result.hyperparameters["k"] == 7 and result.hyperparameters["weighting"] == "linear"
    assert {key: result.metrics[key] for key in ("sessions", "skipped_sessions", "items", "index_entries")} == {
        "sessions": 5,
        "skipped_sessions": 0,
        "items": 6,
        "index_entries": 11,
    }


# -- the request: unknown SKUs, the viewed variant, exclusions, scoring ------------------------
def test_unknown_skus_are_skipped_and_a_session_without_known_ones_is_not_ready():
    model = fitted()

    assert scores_of(model, "zz", "a", "yy", "c") == pytest.approx(EXPECTED_SCORES)
    assert model.is_ready(context("zz", "a"))
    assert not model.is_ready(context("zz", "yy"))
    assert not model.is_ready(context())
    assert model.retrieve(context("zz"), 10) == []
    assert model.score(context("zz"), ["a", "zz"]) == [("a", 0.0), ("zz", -math.inf)]


def test_the_viewed_variant_counts_as_the_last_click():
    model = fitted()

    assert model.retrieve(context("a", viewed_variant="c"), 10) == ["c", "a", "b", "e", "d"]
    # Already the last click: not counted twice.
    assert model.retrieve(context("a", "c", viewed_variant="c"), 10) == ["c", "a", "b", "e", "d"]


def test_retrieve_honours_exclude_availability_the_catalogue_and_n():
    model = fitted()
    catalogue = Catalogue.build(["a", "b", "c", "d", "f"], is_available=[True, False, True, True, True])

    # b is unavailable, e is not in the catalogue, c is excluded.
    got = model.retrieve(context("a", "c", catalogue=catalogue, exclude=frozenset({"c"})), 10)
    assert got == ["a", "d"]
    assert model.retrieve(context("a", "c"), 2) == ["c", "a"]
    assert model.retrieve(context("a", "c"), 0) == []


def test_score_ranks_candidates_known_unscored_then_unknown():
    model = fitted()

    ranking = model.score(context("a", "c", rtype=RecommendationType.CATEGORY_LIST), ["f", "zz", "d", "a", "d"])
    assert ranking == [("a", pytest.approx(2.35)), ("d", 1.0), ("f", 0.0), ("zz", -math.inf)]


def test_supported_requests():
    model = fitted()

    for rtype in (RecommendationType.HOMEPAGE, RecommendationType.PRODUCT_DETAIL, RecommendationType.CART):
        assert model.can_serve(rtype, Phase.RETRIEVAL) and model.can_serve(rtype, Phase.SCORING)
    assert model.can_serve(RecommendationType.CATEGORY_LIST, Phase.SCORING)
    assert not model.can_serve(RecommendationType.CATEGORY_LIST, Phase.RETRIEVAL)
    with pytest.raises(TypeError):
        model.retrieve(context("a", rtype=RecommendationType.CATEGORY_LIST), 5)
    assert SKNNModel.needs_training


# -- extending the index ---------------------------------------------------------------------
def test_extend_makes_a_new_session_count_and_leaves_the_old_model_unchanged():
    model = fitted()

    extended = model.extend(SKNNData(["s6"], [["c", "g", "c"]], [60.0]))

    # s6 holds c (w = 1): sim 1, λ 1, so g scores 1 and c gains 1.
    assert neighbours_of(extended, "a", "c")[1] == ("s6", 1.0)  # ties with s3, more recent
    assert scores_of(extended, "a", "c") == pytest.approx({**EXPECTED_SCORES, "c": 3.9, "g": 1.0})
    assert "g" in extended.sku_index and "g" not in model.sku_index
    assert scores_of(model, "a", "c") == pytest.approx(EXPECTED_SCORES)
    assert extended.n_sessions == 6 and model.n_sessions == 5


def test_extend_replaces_a_continued_session():
    model = fitted()

    model.identifier = "sknn-1"
    # s2 (b, d) went on to c: it now holds c, and is the most recent session.
    extended = model.extend(SKNNData(["s2"], [["b", "d", "c"]], [70.0]))

    assert extended.n_sessions == 5 and extended.identifier == "sknn-1"
    assert neighbours_of(model, "a", "c") == [("s1", pytest.approx(1.9)), ("s3", 1.0), ("s4", pytest.approx(0.9))]
    assert neighbours_of(extended, "a", "c") == [
        ("s1", pytest.approx(1.9)),
        ("s2", 1.0),
        ("s3", 1.0),
        ("s4", pytest.approx(0.9)),
    ]
    assert scores_of(extended, "a", "c") == pytest.approx({"a": 2.35, "b": 2.9, "c": 3.9, "d": 2.0, "e": 1.45})
    # b's and d's session lists hold s2 once.
    for sku in ("b", "d"):
        item = extended.sku_index[sku]
        rows = extended.item_sessions[extended.item_indptr[item] : extended.item_indptr[item + 1]]
        assert [extended.session_ids[r] for r in rows].count("s2") == 1


def test_extend_removes_a_known_session_that_is_now_too_short():
    model = SKNNModel.fit(data(), SKNNParams(min_session_items=2))[0]

    extended = model.extend(SKNNData(["s4"], [["a", "a"]], [60.0]))

    assert extended.n_sessions == 3 and "s4" not in extended.compacted().session_ids
    assert [s for s, _ in neighbours_of(extended, "a", "c")] == ["s1", "s3"]


@pytest.mark.parametrize(
    "new",
    [
        {"s3": (["c", "d", "e", "h"], 60.0), "s7": (["h", "a"], 61.0), "s8": (["b"], 60.0)},
        # Older than stored sessions of the same items (e: s4 at 40; a: s4 at 40), or as old.
        {"s3": (["c", "d", "e", "h"], 25.0), "s7": (["h", "a"], 26.0), "s8": (["b"], 25.0)},
        {"s3": (["c", "d", "e", "h"], 40.0), "s7": (["a", "e"], 5.0), "s8": (["a", "b"], 70.0)},
    ],
    ids=["newest (appended)", "older than stored (inserted)", "mixed and equal times"],
)
def test_extend_equals_a_fit_on_all_sessions(new):
    model = fitted()

    extended = model.extend(data(new))

    merged = {key: value for key, value in SESSIONS.items() if key not in new} | new
    refitted = fitted_on(merged)
    for history in [("a", "c"), ("h",), ("d", "b", "h"), ("e",)]:
        assert neighbours_of(extended, *history) == neighbours_of(refitted, *history)
        assert scores_of(extended, *history) == scores_of(refitted, *history)
    # The replaced s3 left a dead row, which compaction removes.
    assert extended.session_alive.tolist() == [True, True, False, True, True, True, True, True]
    assert extended.n_sessions == 7
    compacted = extended.compacted()
    assert compacted.session_ids == refitted.session_ids
    for name in ("session_times", "session_indptr", "session_items", "item_indptr", "item_sessions"):
        assert getattr(compacted, name).tolist() == getattr(refitted, name).tolist(), name


def index_by_sku(model: SKNNModel) -> tuple:
    """The index in SKUs and session ids: each session's time and SKUs, each SKU's sessions."""
    sessions = [
        (
            session_id,
            float(model.session_times[r]),
            sorted(model.skus[i] for i in model.session_items[model.session_indptr[r] : model.session_indptr[r + 1]]),
        )
        for r, session_id in enumerate(model.session_ids)
    ]
    lists = {
        sku: [model.session_ids[r] for r in model.item_sessions[model.item_indptr[i] : model.item_indptr[i + 1]]]
        for i, sku in enumerate(model.skus)
    }
    return sessions, {sku: rows for sku, rows in lists.items() if rows}


def test_repeated_random_extensions_equal_a_fit_on_all_sessions():
    rng = np.random.default_rng(3)
    skus = [f"i{n}" for n in range(12)]

    def random_sessions(ids) -> dict[str, tuple[list[str], float]]:
        return {
            session_id: (
                [str(sku) for sku in rng.choice(skus, size=int(rng.integers(1, 5)))],
                float(rng.integers(0, 30)),
            )
            for session_id in ids
        }

    stored = random_sessions([f"s{n}" for n in range(30)])
    model = fitted_on(stored)
    for batch in range(6):
        # Known and new ids, times older and newer than the stored ones.
        ids = [f"s{n}" for n in rng.choice(40 + 5 * batch, size=6, replace=False)]
        new = random_sessions(ids)
        model = model.extend(data(new))
        stored = {key: value for key, value in stored.items() if key not in new} | new

    refitted = fitted_on(stored)
    # Item indices differ (an extension numbers new SKUs as it meets them), so compare by SKU.
    assert index_by_sku(model.compacted()) == index_by_sku(refitted)
    for sku in skus:
        assert neighbours_of(model, sku, "i0") == neighbours_of(refitted, sku, "i0")


def test_dead_rows_are_compacted_once_they_outnumber_the_live_entries():
    model = fitted()

    # Each extension replaces s1 (3 entries); the live index holds 11 entries.
    for step in range(1, 4):
        model = model.extend(SKNNData(["s1"], [["a", "b", "c"]], [100.0 + step]))
        assert model.n_sessions == 5
    assert np.count_nonzero(~model.session_alive) == 3  # 9 dead entries, 11 live
    model = model.extend(SKNNData(["s1"], [["a", "b", "c"]], [104.0]))
    assert model.session_alive.all() and len(model.session_ids) == 5  # 12 > 11: compacted
    assert model.session_ids == ["s2", "s3", "s4", "s5", "s1"]
    assert neighbours_of(model, "b")[0] == ("s1", 1.0)


def test_a_compaction_keeps_the_catalogue_mapping_and_its_answers(monkeypatch):
    model = fitted()
    model.prepare(CATALOGUE)
    for step in range(1, 5):
        model = model.extend(SKNNData(["s1"], [["a", "b", "c"]], [100.0 + step]))
    assert model.session_alive.all()  # compacted on the fourth extension
    looked_up = []
    real_lookup = CatalogueRows._lookup
    monkeypatch.setattr(
        CatalogueRows, "_lookup", lambda self, skus: looked_up.append(len(skus)) or real_lookup(self, skus)
    )
    model.prepare(CATALOGUE)
    assert looked_up == []  # no catalogue SKU looked up again
    fresh = fitted_on({"s1": (["a", "b", "c"], 104.0)} | {k: v for k, v in SESSIONS.items() if k != "s1"})
    request = context("a")
    assert model.retrieve(request, 5) == fresh.retrieve(request, 5)


def fitted_on(sessions: dict[str, tuple[list[str], float]]) -> SKNNModel:
    return SKNNModel.fit(data(sessions), SKNNParams())[0]


# -- the vectorised index against a brute-force reading of the algorithm ------------------------
def brute_force_scores(sessions, times, history, params: SKNNParams) -> dict[str, float]:
    """V-SKNN with sets and loops, straight from the module docstring."""
    length = len(history)
    latest = {sku: position for position, sku in enumerate(history, start=1)}
    weight = dict(zip(latest, position_weights(params.weighting, np.array(list(latest.values())), length)))
    candidates = [r for r, items in enumerate(sessions) if set(items) & set(latest)]
    candidates.sort(key=lambda r: (times[r], r), reverse=True)
    candidates = candidates[: params.sample_size]
    similarity = {}
    for r in candidates:
        shared = set(sessions[r]) & set(latest)
        value = sum(weight[sku] for sku in shared)
        if params.similarity == "cosine":
            value /= math.sqrt(sum(w * w for w in weight.values())) * math.sqrt(len(set(sessions[r])))
        if round(value, 12) > 0:
            similarity[r] = round(value, 12)
    neighbours = sorted(similarity, key=lambda r: (similarity[r], times[r], r), reverse=True)[: params.k]
    scores: dict[str, float] = {}
    for r in neighbours:
        step = length - max(latest[sku] for sku in set(sessions[r]) & set(latest)) + 1
        decay = float(score_decay(params.weighting_score, np.array([step]))[0])
        for sku in set(sessions[r]):
            if params.remind or sku not in latest:
                scores[sku] = scores.get(sku, 0.0) + similarity[r] * decay
    return {sku: value for sku, value in scores.items() if round(value, 12) > 0}


@pytest.mark.parametrize(
    "params",
    [
        SKNNParams(k=5, sample_size=12),
        SKNNParams(k=3, sample_size=None, weighting="div", weighting_score="quadratic", remind=False),
        SKNNParams(k=8, sample_size=20, weighting="log", weighting_score="log", similarity="cosine"),
        SKNNParams(k=4, sample_size=6, weighting="quadratic", weighting_score="linear"),
        SKNNParams(k=6, sample_size=9, weighting="same", weighting_score="same"),
    ],
    ids=["default", "div-quadratic-no-remind", "log-cosine", "quadratic-linear", "same"],
)
def test_vectorised_scores_equal_a_brute_force_computation(params):
    rng = np.random.default_rng(7)
    skus = [f"i{n}" for n in range(15)]
    sessions = [list(rng.choice(skus, size=int(rng.integers(1, 7)))) for _ in range(60)]
    # Few distinct times, so that recency ties are broken by the stored order.
    times = rng.integers(0, 20, size=len(sessions)).astype(float)
    model = SKNNModel.fit(SKNNData([f"s{r}" for r in range(len(sessions))], sessions, times), params)[0]

    for _ in range(40):
        history = [str(sku) for sku in rng.choice(skus, size=int(rng.integers(1, 14)))]
        expected = brute_force_scores(sessions, times, history, params)
        assert scores_of(model, *history) == pytest.approx(expected, rel=1e-9, abs=1e-12)


# -- artefacts ---------------------------------------------------------------------------------
def test_save_and_load_give_identical_answers(tmp_path: Path):
    model = fitted(k=50, weighting="quadratic").extend(SKNNData(["s6"], [["c", "g"]], [60.0]))

    model.save(tmp_path)
    loaded = SKNNModel.load(tmp_path)

    assert loaded.params == model.params and loaded.skus == model.skus and loaded.session_ids == model.session_ids
    for name in ("session_times", "session_indptr", "session_items", "item_indptr", "item_sessions"):
        assert getattr(loaded, name).tolist() == getattr(model, name).tolist(), name
    request = context("a", "c", "g")
    assert loaded.retrieve(request, 10) == model.retrieve(request, 10)
    assert loaded.score(request, ["g", "b", "zz"]) == model.score(request, ["g", "b", "zz"])
    # A loaded model can still be extended.
    assert "s7" in loaded.extend(SKNNData(["s7"], [["a", "b"]], [70.0])).session_ids


def corrupt(folder: Path, **changes) -> None:
    path = folder / ARRAYS_FILE
    with np.load(path) as archive:
        arrays = {key: archive[key] for key in archive.files}
    arrays.update(changes)
    with path.open("wb") as handle:
        np.savez(handle, **arrays)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"session_items": np.array([0, 1, 2, 1, 3, 2, 3, 4, 0, 4, 9], dtype=np.int32)}, "out of range"),
        ({"session_items": np.array([0, 2, 1, 1, 3, 2, 3, 4, 0, 4, 5], dtype=np.int32)}, "distinct and ascending"),
        ({"session_indptr": np.array([0, 3, 5, 8, 10], dtype=np.int64)}, "wrong shape"),
        ({"session_indptr": np.array([0, 3, 3, 8, 10, 11], dtype=np.int64)}, "non-empty sessions"),
        ({"session_times": np.array([1.0, 2.0, np.nan, 4.0, 5.0])}, "finite"),
        ({"session_ids": np.array(["s1", "s1", "s3", "s4", "s5"])}, "not unique"),
        ({"skus": np.array(["a", "b", "c", "d", "e"])}, "manifest says"),
    ],
)
def test_an_inconsistent_artefact_raises_artefact_error(tmp_path: Path, changes, message):
    fitted().save(tmp_path)
    corrupt(tmp_path, **changes)

    with pytest.raises(ArtefactError, match=message):
        SKNNModel.load(tmp_path)


def test_bad_parameters_or_another_format_in_the_manifest_raise_artefact_error(tmp_path: Path):
    fitted().save(tmp_path)
    manifest_path = tmp_path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())

    manifest_path.write_text(json.dumps({**manifest, "params": {**manifest["params"], "k": 0}}))
    with pytest.raises(ArtefactError, match="inconsistent"):
        SKNNModel.load(tmp_path)
    manifest_path.write_text(json.dumps({**manifest, "format": 99}))
    with pytest.raises(ArtefactError, match="format"):
        SKNNModel.load(tmp_path)
    (tmp_path / ARRAYS_FILE).unlink()
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(ArtefactError, match="missing"):
        SKNNModel.load(tmp_path)


# -- validation --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "field, value",
    [
        ("k", 0),
        ("k", True),
        ("k", 2.5),
        ("sample_size", 0),
        ("sample_size", -1),
        ("weighting", "cubic"),
        ("weighting_score", "exp"),
        ("similarity", "jaccard"),
        ("remind", "yes"),
        ("min_session_items", 0),
    ],
)
def test_invalid_parameters_are_refused(field, value):
    with pytest.raises(ValueError, match=field):
        SKNNParams(**{field: value})


def test_defaults():
    assert SKNNParams() == SKNNParams(
        k=100,
        sample_size=500,
        weighting="linear",
        weighting_score="div",
        similarity="dot",
        remind=True,
        min_session_items=1,
    )


def test_invalid_training_data_is_refused():
    with pytest.raises(ValueError, match="aligned"):
        SKNNModel.fit(SKNNData(["s1", "s2"], [["a"]], [1.0, 2.0]))
    with pytest.raises(ValueError, match="once"):
        SKNNModel.fit(SKNNData(["s1", "s1"], [["a"], ["b"]], [1.0, 2.0]))
    with pytest.raises(ValueError, match="finite"):
        SKNNModel.fit(SKNNData(["s1"], [["a"]], [math.nan]))
    with pytest.raises(NotReadyForTraining):
        SKNNModel.fit(SKNNData([], [], []))
    with pytest.raises(NotReadyForTraining):
        SKNNModel.fit(SKNNData(["s1"], [["a", "a"]], [1.0]), SKNNParams(min_session_items=2))
    model = fitted()
    with pytest.raises(ValueError, match="once"):
        model.extend(SKNNData(["s9", "s9"], [["a"], ["b"]], [1.0, 2.0]))
