"""A category list with a limit ranks only the best rows it needs, in exactly the full order."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recommendations.pipeline import _RowScores

# Few distinct values, so ties (and -inf, what a model cannot score) are common.
values = st.lists(st.sampled_from([-np.inf, 0.0, 0.5, 1.0, 2.0, 3.5]), min_size=1, max_size=60)


@settings(max_examples=300, deadline=None)
@given(values=values, prefix=st.integers(min_value=1, max_value=70))
def test_a_prefix_is_the_first_rows_of_the_stable_full_order(values, prefix):
    scores = _RowScores(size=len(values), values=np.asarray(values))
    full, whole = scores.best_first(None)
    assert whole and full.tolist() == np.argsort(-np.asarray(values), kind="stable").tolist()

    chosen, is_whole = scores.best_first(prefix)

    assert chosen.tolist() == full[:prefix].tolist()
    assert is_whole == (prefix >= len(values))


def test_a_model_without_scores_gives_its_order_whole():
    order = np.array([2, 0, 1])
    chosen, is_whole = _RowScores(size=3, order=order).best_first(1)
    assert chosen.tolist() == [2, 0, 1] and is_whole


@pytest.mark.parametrize("prefix", [1, 3, 5])
def test_ties_at_the_threshold_are_taken_in_row_order(prefix):
    scores = _RowScores(size=6, values=np.array([0.0, 1.0, 0.0, 0.0, 1.0, 0.0]))
    assert scores.best_first(prefix)[0].tolist() == [1, 4, 0, 2, 3, 5][:prefix]


# Most rows at the lowest value (a session model's unscored rows, never-sold variants): the
# whole order sorts only the others.
mostly_lowest = st.one_of(
    st.lists(st.sampled_from([-np.inf] * 6 + [0.0, 1.0, 2.5]), min_size=1, max_size=80),
    st.lists(st.sampled_from([0.0] * 6 + [0.25, 1.0, -1.0]), min_size=1, max_size=80),
)


@settings(max_examples=300, deadline=None)
@given(values=mostly_lowest)
def test_the_whole_order_is_the_stable_sort_when_most_rows_share_the_lowest_value(values):
    full, whole = _RowScores(size=len(values), values=np.asarray(values)).best_first(None)
    assert whole and full.tolist() == np.argsort(-np.asarray(values), kind="stable").tolist()


def test_the_whole_order_with_a_nan_is_the_stable_sort():
    values = np.array([0.0, np.nan, 0.0, 0.0, 1.0, 0.0])
    full, _ = _RowScores(size=6, values=values).best_first(None)
    assert full.tolist() == np.argsort(-values, kind="stable").tolist()


@pytest.mark.parametrize("ids", [[5, 0, 2**32 - 1, 17], [3, 2**40, 1], [-4, 8], []])
def test_cached_ids_come_back_as_they_were_ranked(ids):
    from recommendations.pipeline import _compact_ids, _ids_of

    compact = _compact_ids(np.array(ids, dtype=np.int64))

    assert _ids_of(compact).tolist() == ids
    assert _ids_of(compact).dtype == np.int64
    assert len(compact[1]) == len(ids) * (4 if all(0 <= i < 2**32 for i in ids) else 8)


@settings(max_examples=300, deadline=None)
@given(
    values=values,
    members=st.lists(st.booleans(), min_size=60, max_size=60),
    prefix=st.one_of(st.none(), st.integers(min_value=1, max_value=70)),
)
def test_the_order_among_some_rows_is_the_whole_order_without_the_others(values, members, prefix):
    scores = _RowScores(size=len(values), values=np.asarray(values))
    positions = np.flatnonzero(members[: len(values)])
    whole = np.argsort(-np.asarray(values), kind="stable")
    expected = [p for p in whole.tolist() if members[p]]

    chosen, is_whole = scores.best_first_among(positions, prefix)

    assert chosen.tolist() == expected[: len(expected) if prefix is None else prefix]
    assert is_whole == (prefix is None or prefix >= len(positions))
    # A model that only orders: its order without the others, whole.
    ordered, is_whole = _RowScores(size=len(values), order=whole).best_first_among(positions, prefix)
    assert ordered.tolist() == expected and is_whole
