"""Session-based kNN with position weights, V-SKNN (Ludewig & Jannach, "Evaluation of
session-based recommendation algorithms", 2018, arXiv 1803.09587; the options follow the
`VMContextKNN` class of the authors' session-rec framework). Nothing is learnt: the model is an
index of past sessions, and a request finds the past sessions most similar to its own.

For the current session s (known SKUs only, oldest click first, L clicks, repeats kept) every
distinct item i gets the 1-based position p(i) of its latest click and the weight
w(i) = weighting(p(i), L); d(i) = L − p(i) is how many clicks ago it was last clicked:

    linear     max(0, 1 − 0.1·d)      the last click 1, then 0.9 … 0.1, then 0 (the default)
    same       1
    div        p / L
    quadratic  (p / L)²
    log        1 / log10(d + 1.7)

1. Candidates: the stored sessions that hold at least one item of s; when there are more than
   `sample_size`, the `sample_size` most recent ones (by the time of their last click; equal
   times: the later stored first).
2. Similarity of s to a candidate n, n's items taken as a set:
       dot     sim(s, n) = Σ_{i ∈ s ∩ n} w(i)
       cosine  sim(s, n) = Σ_{i ∈ s ∩ n} w(i) / (√(Σ_{i ∈ s} w(i)²) · √|n|)
   Candidates with sim ≤ 0 are dropped; the neighbours N are the `k` most similar (equal
   similarity: the more recent first).
3. Item score: score(j) = Σ_{n ∈ N, j ∈ n} sim(s, n) · λ(n), where λ(n) = weighting_score(t)
   with t = 1 + d of the most recent item of s that n holds (t = 1: n holds the last click):
       div 1/t (the default) · same 1 · quadratic 1/t² · log 1/log10(t + 1.7) ·
       linear max(0, 1 − 0.1·t)
   The paper's V-SKNN has no such decay ("same"); the framework's default is "div", which
   was better for every position weighting on the rsc15-100k validation split
   (bench/sknn_rsc15.py --split valid: linear/same Recall@20 0.636, MRR@20 0.333; linear/div
   0.644, 0.350). With `remind` (the default, as in the framework) the items of s keep their
   scores, so a product seen earlier in the session can come back; the pipeline excludes the
   viewed one. Only items with a positive score are recommended.

Similarities and scores are rounded to 12 decimals: the same weights summed in another order
differ in the last bits, which would break ties by noise rather than by the rules above.

Where this differs from session-rec's `VMContextKNN` (all differences are fixes or no-ops for
the ranking): its "vec" similarity divides the dot product by the number of distinct items of
s, a constant per request that changes no ranking, so "dot" omits it; its linear weights test
the position from the start (`1 − 0.1·(L − p) if p <= 10 else 0`), which gives weight 0 to the
latest clicks and negative weights to the first ones of sessions longer than 10 clicks, and its
linear score decay goes negative beyond 10 steps; both are clamped at 0 here. Its ties
(neighbours of equal similarity, items of equal score) are broken arbitrarily (by set order)
or randomly; here by recency and by item index. Its final division by the best score
(`normalize`) changes no ranking and is left out, as are its experimental options (dwell time,
idf, time decay of neighbours, random sampling).

The index is a pair of CSR structures: session → its distinct items, and item → the sessions
holding it, each item's sessions in time order. A request reads only the last `sample_size`
sessions of each of its items (the most recent candidates of the union are among them), so its
cost depends on the session's length, `sample_size` and `k`, never on the number of stored
sessions or items. `extend` adds sessions stored after the fit, replacing any session whose id
is already known (a session that continued), without refitting.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal, get_args

import numpy as np

from . import artefacts
from .base import (
    Catalogue,
    NotReadyForTraining,
    Phase,
    PredictContext,
    PredictionModel,
    Progress,
    SessionData,
    TrainingData,
    TrainingRequirement,
    TrainingResult,
    option,
    serves_all_retrieval,
    serves_all_scoring,
)
from .ranking import CatalogueRows, catalogue_index, ranked

FORMAT_VERSION = 1
ARRAYS_FILE = "sknn.npz"
Weighting = Literal["linear", "same", "div", "quadratic", "log"]
ScoreWeighting = Literal["same", "div", "quadratic", "log", "linear"]
Similarity = Literal["dot", "cosine"]
WEIGHTINGS: tuple[str, ...] = get_args(Weighting)
SCORE_WEIGHTINGS: tuple[str, ...] = get_args(ScoreWeighting)
SIMILARITIES: tuple[str, ...] = get_args(Similarity)
# Similarities and scores are rounded to this many decimals (see `neighbours`).
ROUNDING_DECIMALS = 12
# How many recent (history, session) answers a model keeps for the next phase of a request.
RECENT_ANSWERS = 64


@dataclass(frozen=True)
class SKNNData:
    """Past sessions: `sessions[r]` are the SKUs session `session_ids[r]` visited, oldest click
    first (repeats allowed), and `times[r]` the time of its last click (POSIX seconds, or any
    unit that orders sessions in time). Each session id appears once."""

    session_ids: Sequence[str]
    sessions: Sequence[Sequence[str]]
    times: np.ndarray | Sequence[float]


@dataclass(frozen=True)
class SKNNOptions:
    """The `sknnConfig` section of the config."""

    neighbour_sessions: int = option(
        100,
        title="Neighbour sessions",
        bounds=(1, 10_000),
        description="How many of the most similar past sessions vote for the next items (k).",
    )
    sampled_sessions: int = option(
        500,
        title="Sampled sessions",
        bounds=(1, 100_000),
        description="Neighbours are chosen among this many of the most recent past sessions sharing an item.",
    )
    min_session_items: int = option(
        1,
        title="Minimum session items",
        bounds=(1, 100),
        description="Sessions with fewer distinct products are not indexed.",
    )


@dataclass(frozen=True)
class SKNNParams:
    """`k` neighbours among the `sample_size` most recent candidate sessions (None: among all
    of them); the weight functions and the similarity as in the module docstring. Sessions with
    fewer than `min_session_items` distinct items are not indexed (a one-item session can only
    recommend the item the request already holds)."""

    k: int = 100
    sample_size: int | None = 500
    weighting: Weighting = "linear"
    weighting_score: ScoreWeighting = "div"
    similarity: Similarity = "dot"
    remind: bool = True
    min_session_items: int = 1

    def __post_init__(self) -> None:
        if not _is_int(self.k) or self.k < 1:
            raise ValueError(f"k must be a positive integer, got {self.k!r}")
        if self.sample_size is not None and (not _is_int(self.sample_size) or self.sample_size < 1):
            raise ValueError(f"sample_size must be a positive integer or None, got {self.sample_size!r}")
        if self.weighting not in WEIGHTINGS:
            raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {self.weighting!r}")
        if self.weighting_score not in SCORE_WEIGHTINGS:
            raise ValueError(f"weighting_score must be one of {SCORE_WEIGHTINGS}, got {self.weighting_score!r}")
        if self.similarity not in SIMILARITIES:
            raise ValueError(f"similarity must be one of {SIMILARITIES}, got {self.similarity!r}")
        if not isinstance(self.remind, bool):
            raise ValueError(f"remind must be a boolean, got {self.remind!r}")
        if not _is_int(self.min_session_items) or self.min_session_items < 1:
            raise ValueError(f"min_session_items must be a positive integer, got {self.min_session_items!r}")


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def position_weights(weighting: str, positions: np.ndarray, length: int) -> np.ndarray:
    """w(i) of items whose latest click is at 1-based `positions` of a session of `length` clicks."""
    positions = np.asarray(positions, dtype=np.float64)
    distance = length - positions
    if weighting == "linear":
        return np.maximum(1.0 - 0.1 * distance, 0.0)
    if weighting == "same":
        return np.ones_like(positions)
    if weighting == "div":
        return positions / length
    if weighting == "quadratic":
        return (positions / length) ** 2
    if weighting == "log":
        return 1.0 / np.log10(distance + 1.7)
    raise ValueError(f"unknown weighting {weighting!r}")


def score_decay(weighting_score: str, steps: np.ndarray) -> np.ndarray:
    """λ of neighbours whose most recent shared item was clicked `steps` (1 = last) clicks ago."""
    steps = np.asarray(steps, dtype=np.float64)
    if weighting_score == "same":
        return np.ones_like(steps)
    if weighting_score == "div":
        return 1.0 / steps
    if weighting_score == "quadratic":
        return 1.0 / steps**2
    if weighting_score == "log":
        return 1.0 / np.log10(steps + 1.7)
    if weighting_score == "linear":
        return np.maximum(1.0 - 0.1 * steps, 0.0)
    raise ValueError(f"unknown weighting_score {weighting_score!r}")


def sknn_data(data: SessionData) -> SKNNData:
    """The index's input from session data: SKUs per session, each session's id (a made-up one
    when the data have none) and the time of its last click (else of its first)."""
    times = data.session_end_times if data.session_end_times is not None else data.session_start_times
    if times is None:
        times = np.arange(len(data.sessions), dtype=np.float64)
    ids = data.session_ids if data.session_ids is not None else [f"session-{k}" for k in range(len(data.sessions))]
    skus = np.asarray(data.skus, dtype=object)
    return SKNNData(
        session_ids=list(ids),
        sessions=[skus[np.asarray(session, dtype=np.int64)].tolist() for session in data.sessions],
        times=np.asarray(times, dtype=np.float64),
    )


def _check_data(data: SKNNData) -> np.ndarray:
    """The times as float64, after checking the three fields are aligned, finite and unique."""
    times = np.asarray(data.times, dtype=np.float64)
    if times.ndim != 1 or not (len(data.session_ids) == len(data.sessions) == len(times)):
        raise ValueError(
            f"session_ids ({len(data.session_ids)}), sessions ({len(data.sessions)}) and times "
            f"({times.shape}) must be aligned"
        )
    if not np.all(np.isfinite(times)):
        raise ValueError("times must be finite")
    if len(set(map(str, data.session_ids))) != len(data.session_ids):
        raise ValueError("each session id may appear only once")
    return times


def _encode(
    data: SKNNData, times: np.ndarray, item_of: dict[str, int], skus: list[str], min_items: int
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """(ids, times, indptr, items) of the sessions with at least `min_items` distinct SKUs, each
    as its distinct item indices in ascending order. SKUs not in `item_of` get the next indices
    (both `item_of` and `skus` are extended in place)."""
    kept_ids: list[str] = []
    kept_rows: list[int] = []
    lengths: list[int] = []
    flat: list[int] = []
    for row, (session_id, session) in enumerate(zip(data.session_ids, data.sessions)):
        distinct = dict.fromkeys(map(str, session))
        if len(distinct) < min_items:
            continue
        for sku in distinct:
            item = item_of.get(sku)
            if item is None:
                item = item_of[sku] = len(skus)
                skus.append(sku)
            flat.append(item)
        kept_ids.append(str(session_id))
        kept_rows.append(row)
        lengths.append(len(distinct))
    indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    items = np.asarray(flat, dtype=np.int32)
    # Sort each session's items (they are distinct): owner first, then item.
    owner = np.repeat(np.arange(len(lengths)), lengths)
    items = items[np.lexsort((items, owner))]
    return kept_ids, times[np.asarray(kept_rows, dtype=np.int64)], indptr, items


def _invert(
    session_indptr: np.ndarray, session_items: np.ndarray, session_times: np.ndarray, n_items: int
) -> tuple[np.ndarray, np.ndarray]:
    """item → sessions CSR (indptr, rows), each item's sessions ordered by (time, row)."""
    rows = np.repeat(np.arange(len(session_times), dtype=np.int32), np.diff(session_indptr))
    order = np.lexsort((rows, session_times[rows], session_items))
    indptr = np.zeros(n_items + 1, dtype=np.int64)
    np.cumsum(np.bincount(session_items, minlength=n_items), out=indptr[1:])
    return indptr, rows[order]


