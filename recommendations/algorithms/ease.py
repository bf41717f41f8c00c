"""EASE (Steck 2019, arXiv 1905.03375): an item-item weight matrix B learnt in closed form from
the user-item interaction matrix X, minimising ‖X − XB‖² + λ‖B‖² with diag(B) = 0:

    G = XᵀX + λI,  P = G⁻¹,  B_ij = −P_ij / P_jj,  B_jj = 0.

A requester is scored as x·B, where x is built from its own interaction history at request time,
so users and sessions unseen at training still get personal results. λ is chosen per training
from a list of options by a leave-out validation (the original never applied its search).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from . import artefacts
from .base import (
    Catalogue,
    NotReadyForTraining,
    PredictContext,
    PredictionModel,
    Progress,
    TrainingData,
    TrainingRequirement,
    TrainingResult,
    option,
    serves_all_retrieval,
    serves_all_scoring,
)
from .evaluation import evaluate_leave_out, leave_out_split
from .ranking import CatalogueRows, catalogue_top_n, ranked

# 2: one `.npy` file per array, the weights memory-mapped on load so that every gunicorn worker
# shares one copy of the items × items matrix; 1: one `ease.npz` (still read).
FORMAT_VERSION = 2
Aggregate = Literal["sum", "max"]
VALIDATION_K = 20


@dataclass(frozen=True)
class EASEData:
    """Interactions as a rows × items CSR matrix: a row per user (or session) key, a column per
    SKU. `timestamps`, when given, is aligned with `matrix.data` (the last interaction time of
    each cell, POSIX seconds) and makes the validation hold out each row's latest interactions.
    `aggregate` says how repeated interactions of one cell were combined, so that a request's
    history is combined the same way."""

    row_keys: list[str]
    skus: list[str]
    matrix: sp.csr_matrix
    timestamps: np.ndarray | None = None
    aggregate: Aggregate = "max"


@dataclass(frozen=True)
class EASEOptions:
    """The `easeConfig` section of the config: training options and the weight of each kind of
    interaction (training and request-time histories alike)."""

    l2_options: tuple[float, ...] = option(
        (1.0, 10.0, 100.0),
        title="L2 options",
        description="Regularisation strengths tried; the best on a validation split is used.",
        bounds=(0.0, 1e9),
    )
    reviews_multiplier: float = option(
        0.5,
        title="Reviews multiplier",
        description="EASE trains once interactions exceed this multiple of the variant count.",
        bounds=(0.0, 1e6),
    )
    max_items: int = option(
        20000,
        title="Maximum items",
        description="Only this many most-interacted variants get an EASE column.",
        bounds=(1, 200_000),
    )
    view_weight: float = option(
        1.0, title="View weight", description="Weight of a product detail view in the EASE matrix.", bounds=(0.0, 1e6)
    )
    cart_weight: float = option(
        2.0, title="Cart weight", description="Weight of an add-to-cart in the EASE matrix.", bounds=(0.0, 1e6)
    )
    order_weight: float = option(
        4.0, title="Order weight", description="Weight of an ordered variant in the EASE matrix.", bounds=(0.0, 1e6)
    )
    review_weight: float = option(
        1.0,
        title="Review weight",
        description="Weight of a review (times rating / 5) in the EASE matrix.",
        bounds=(0.0, 1e6),
    )


@dataclass(frozen=True)
class EASEParams:
    l2_options: tuple[float, ...] = (1.0, 10.0, 100.0)
    # B is dense items × items float32: 20,000 items = 1.6 GB, and the inverse is O(items³).
    max_items: int = 20000
    validation_fraction: float = 0.2
    seed: int = 0
    # Validation scores at most this many rows (a seeded sample) to bound its cost.
    max_validation_rows: int = 10000
    # How a request's history is weighted (the training matrix used the same weights).
    view_weight: float = 1.0
    cart_weight: float = 2.0
    order_weight: float = 4.0
    review_weight: float = 1.0

    def __post_init__(self) -> None:
        if not self.l2_options or any(not (value > 0) for value in self.l2_options):
            raise ValueError("l2_options must be a non-empty list of positive numbers")
        if self.max_items < 2:
            raise ValueError("max_items must be at least 2")
        if not 0 < self.validation_fraction < 1:
            raise ValueError("validation_fraction must lie strictly between 0 and 1")


def build_ease_data(
    interactions: Iterable[tuple[str, str, float]],
    aggregate: Aggregate = "max",
    timestamps: Sequence[float] | None = None,
    skus: Sequence[str] | None = None,
) -> EASEData:
    """Build `EASEData` from (row_key, sku, weight) triplets, one per interaction.

    Repeated (row, sku) pairs are combined by `aggregate`: "max" (default) keeps the strongest
    signal, so ten views of an item do not outweigh one purchase; "sum" adds them up. With
    `timestamps` (aligned with the triplets) each cell keeps its latest time. `skus` fixes the
    columns (interactions with other SKUs are dropped); by default the SKUs met, in first-seen
    order. Rows are the keys met, in first-seen order.
    """
    if aggregate not in ("sum", "max"):
        raise ValueError("aggregate must be 'sum' or 'max'")
    triplets = list(interactions)
    row_position: dict[str, int] = {}
    column_position: dict[str, int] = {sku: i for i, sku in enumerate(skus)} if skus is not None else {}
    fixed_columns = skus is not None
    rows, cols, weights, kept = [], [], [], []
    for position, (row_key, sku, weight) in enumerate(triplets):
        if sku not in column_position:
            if fixed_columns:
                continue
            column_position[sku] = len(column_position)
        rows.append(row_position.setdefault(str(row_key), len(row_position)))
        cols.append(column_position[sku])
        weights.append(float(weight))
        kept.append(position)
    shape = (len(row_position), len(column_position))
    rows_a = np.asarray(rows, dtype=np.int64)
    cols_a = np.asarray(cols, dtype=np.int64)
    weights_a = np.asarray(weights, dtype=np.float64)
    # Sort by cell, then reduce each run of equal cells: data and timestamps stay aligned,
    # which a COO → CSR conversion would not promise.
    order = np.lexsort((cols_a, rows_a))
    rows_a, cols_a, weights_a = rows_a[order], cols_a[order], weights_a[order]
    cell = rows_a * max(shape[1], 1) + cols_a
    starts = np.flatnonzero(np.concatenate(([True], cell[1:] != cell[:-1]))) if len(cell) else np.zeros(0, np.int64)
    reduce = np.add.reduceat if aggregate == "sum" else np.maximum.reduceat
    data = reduce(weights_a, starts) if len(cell) else np.zeros(0)
    cell_timestamps = None
    if timestamps is not None:
        if len(timestamps) != len(triplets):
            raise ValueError("timestamps must be aligned with the interactions")
        times = np.asarray(timestamps, dtype=np.float64)[np.asarray(kept, dtype=np.int64)][order]
        cell_timestamps = np.maximum.reduceat(times, starts) if len(cell) else np.zeros(0)
    indptr = np.concatenate(([0], np.cumsum(np.bincount(rows_a[starts], minlength=shape[0]))))
    matrix = sp.csr_matrix((data.astype(np.float32), cols_a[starts], indptr), shape=shape)
    return EASEData(
        row_keys=list(row_position),
        skus=list(column_position),
        matrix=matrix,
        timestamps=cell_timestamps,
        aggregate=aggregate,
    )


def _restrict(
    matrix: sp.csr_matrix, timestamps: np.ndarray | None, columns: np.ndarray
) -> tuple[sp.csr_matrix, np.ndarray | None]:
    """Keep only `columns` (ascending) and the rows left non-empty, with timestamps aligned."""
    new_column = np.full(matrix.shape[1], -1, dtype=np.int64)
    new_column[columns] = np.arange(len(columns))
    row_of = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    keep = new_column[matrix.indices] >= 0
    counts = np.bincount(row_of[keep], minlength=matrix.shape[0])
    non_empty = counts > 0
    indptr = np.concatenate(([0], np.cumsum(counts[non_empty])))
    restricted = sp.csr_matrix(
        (matrix.data[keep], new_column[matrix.indices[keep]], indptr), shape=(int(non_empty.sum()), len(columns))
    )
    return restricted, (None if timestamps is None else np.asarray(timestamps)[keep])


def _gram(matrix: sp.csr_matrix, block: int = 2048) -> np.ndarray:
    """Dense XᵀX in float32, by column blocks so no huge sparse product is ever materialised."""
    items = matrix.shape[1]
    transposed = matrix.T.tocsr()
    by_column = matrix.tocsc()
    gram = np.empty((items, items), dtype=matrix.dtype)
    for start in range(0, items, block):
        stop = min(start + block, items)
        gram[:, start:stop] = (transposed @ by_column[:, start:stop]).toarray()
    return gram


def ease_weights(matrix: sp.csr_matrix, l2: float) -> np.ndarray:
    """The EASE matrix B (items × items float32) for the interactions `matrix` and λ = `l2`."""
    gram = _gram(sp.csr_matrix(matrix, dtype=np.float32))
    gram[np.diag_indices_from(gram)] += np.float32(l2)
    # G + λI is symmetric positive definite: a Cholesky inverse (potrf + potri) costs half of
    # a general one. Passing the transpose hands LAPACK a Fortran-ordered view without a copy.
    factor, info = scipy.linalg.lapack.spotrf(gram.T, lower=False, overwrite_a=True, clean=False)
    if info == 0:
        inverse, info = scipy.linalg.lapack.spotri(factor, lower=False, overwrite_c=True)
    if info == 0:
        _mirror_upper(inverse)
    else:
        # float32 rounding can lose definiteness for a tiny λ; a general float64 inverse of the
        # recomputed matrix is slower but safe.
        gram = _gram(sp.csr_matrix(matrix, dtype=np.float64))
        gram[np.diag_indices_from(gram)] += l2
        inverse = scipy.linalg.inv(gram, overwrite_a=True).astype(np.float32)
    # P is symmetric, so its transpose is P again, and C-ordered when LAPACK's was Fortran-
    # ordered: B is then built in place with fast row access for x·B.
    weights = inverse.T if inverse.flags.f_contiguous and not inverse.flags.c_contiguous else inverse
    diagonal = np.diag(weights).copy()
    weights /= -diagonal[None, :]
    np.fill_diagonal(weights, 0.0)
    return np.ascontiguousarray(weights)


def _mirror_upper(matrix: np.ndarray, block: int = 1024) -> None:
    """Copy the upper triangle onto the lower one in place, a block at a time (potri only fills
    one triangle, and a full transpose copy would double the memory)."""
    size = matrix.shape[0]
    for start in range(0, size, block):
        stop = min(start + block, size)
        tile = matrix[start:stop, start:stop]
        tile[:] = np.triu(tile) + np.triu(tile, 1).T
        matrix[stop:, start:stop] = matrix[start:stop, stop:].T


class EASEModel(PredictionModel):
    name = "ease"
    title = "EASE"
    description = "Collaborative filtering: items that go together with the requester's interactions (EASE)."
    supports = serves_all_retrieval() | serves_all_scoring()
    needs_training = True
    colour = "#ef4444"
    options = EASEOptions
    training_data = TrainingData.INTERACTIONS
    training_requirement = TrainingRequirement(counted="interactions", multiplier_option="reviews_multiplier")
    uses_requester_history = True

    @classmethod
    def params_from_options(cls, options: EASEOptions) -> EASEParams:
        return EASEParams(
            l2_options=options.l2_options,
            max_items=options.max_items,
            view_weight=options.view_weight,
            cart_weight=options.cart_weight,
            order_weight=options.order_weight,
            review_weight=options.review_weight,
        )

    def __init__(
        self, skus: Sequence[str], weights: np.ndarray, l2: float, aggregate: Aggregate, params: EASEParams
    ) -> None:
        self.identifier = ""
        self.skus = [str(sku) for sku in skus]
        self.index = {sku: i for i, sku in enumerate(self.skus)}
        self.weights = np.asarray(weights, dtype=np.float32)
        self.l2 = float(l2)
        self.aggregate: Aggregate = aggregate
        self.params = params
        self._catalogue_rows = CatalogueRows(self.index)

    # -- training ---------------------------------------------------------------------------
    @classmethod
    def fit(
        cls, data: EASEData, params: EASEParams | None = None, progress: Progress | None = None
    ) -> tuple[EASEModel, TrainingResult]:
        params = params or EASEParams()
        report = progress or (lambda message, fraction: None)
        matrix = sp.csr_matrix(data.matrix, dtype=np.float32)
        if matrix.shape != (len(data.row_keys), len(data.skus)):
            raise ValueError(
                f"matrix shape {matrix.shape} does not match {len(data.row_keys)} rows × {len(data.skus)} skus"
            )
        matrix.sum_duplicates()
        if data.timestamps is not None and len(data.timestamps) != matrix.nnz:
            raise ValueError("timestamps must be aligned with the matrix entries")
        # Only the most interacted items get a column: B is dense items × items.
        counts = np.diff(matrix.tocsc().indptr)
        by_count = np.argsort(-counts, kind="stable")[: params.max_items]
        columns = np.sort(by_count[counts[by_count] > 0])
        if len(columns) < 2:
            raise NotReadyForTraining(f"EASE needs interactions with at least 2 items, got {len(columns)}")
        matrix, timestamps = _restrict(matrix, data.timestamps, columns)
        skus = [data.skus[i] for i in columns]

        result = TrainingResult()
        kept, held_out = leave_out_split(matrix, params.validation_fraction, params.seed, timestamps)
        best_l2, best_metrics = None, None
        if len(params.l2_options) == 1:
            # Nothing to choose: no validation (and one inverse fewer).
            best_l2 = params.l2_options[0]
            best_metrics = {"validation": "skipped: one l2 option"}
        elif held_out.nnz == 0:
            # No row has two interactions, so nothing can be validated: take the middle option.
            best_l2 = sorted(params.l2_options)[len(params.l2_options) // 2]
            best_metrics = {"validation": "skipped: no row has 2 or more interactions"}
        else:
            for step, l2 in enumerate(params.l2_options):
                report(f"validating l2 = {l2}", step / (len(params.l2_options) + 1))
                weights = ease_weights(kept, l2)
                metrics = evaluate_leave_out(
                    lambda rows, weights=weights: np.asarray(rows @ weights),
                    kept,
                    held_out,
                    k=VALIDATION_K,
                    max_rows=params.max_validation_rows,
                    seed=params.seed,
                )
                result.steps.append(({"l2": l2}, metrics))
                # NDCG decides (it also rewards the order inside the top k); ties keep the first.
                if best_metrics is None or metrics[f"ndcg@{VALIDATION_K}"] > best_metrics[f"ndcg@{VALIDATION_K}"]:
                    best_l2, best_metrics = l2, metrics
                del weights
        report(f"fitting on all data with l2 = {best_l2}", len(params.l2_options) / (len(params.l2_options) + 1))
        model = cls(skus, ease_weights(matrix, best_l2), best_l2, data.aggregate, params)
        report("done", 1.0)
        result.hyperparameters = {
            "l2": best_l2,
            **{k: v for k, v in asdict(params).items() if k != "l2_options"},
            "l2_options": list(params.l2_options),
        }
        result.metrics = {
            **best_metrics,
            "items": len(skus),
            "training_rows": int(matrix.shape[0]),
            "interactions": int(matrix.nnz),
        }
        return model, result

    # -- artefacts --------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        artefacts.write_array_files(folder, {"skus": artefacts.str_array(self.skus), "weights": self.weights})
        artefacts.write_manifest(
            folder,
            self.name,
            FORMAT_VERSION,
            l2=self.l2,
            aggregate=self.aggregate,
            params={**asdict(self.params), "l2_options": list(self.params.l2_options)},
        )

    @classmethod
    def load(cls, folder: Path) -> EASEModel:
        manifest = artefacts.read_manifest(folder, cls.name, (FORMAT_VERSION, 1))
        if manifest["format"] == 1:
            path = folder / "ease.npz"
            arrays = artefacts.read_arrays(path, ["skus", "weights"])
        else:
            path = artefacts.array_file(folder, "weights")
            arrays = artefacts.read_array_files(folder, ["skus", "weights"], mapped=["weights"])
        artefacts.require(arrays["weights"].dtype == np.float32, f"{path}: weights are not float32")
        size = len(arrays["skus"])
        artefacts.require(arrays["weights"].shape == (size, size), f"{path}: weights are not items × items")
        try:
            raw = dict(manifest["params"])
            params = EASEParams(**{**raw, "l2_options": tuple(raw["l2_options"])})
            l2 = float(manifest["l2"])
            aggregate = manifest["aggregate"]
        except (KeyError, TypeError, ValueError) as error:
            raise artefacts.ArtefactError(f"artefact in {folder} is inconsistent: {error}") from error
        artefacts.require(aggregate in ("sum", "max"), f"artefact in {folder} has an unknown aggregate {aggregate!r}")
        return cls(arrays["skus"].tolist(), arrays["weights"], l2, aggregate, params)

    # -- prediction -------------------------------------------------------------------------
    def weighted_history(self, context: PredictContext) -> tuple[tuple[str, float], ...]:
        """The requester's interactions as (sku, weight): `context.user_history` when given, else
        `context.requester` weighted as the training matrix was (the strongest signal per SKU)."""
        params = self.params
        # What the request is about counts too: the product on the page, the cart.
        weighted = [
            *((sku, params.view_weight) for sku in ([context.viewed_variant] if context.viewed_variant else [])),
            *((sku, params.cart_weight) for sku in context.cart),
        ]
        if context.user_history or context.requester is None:
            weighted = [*context.user_history, *weighted]
        else:
            requester = context.requester
            weighted += [
                *((sku, params.view_weight) for sku in requester.viewed),
                *((sku, params.cart_weight) for sku in requester.carted),
                *((sku, params.order_weight) for sku in requester.ordered),
                *((sku, params.review_weight * max(rating, 0) / 5.0) for sku, rating in requester.reviewed),
            ]
        strongest: dict[str, float] = {}
        for sku, weight in weighted:
            if weight > strongest.get(sku, 0.0):
                strongest[sku] = weight
        return tuple(strongest.items())

    def _history(self, context: PredictContext) -> tuple[np.ndarray, np.ndarray]:
        """The requester's known items and their weights, repeated items combined as in training."""
        combined: dict[int, float] = {}
        for sku, weight in self.weighted_history(context):
            row = self.index.get(sku)
            if row is None:
                continue
            if row in combined:
                combined[row] = combined[row] + weight if self.aggregate == "sum" else max(combined[row], weight)
            else:
                combined[row] = float(weight)
        return np.fromiter(combined.keys(), dtype=np.int64), np.fromiter(combined.values(), dtype=np.float32)

    def _scores(self, context: PredictContext) -> np.ndarray:
        rows, weights = self._history(context)
        # x has few non-zeros: x·B is a weighted sum of those rows of B.
        return weights @ self.weights[rows] if len(rows) else np.zeros(len(self.skus), dtype=np.float32)

    def is_ready(self, context: PredictContext) -> bool:
        return any(sku in self.index for sku, _ in self.weighted_history(context))

    def retrieve(self, context: PredictContext, n: int) -> list[str]:
        """The top `n` of the whole catalogue by the requester's scores."""
        return catalogue_top_n(context, self._catalogue_rows, self._scores(context), n)

    def prepare(
        self, catalogue: Catalogue, previous: Catalogue | None = None, changed_rows: np.ndarray | None = None
    ) -> None:
        self._catalogue_rows(catalogue)

    def score_rows(self, context: PredictContext, rows: np.ndarray) -> np.ndarray:
        return self._catalogue_rows.scores_of(context.catalogue, rows, self._scores(context))

    def refit_params(self, params: EASEParams) -> EASEParams:
        return replace(params, l2_options=(self.l2,))

    def known_item_scores(self, context: PredictContext) -> tuple[Sequence[str], np.ndarray]:
        return self.skus, self._scores(context).astype(np.float64)

    def score(self, context: PredictContext, candidates: Sequence[str]) -> list[tuple[str, float]]:
        scores = self._scores(context)
        # Map through the candidate list itself (the original mapped local indices through the
        # global SKU list and returned the wrong items).
        return ranked(candidates, {sku: float(scores[self.index[sku]]) for sku in candidates if sku in self.index})