def _ranges(starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """The concatenation of arange(start, stop) over the pairs, without a Python loop."""
    lengths = stops - starts
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    return np.arange(total, dtype=np.int64) + offsets


@dataclass(frozen=True)
class Neighbours:
    """The neighbours of one request: index rows, similarities (best first), and the decay λ
    of each; `items` / `weights` are the current session's distinct known items (ascending) and
    their position weights."""

    rows: np.ndarray
    similarities: np.ndarray
    decays: np.ndarray
    items: np.ndarray
    weights: np.ndarray


class SKNNModel(PredictionModel):
    name = "sknn"
    title = "Session kNN"
    description = (
        "Session-based: what past sessions like the current one visited, its latest clicks weighted most (V-SKNN)."
    )
    supports = serves_all_retrieval() | serves_all_scoring()
    needs_training = True
    colour = "#14b8a6"
    options = SKNNOptions
    training_data = TrainingData.SESSIONS
    # Ready as soon as one session has two views: nothing to learn beyond the index.
    training_requirement = TrainingRequirement(counted="views", minimum=2)
    follows_live_sessions = True

    @classmethod
    def params_from_options(cls, options: SKNNOptions) -> SKNNParams:
        return SKNNParams(
            k=options.neighbour_sessions,
            sample_size=options.sampled_sessions,
            min_session_items=options.min_session_items,
        )

    def __init__(
        self,
        skus: Sequence[str],
        session_ids: Sequence[str],
        session_times: np.ndarray,
        session_indptr: np.ndarray,
        session_items: np.ndarray,
        params: SKNNParams,
    ) -> None:
        """An index of the given sessions (row r: `session_ids[r]`, its distinct items
        `session_items[session_indptr[r]:session_indptr[r + 1]]` ascending, indices into
        `skus`, and the time of its last click), as `fit`, `load` and `compacted` build it."""
        self.identifier = ""
        self.params = params
        self.skus = list(skus)
        self.sku_index = {sku: i for i, sku in enumerate(self.skus)}
        self._catalogue_rows = CatalogueRows(self.sku_index)
        # Row of each indexed session id; `extend` keeps a replaced session's old row as a
        # dead row (not in the item lists) until a compaction renumbers them.
        self.session_ids = list(session_ids)
        self.session_row = {session_id: row for row, session_id in enumerate(self.session_ids)}
        self.session_alive = np.ones(len(self.session_ids), dtype=bool)
        self.session_times = np.asarray(session_times, dtype=np.float64)
        self.session_indptr = np.asarray(session_indptr, dtype=np.int64)
        self.session_items = np.asarray(session_items, dtype=np.int32)
        self.item_indptr, self.item_sessions = _invert(
            self.session_indptr, self.session_items, self.session_times, len(self.skus)
        )
        self._recent: dict[tuple[bytes, str | None], tuple[np.ndarray, np.ndarray]] = {}

    @property
    def n_sessions(self) -> int:
        """Indexed sessions (dead rows left by `extend` not counted)."""
        return int(np.count_nonzero(self.session_alive))

    # -- training -------------------------------------------------------------------------
    @classmethod
    def fit(
        cls, data: SKNNData | SessionData, params: SKNNParams | None = None, progress: Progress | None = None
    ) -> tuple[SKNNModel, TrainingResult]:
        params = params or SKNNParams()
        if isinstance(data, SessionData):
            data = sknn_data(data)
        report = progress or (lambda message, fraction: None)
        started = time.perf_counter()
        report("indexing sessions", 0.0)
        times = _check_data(data)
        item_of: dict[str, int] = {}
        skus: list[str] = []
        ids, kept_times, indptr, items = _encode(data, times, item_of, skus, params.min_session_items)
        if not ids:
            raise NotReadyForTraining(
                f"session kNN needs a session with at least {params.min_session_items} distinct items; "
                f"got {len(data.session_ids)} sessions"
            )
        model = cls(skus, ids, kept_times, indptr, items, params)
        report("done", 1.0)
        result = TrainingResult(
            hyperparameters=asdict(params),
            metrics={
                "sessions": len(ids),
                "skipped_sessions": len(data.session_ids) - len(ids),
                "items": len(skus),
                "index_entries": int(len(items)),
                "fit_seconds": time.perf_counter() - started,
            },
        )
        return model, result

    def extended_with(self, sessions: SessionData) -> SKNNModel:
        """`extend` with sessions as the Django side reads them."""
        return self.extend(sknn_data(sessions))

    def extend(self, data: SKNNData) -> SKNNModel:
        """A new model that also knows `data`'s sessions; this one is left unchanged, so a
        server can swap the reference while requests still use the old one.

        A session whose id is already indexed is replaced by the given one (pass a continued
        session whole, with its new last-click time); a known id with fewer than
        `min_session_items` distinct items is removed. New SKUs get new item indices. The new
        model keeps this one's `identifier` (it extends the same training).

        Cost: copies of the stored arrays, lists and dicts (C speed, no Python loop over them)
        plus a Python loop over the new clicks. A replaced session leaves a dead row behind;
        when dead entries outnumber the live ones, the index is compacted (rebuilt once, which
        is amortised over the extensions that made them).
        """
        times = _check_data(data)
        skus = self.skus.copy()
        sku_index = self.sku_index.copy()
        new_ids, new_times, new_indptr, new_items = _encode(data, times, sku_index, skus, self.params.min_session_items)
        n_items = len(skus)
        first_new = len(self.session_ids)

        # Known ids lose their current row; overwriting dict entries (never deleting) keeps
        # the dict's fast copy path.
        session_row = self.session_row.copy()
        alive = self.session_alive.copy()
        for session_id in map(str, data.session_ids):
            row = session_row.get(session_id, -1)
            if row >= 0:
                alive[row] = False
                session_row[session_id] = -1
        session_row.update(zip(new_ids, range(first_new, first_new + len(new_ids))))
        session_alive = np.concatenate((alive, np.ones(len(new_ids), dtype=bool)))
        session_times = np.concatenate((self.session_times, new_times))
        session_indptr = np.concatenate((self.session_indptr, self.session_indptr[-1] + new_indptr[1:]))
        session_items = np.concatenate((self.session_items, new_items))

        # The item lists: drop the replaced rows, then append the new sessions at the end of
        # their items' lists, which keeps each list in (time, row) order when every new session
        # is at least as recent as the last one of the list.
        died = np.flatnonzero(self.session_alive & ~alive)
        counts = np.zeros(n_items, dtype=np.int64)
        counts[: len(self.skus)] = np.diff(self.item_indptr)
        item_sessions = self.item_sessions
        if len(died):
            item_sessions = item_sessions[alive[item_sessions]]
            dead_items = self.session_items[_ranges(self.session_indptr[died], self.session_indptr[died + 1])]
            counts -= np.bincount(dead_items, minlength=n_items)
        indptr = np.zeros(n_items + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        new_rows = np.repeat(np.arange(first_new, first_new + len(new_ids), dtype=np.int32), np.diff(new_indptr))
        entry_times = session_times[new_rows]
        # Sorted by (item, time, row): np.insert puts values bound for one position in this order.
        order = np.lexsort((new_rows, entry_times, new_items))
        new_rows, entry_times, entry_items = new_rows[order], entry_times[order], new_items[order]
        positions = indptr[entry_items + 1]
        last_times = np.full(len(entry_items), -np.inf)
        filled = counts[entry_items] > 0
        last_times[filled] = session_times[item_sessions[positions[filled] - 1]]
        late = entry_times < last_times
        # A session older than the newest one of an item's list (late data, clock skew) goes
        # into the list after the sessions of the same time or older (their rows are smaller).
        # The loop runs over the items of such sessions only.
        for item in np.unique(entry_items[late]).tolist():
            start, stop = indptr[item], indptr[item + 1]
            selected = late & (entry_items == item)
            positions[selected] = start + np.searchsorted(
                session_times[item_sessions[start:stop]], entry_times[selected], side="right"
            )
        item_sessions = np.insert(item_sessions, positions, new_rows)
        np.cumsum(counts + np.bincount(entry_items, minlength=n_items), out=indptr[1:])

        # Assembled without __init__, which would rebuild the dicts and the item lists.
        model = object.__new__(type(self))
        model.identifier = self.identifier
        model.params = self.params
        model.skus, model.sku_index = skus, sku_index
        # The catalogue mapping carries over; new items are looked up alone.
        model._catalogue_rows = (
            self._catalogue_rows
            if len(skus) == len(self.skus)
            else CatalogueRows(sku_index, skus=skus, previous=self._catalogue_rows)
        )
        model.session_ids, model.session_row = self.session_ids + new_ids, session_row
        model.session_alive = session_alive
        model.session_times, model.session_indptr, model.session_items = session_times, session_indptr, session_items
        model.item_indptr, model.item_sessions = indptr, item_sessions
        model._recent = {}
        if len(session_items) - len(item_sessions) > len(item_sessions):
            return model.compacted()
        return model

    def compacted(self) -> SKNNModel:
        """The same index without the dead rows `extend` leaves behind (rows renumbered)."""
        if self.session_alive.all():
            return self
        rows = np.flatnonzero(self.session_alive)
        lengths = np.diff(self.session_indptr)[rows]
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        items = self.session_items[_ranges(self.session_indptr[rows], self.session_indptr[rows + 1])]
        ids = [self.session_ids[row] for row in rows.tolist()]
        model = type(self)(self.skus, ids, self.session_times[rows], indptr, items, self.params)
        model.identifier = self.identifier
        # Items keep their indices (only sessions are renumbered), so the catalogue mapping
        # carries over: a compaction must not look up every catalogue SKU again.
        model._catalogue_rows = self._catalogue_rows
        return model

    # -- artefacts --------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        """Write the live sessions (an extended model is compacted first)."""
        model = self.compacted()
        artefacts.write_arrays(
            folder / ARRAYS_FILE,
            {
                "skus": artefacts.str_array(model.skus),
                "session_ids": artefacts.str_array(model.session_ids),
                "session_times": model.session_times,
                "session_indptr": model.session_indptr,
                "session_items": model.session_items,
            },
        )
        artefacts.write_manifest(
            folder,
            self.name,
            FORMAT_VERSION,
            params=asdict(model.params),
            sessions=model.n_sessions,
            items=len(model.skus),
            index_entries=int(len(model.session_items)),
        )

    @classmethod
    def load(cls, folder: Path) -> SKNNModel:
        """Read an artefact; the inverted index is rebuilt from the sessions, so it cannot
        disagree with them."""
        manifest = artefacts.read_manifest(folder, cls.name, FORMAT_VERSION)
        path = folder / ARRAYS_FILE
        arrays = artefacts.read_arrays(
            path, ["skus", "session_ids", "session_times", "session_indptr", "session_items"]
        )
        try:
            params = SKNNParams(**dict(manifest["params"]))
            expected = (int(manifest["sessions"]), int(manifest["items"]), int(manifest["index_entries"]))
        except (KeyError, TypeError, ValueError) as error:
            raise artefacts.ArtefactError(f"artefact in {folder} is inconsistent: {error}") from error
        skus, session_ids = arrays["skus"], arrays["session_ids"]
        times, indptr, items = arrays["session_times"], arrays["session_indptr"], arrays["session_items"]
        n_sessions, n_items = len(session_ids), len(skus)
        require = artefacts.require
        require(
            (n_sessions, n_items, len(items)) == expected,
            f"{path}: {n_sessions} sessions, {n_items} items, {len(items)} entries; the manifest says {expected}",
        )
        require(skus.ndim == 1 and session_ids.ndim == 1, f"{path}: skus and session_ids must be vectors")
        require(
            times.shape == (n_sessions,) and times.dtype.kind == "f" and bool(np.all(np.isfinite(times))),
            f"{path}: session_times must be {n_sessions} finite floats",
        )
        require(
            indptr.shape == (n_sessions + 1,) and indptr.dtype.kind in "iu",
            f"{path}: session_indptr has the wrong shape",
        )
        require(items.ndim == 1 and items.dtype.kind in "iu", f"{path}: session_items must be an integer vector")
        require(
            int(indptr[0]) == 0 and int(indptr[-1]) == len(items) and bool(np.all(np.diff(indptr) >= 1)),
            f"{path}: session_indptr does not delimit non-empty sessions of session_items",
        )
        require(bool(np.all((items >= 0) & (items < n_items))), f"{path}: session_items out of range")
        # Within a session the items are distinct and ascending: every step is positive except
        # where a new session starts.
        steps = np.diff(items.astype(np.int64))
        starts = np.zeros(len(steps), dtype=bool)
        starts[indptr[1:-1] - 1] = True
        require(bool(np.all((steps > 0) | starts)), f"{path}: a session's items are not distinct and ascending")
        require(len(set(session_ids.tolist())) == n_sessions, f"{path}: session ids are not unique")
        require(len(set(skus.tolist())) == n_items, f"{path}: skus are not unique")
        return cls(skus.tolist(), session_ids.tolist(), times, indptr, items, params)

    # -- prediction -------------------------------------------------------------------------
    def history_items(self, session_history: Sequence[str], viewed_variant: str | None = None) -> np.ndarray:
        """The known SKUs of a session as item indices, oldest first, repeats kept; unknown SKUs
        are skipped. A viewed variant that is not the last click is taken as one more click."""
        if viewed_variant is not None and (not session_history or session_history[-1] != viewed_variant):
            session_history = (*session_history, viewed_variant)
        index = self.sku_index
        return np.fromiter((index[sku] for sku in session_history if sku in index), dtype=np.int64)

    def neighbours(self, history: np.ndarray, session_id: str | None = None) -> Neighbours:
        """The k nearest stored sessions of a session given as item indices (oldest first); the
        stored copy of the session itself (`session_id`, indexed live) is never its neighbour."""
        params = self.params
        length = len(history)
        if length == 0:
            nothing = np.zeros(0)
            return Neighbours(np.zeros(0, dtype=np.int64), nothing, nothing, np.zeros(0, dtype=np.int64), nothing)
        # The latest position (1-based) of each distinct item.
        items, first_from_end = np.unique(history[::-1], return_index=True)
        positions = length - first_from_end
        weights = position_weights(params.weighting, positions, length)

        # Candidates: the last sample_size sessions of each item's time-ordered list hold the
        # sample_size most recent sessions of the union.
        starts, stops = self.item_indptr[items], self.item_indptr[items + 1]
        if params.sample_size is not None:
            starts = np.maximum(starts, stops - params.sample_size)
        candidates = np.unique(self.item_sessions[_ranges(starts, stops)])
        own = self.session_row.get(session_id) if session_id is not None else None
        if own is not None:
            candidates = candidates[candidates != own]
        if params.sample_size is not None and len(candidates) > params.sample_size:
            recent = np.lexsort((candidates, self.session_times[candidates]))[-params.sample_size :]
            candidates = candidates[recent]

        # Similarities: every item of every candidate, matched against the session's items.
        lengths = self.session_indptr[candidates + 1] - self.session_indptr[candidates]
        entries = self.session_items[_ranges(self.session_indptr[candidates], self.session_indptr[candidates + 1])]
        slot = np.minimum(np.searchsorted(items, entries), len(items) - 1)
        shared = items[slot] == entries
        owner = np.repeat(np.arange(len(candidates)), lengths)
        similarities = np.bincount(owner, weights=np.where(shared, weights[slot], 0.0), minlength=len(candidates))
        if params.similarity == "cosine":
            norm = np.sqrt(np.sum(weights**2))
            similarities = similarities / (norm * np.sqrt(lengths)) if norm > 0 else np.zeros_like(similarities)
        # The most recent shared click of each candidate (for the score decay).
        latest = np.full(len(candidates), -1, dtype=np.int64)
        np.maximum.at(latest, owner[shared], positions[slot[shared]])

        # Sums of the same weights in another order can differ in the last bits; rounding
        # makes mathematically equal similarities tie, so the documented tie-break applies.
        similarities = np.round(similarities, ROUNDING_DECIMALS)
        positive = similarities > 0
        candidates, similarities, latest = candidates[positive], similarities[positive], latest[positive]
        best = np.lexsort((-candidates, -self.session_times[candidates], -similarities))[: params.k]
        decays = score_decay(params.weighting_score, length - latest[best] + 1)
        return Neighbours(candidates[best], similarities[best], decays, items, weights)

    def item_scores(self, history: np.ndarray, session_id: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(item indices ascending, scores) of every item with a positive score for a session
        given as item indices (oldest first). The last few answers are kept: one request asks
        for the same session in retrieval and in scoring."""
        key = (history.tobytes(), session_id)
        cached = self._recent.get(key)
        if cached is None:
            cached = self._item_scores(history, session_id)
            self._recent[key] = cached
            if len(self._recent) > RECENT_ANSWERS:
                self._recent.pop(next(iter(self._recent)), None)
        return cached

    def _item_scores(self, history: np.ndarray, session_id: str | None) -> tuple[np.ndarray, np.ndarray]:
        found = self.neighbours(history, session_id)
        rows = found.rows
        lengths = self.session_indptr[rows + 1] - self.session_indptr[rows]
        entries = self.session_items[_ranges(self.session_indptr[rows], self.session_indptr[rows + 1])]
        contributions = np.repeat(found.similarities * found.decays, lengths)
        items, slot = np.unique(entries, return_inverse=True)
        scores = np.round(np.bincount(slot, weights=contributions, minlength=len(items)), ROUNDING_DECIMALS)
        keep = scores > 0
        if not self.params.remind:
            keep &= ~np.isin(items, found.items)
        return items[keep].astype(np.int64), scores[keep]

    def is_ready(self, context: PredictContext) -> bool:
        """Whether another stored session shares an item with this one (its own stored copy, once
        the live index holds it, does not count)."""
        history = self.history_items(context.session_history, context.viewed_variant)
        if not np.any(self.item_indptr[history + 1] > self.item_indptr[history]):
            return False
        return len(self.item_scores(history, context.session_id)[0]) > 0

    def retrieve(self, context: PredictContext, n: int) -> list[str]:
        if not self.can_serve(context.recommendation_type, Phase.RETRIEVAL):
            raise TypeError(f"{self.name} does not retrieve for {context.recommendation_type.value}")
        items, scores = self.item_scores(
            self.history_items(context.session_history, context.viewed_variant), context.session_id
        )
        # Best first, equal scores by item index; then the first n the catalogue may show. Every
        # step runs over the scored items (at most the k neighbours' items), not the catalogue.
        catalogue = context.catalogue
        rows = self._catalogue_rows.catalogue_row_of_items(catalogue)[items[np.lexsort((items, -scores))]]
        rows = rows[rows >= 0]
        keep = catalogue.is_available[rows]
        if context.exclude:
            index = catalogue_index(catalogue)
            excluded = np.fromiter((index[sku] for sku in context.exclude if sku in index), dtype=np.int64)
            keep &= ~np.isin(rows, excluded)
        return catalogue.skus[rows[keep][: max(n, 0)]].tolist()

    def prepare(
        self, catalogue: Catalogue, previous: Catalogue | None = None, changed_rows: np.ndarray | None = None
    ) -> None:
        self._catalogue_rows.catalogue_row_of_items(catalogue)

    def score_rows(self, context: PredictContext, rows: np.ndarray) -> np.ndarray:
        return self._catalogue_rows.scores_of(context.catalogue, rows, self.known_item_scores(context)[1])

    def known_item_scores(self, context: PredictContext) -> tuple[Sequence[str], np.ndarray]:
        items, scores = self.item_scores(
            self.history_items(context.session_history, context.viewed_variant), context.session_id
        )
        values = np.zeros(len(self.skus))
        values[items] = scores
        return self.skus, values

    def score(self, context: PredictContext, candidates: Sequence[str]) -> list[tuple[str, float]]:
        """Candidates the index knows score what their neighbours give them (0 when none holds
        them); unknown ones come last with -inf."""
        items, scores = self.item_scores(
            self.history_items(context.session_history, context.viewed_variant), context.session_id
        )
        index = self.sku_index
        known = [sku for sku in dict.fromkeys(candidates) if sku in index]
        values = np.zeros(len(known))
        if len(items):
            rows = np.fromiter((index[sku] for sku in known), dtype=np.int64, count=len(known))
            slot = np.minimum(np.searchsorted(items, rows), len(items) - 1)
            values = np.where(items[slot] == rows, scores[slot], 0.0)
        return ranked(candidates, dict(zip(known, values.tolist())))
