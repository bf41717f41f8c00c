"""The similarity model: content-based distances between variants from their prices and
attribute values, used to retrieve and rank variants like the one viewed (or in the cart) and by
the pipeline's diversity ordering.

Every variant gets two vectors. The numerical one has a column per price list and per numerical
attribute type, min-max normalised within the column, with the column mean for a missing value.
The categorical one has a multi-hot block per categorical attribute type (several values, e.g.
several genres, are all kept); a missing value takes the type's most common value. Each block is
scaled to norm 1/√2, so two variants with disjoint values of one type are at distance 1 in that
type, the same as the two ends of a normalised numerical column, and a type with many values does
not outweigh the others.

The distance is d = c_num · ‖num_u − num_v‖ + c_cat · ‖cat_u − cat_v‖, where each space's factor
is the seed's c = (m + n − k) / k: m and n count the columns (numerical space) or attribute types
(categorical space) the two variants actually define, k those they both define; c = m + n when
k = 0. So filled-in values, which carry no information, make variants farther apart. When
neither defines anything in a space (m + n = 0), c = 0: both vectors are the fill values, their
Euclidean distance is 0 anyway, and the factor only states that the space says nothing.

Training does not store all pairs (the original wrote n(n−1)/2 rows): it keeps the vectors and
each variant's K nearest neighbours. Distances for prediction are computed exactly on the fly.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import scipy.sparse as sp
import torch

from . import artefacts
from .base import (
    NotReadyForTraining,
    Phase,
    PredictContext,
    PredictionModel,
    Progress,
    RecommendationType,
    TrainingResult,
    serves,
)
from .ranking import CatalogueRows, ranked, returnable_mask, top_n

FORMAT_VERSION = 1
# Below this size the training kernel multiplies dense categorical vectors (BLAS); above it,
# sparse ones, so a vocabulary of many thousand values does not exhaust memory.
DENSE_CATEGORICAL_BYTES = 512 * 2**20


@dataclass(frozen=True)
class SimilarityData:
    """The catalogue's content, aligned with `skus`.

    `prices[code][i]` is the price of `skus[i]` in price list `code` (nan = no price there);
    `numerical[i, t]` the value of numerical attribute type t (nan = missing);
    `categorical[t][i]` the set of values of categorical attribute type t (empty = missing).
    """

    skus: list[str]
    prices: dict[str, np.ndarray]
    numerical: np.ndarray
    categorical: list[list[frozenset[str]]]


@dataclass(frozen=True)
class SimilarityParams:
    neighbours: int = 100
    # Rows of the distance matrix computed at once: memory is about 5 × chunk_size × n × 4 bytes
    # (1 GiB for n = 100,000).
    chunk_size: int = 512

    def __post_init__(self) -> None:
        if self.neighbours < 1:
            raise ValueError("neighbours must be at least 1")
        if self.chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")


def _numerical_space(data: SimilarityData) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Filled, normalised numerical vectors (n × columns), the defined-value mask and column names."""
    n = len(data.skus)
    columns: list[np.ndarray] = []
    names: list[str] = []
    for code in sorted(data.prices):
        columns.append(np.asarray(data.prices[code], dtype=np.float64))
        names.append(f"price:{code}")
    numerical = np.asarray(data.numerical, dtype=np.float64).reshape(n, -1)
    for t in range(numerical.shape[1]):
        columns.append(numerical[:, t])
        names.append(f"numerical:{t}")
    if any(len(column) != n for column in columns):
        raise ValueError("every price list and numerical column must have one value per sku")
    raw = np.column_stack(columns) if columns else np.zeros((n, 0))
    mask = ~np.isnan(raw)
    # A column nobody defines carries nothing; dropping it keeps the masks honest.
    used = mask.any(axis=0)
    raw, mask = raw[:, used], mask[:, used]
    names = [name for name, keep in zip(names, used) if keep]
    low = np.nanmin(raw, axis=0) if raw.shape[1] else np.zeros(0)
    span = (np.nanmax(raw, axis=0) - low) if raw.shape[1] else np.zeros(0)
    # A constant column maps to 0.5 (any constant would do: only differences matter).
    normalised = np.where(span > 0, (raw - low) / np.where(span > 0, span, 1.0), 0.5)
    normalised = np.where(mask, normalised, np.nan)
    mean = np.nanmean(normalised, axis=0) if raw.shape[1] else np.zeros(0)
    return np.where(mask, normalised, mean), mask, names


def _categorical_space(data: SimilarityData) -> tuple[sp.csr_matrix, np.ndarray, list[str]]:
    """Multi-hot vectors (n × all values, CSR), the defined-type mask (n × types) and value names."""
    n = len(data.skus)
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    masks: list[np.ndarray] = []
    names: list[str] = []
    for t, per_sku in enumerate(data.categorical):
        if len(per_sku) != n:
            raise ValueError(f"categorical attribute type {t} must have one value set per sku")
        counts = Counter(value for values in per_sku for value in values)
        if not counts:
            continue  # nobody has this type: it adds nothing
        values = sorted(counts)
        # The most common value fills the gaps; max() keeps the first of equals, so ties go to
        # the smallest value and training is deterministic.
        most_common = max(values, key=counts.__getitem__)
        offset = len(names)
        column = {value: offset + i for i, value in enumerate(values)}
        names.extend(f"{t}:{value}" for value in values)
        mask = np.fromiter((bool(v) for v in per_sku), dtype=bool, count=n)
        masks.append(mask)
        for i, own in enumerate(per_sku):
            chosen = own if own else (most_common,)
            weight = 1.0 / math.sqrt(2.0 * len(chosen))
            for value in chosen:
                rows.append(i)
                cols.append(column[value])
                vals.append(weight)
    matrix = sp.csr_matrix((np.asarray(vals, dtype=np.float64), (rows, cols)), shape=(n, len(names)))
    matrix.sort_indices()
    mask = np.column_stack(masks) if masks else np.zeros((n, 0), dtype=bool)
    return matrix, mask, names


def _factor(k: np.ndarray, union: np.ndarray) -> np.ndarray:
    # (m + n − k) / k, and m + n when k = 0: dividing by max(k, 1) gives both at once.
    return union / np.maximum(k, 1)


class SimilarityModel(PredictionModel):
    name = "similarity"
    title = "Similarity"
    description = "Variants whose prices and attribute values are closest to the viewed variant or the cart."
    supports = serves(
        (RecommendationType.PRODUCT_DETAIL, Phase.RETRIEVAL),
        (RecommendationType.CART, Phase.RETRIEVAL),
        (RecommendationType.PRODUCT_DETAIL, Phase.SCORING),
        (RecommendationType.CART, Phase.SCORING),
    )
    needs_training = True

    def __init__(
        self,
        skus: Sequence[str],
        numerical: np.ndarray,
        numerical_mask: np.ndarray,
        categorical: sp.csr_matrix,
        categorical_mask: np.ndarray,
        neighbour_index: np.ndarray,
        neighbour_distance: np.ndarray,
        mean_distance: float,
        params: SimilarityParams,
    ) -> None:
        self.identifier = ""
        self.skus = [str(sku) for sku in skus]
        self.index = {sku: i for i, sku in enumerate(self.skus)}
        self.numerical = np.ascontiguousarray(numerical, dtype=np.float64)
        self.numerical_mask = np.asarray(numerical_mask, dtype=bool)
        self.numerical_count = self.numerical_mask.sum(axis=1)
        self.categorical = sp.csr_matrix(categorical, dtype=np.float64)
        self.categorical_mask = np.asarray(categorical_mask, dtype=bool)
        self.categorical_count = self.categorical_mask.sum(axis=1)
        self.neighbour_index = np.asarray(neighbour_index, dtype=np.int32)
        self.neighbour_distance = np.asarray(neighbour_distance, dtype=np.float32)
        self.mean_distance = float(mean_distance)
        self.params = params
        self._catalogue_rows = CatalogueRows(self.index)

    # -- distances --------------------------------------------------------------------------
    def pair_distances(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """Exact (float64) distances between model rows left[p] and right[p], element-wise."""
        left = np.asarray(left, dtype=np.int64)
        right = np.asarray(right, dtype=np.int64)
        distance = np.zeros(len(left))
        if self.numerical.shape[1]:
            diff = self.numerical[left] - self.numerical[right]
            euclid = np.sqrt(np.einsum("ij,ij->i", diff, diff))
            k = np.count_nonzero(self.numerical_mask[left] & self.numerical_mask[right], axis=1)
            union = self.numerical_count[left] + self.numerical_count[right] - k
            distance += euclid * _factor(k, union)
        if self.categorical.shape[1]:
            # Sparse rows: the cost follows the few values per variant, not the vocabulary size.
            sparse_diff = self.categorical[left] - self.categorical[right]
            squared = np.asarray(sparse_diff.multiply(sparse_diff).sum(axis=1)).ravel()
            k = np.count_nonzero(self.categorical_mask[left] & self.categorical_mask[right], axis=1)
            union = self.categorical_count[left] + self.categorical_count[right] - k
            distance += np.sqrt(squared) * _factor(k, union)
        return distance

    def distances(self, skus: Sequence[str]) -> np.ndarray:
        """Pairwise distance matrix of `skus` (for the diversity ordering). A SKU unknown to the
        model (created after training) is at the mean distance of all trained pairs from every
        other SKU: neither pushed away nor pulled in. The diagonal is 0."""
        rows = np.asarray([self.index.get(sku, -1) for sku in skus], dtype=np.int64)
        size = len(rows)
        matrix = np.full((size, size), self.mean_distance)
        upper_i, upper_j = np.triu_indices(size, k=1)
        known = (rows[upper_i] >= 0) & (rows[upper_j] >= 0)
        values = self.pair_distances(rows[upper_i[known]], rows[upper_j[known]])
        matrix[upper_i[known], upper_j[known]] = values
        matrix[upper_j[known], upper_i[known]] = values
        np.fill_diagonal(matrix, 0.0)
        return matrix

    def distances_to(self, sources: Sequence[int]) -> np.ndarray:
        """Distance of every model row to the nearest of the `sources` rows.

        For a cart we take the minimum over its items, not the mean: a variant close to one item
        of a mixed cart (a case for the phone) is a good match, while the mean favours variants
        that are a bit like everything and close to nothing.
        """
        n = len(self.skus)
        everything = np.arange(n)
        best = np.full(n, np.inf)
        for source in sources:
            np.minimum(best, self.pair_distances(np.full(n, source), everything), out=best)
        return best

    def neighbours(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """(skus, neighbour_index n×K int32 into skus, neighbour_distance n×K float32), each row
        nearest first (ties by index), never containing the row itself."""
        return list(self.skus), self.neighbour_index, self.neighbour_distance

    # -- training ---------------------------------------------------------------------------
    @classmethod
    def fit(
        cls, data: SimilarityData, params: SimilarityParams | None = None, progress: Progress | None = None
    ) -> tuple["SimilarityModel", TrainingResult]:
        params = params or SimilarityParams()
        n = len(data.skus)
        if n < 2:
            raise NotReadyForTraining(f"similarity needs at least 2 variants, got {n}")
        if len(set(data.skus)) != n:
            raise ValueError("skus must be unique")
        numerical, numerical_mask, numerical_names = _numerical_space(data)
        categorical, categorical_mask, categorical_names = _categorical_space(data)
        model = cls(
            data.skus,
            numerical,
            numerical_mask,
            categorical,
            categorical_mask,
            np.zeros((n, 0), dtype=np.int32),
            np.zeros((n, 0), dtype=np.float32),
            0.0,
            params,
        )
        model._compute_neighbours(progress)
        result = TrainingResult(
            hyperparameters=asdict(params),
            metrics={
                "variants": n,
                "numerical_columns": len(numerical_names),
                "categorical_types": int(categorical_mask.shape[1]),
                "categorical_values": len(categorical_names),
                "mean_distance": model.mean_distance,
            },
        )
        return model, result

    def _compute_neighbours(self, progress: Progress | None) -> None:
        """K nearest neighbours of every row, in row chunks, without any n × n matrix.

        The chunk kernel runs in float32 with ‖a−b‖² = ‖a‖² + ‖b‖² − 2ab (torch uses both
        cores); it only chooses the K candidates. Their distances are then recomputed exactly in
        float64, so the stored values equal what `distances` returns, and re-sorted.
        """
        n = len(self.skus)
        k_neighbours = min(self.params.neighbours, n - 1)
        # Centring does not change distances but keeps ‖a‖² small, so float32 cancels less.
        numerical = torch.from_numpy((self.numerical - self.numerical.mean(axis=0)).astype(np.float32))
        numerical_norm = (numerical * numerical).sum(dim=1)
        numerical_mask = torch.from_numpy(self.numerical_mask.astype(np.float32))
        numerical_count = numerical_mask.sum(dim=1)
        rows_count, width = self.categorical.shape
        categorical_dense = (
            torch.from_numpy(self.categorical.astype(np.float32).toarray())
            if rows_count * width * 4 <= DENSE_CATEGORICAL_BYTES
            else None
        )
        categorical_t = self.categorical.T.tocsr().astype(np.float32)
        categorical_norm = torch.from_numpy(
            np.asarray(self.categorical.multiply(self.categorical).sum(axis=1), dtype=np.float32).ravel()
        )
        categorical_mask = torch.from_numpy(self.categorical_mask.astype(np.float32))
        categorical_count = categorical_mask.sum(dim=1)

        def space_distance(dot: torch.Tensor, norm_rows, norm_all, mask_rows, mask_all, count_rows, count_all):
            # dot becomes the weighted distance in place, to keep at most ~3 chunk×n buffers alive.
            dot.mul_(-2).add_(norm_rows[:, None]).add_(norm_all[None, :]).clamp_(min=0).sqrt_()
            shared = mask_rows @ mask_all.T
            union = (count_rows[:, None] + count_all[None, :]).sub_(shared)
            return dot.mul_(union.div_(shared.clamp_(min=1)))

        index = np.zeros((n, k_neighbours), dtype=np.int32)
        distance = np.zeros((n, k_neighbours), dtype=np.float32)
        total = 0.0
        chunk = self.params.chunk_size
        with torch.no_grad():
            for start in range(0, n, chunk):
                stop = min(start + chunk, n)
                rows = slice(start, stop)
                block = torch.zeros((stop - start, n), dtype=torch.float32)
                if numerical.shape[1]:
                    block += space_distance(
                        numerical[rows] @ numerical.T,
                        numerical_norm[rows], numerical_norm,
                        numerical_mask[rows], numerical_mask,
                        numerical_count[rows], numerical_count,
                    )
                if self.categorical.shape[1]:
                    if categorical_dense is not None:
                        dot = categorical_dense[rows] @ categorical_dense.T
                    else:
                        dot = torch.from_numpy((self.categorical[rows].astype(np.float32) @ categorical_t).toarray())
                    block += space_distance(
                        dot,
                        categorical_norm[rows], categorical_norm,
                        categorical_mask[rows], categorical_mask,
                        categorical_count[rows], categorical_count,
                    )
                local = torch.arange(stop - start)
                block[local, local + start] = 0.0
                total += float(block.sum(dtype=torch.float64))
                block[local, local + start] = float("inf")
                candidates = torch.topk(block, k_neighbours, dim=1, largest=False, sorted=False).indices.numpy()
                del block
                own = np.repeat(np.arange(start, stop), k_neighbours)
                exact = self.pair_distances(own, candidates.ravel()).reshape(candidates.shape)
                order = np.lexsort((candidates, exact), axis=1)
                index[rows] = np.take_along_axis(candidates, order, axis=1)
                distance[rows] = np.take_along_axis(exact, order, axis=1)
                if progress is not None:
                    progress(f"nearest neighbours of {stop} of {n} variants", stop / n)
        self.neighbour_index = index
        self.neighbour_distance = distance
        self.mean_distance = total / (n * (n - 1))

    # -- artefacts --------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        artefacts.write_arrays(
            folder / "similarity.npz",
            {
                "skus": artefacts.str_array(self.skus),
                "numerical": self.numerical,
                "numerical_mask": self.numerical_mask,
                "categorical_data": self.categorical.data,
                "categorical_indices": self.categorical.indices,
                "categorical_indptr": self.categorical.indptr,
                "categorical_mask": self.categorical_mask,
                "neighbour_index": self.neighbour_index,
                "neighbour_distance": self.neighbour_distance,
            },
        )
        artefacts.write_manifest(
            folder,
            self.name,
            FORMAT_VERSION,
            params=asdict(self.params),
            mean_distance=self.mean_distance,
            categorical_columns=int(self.categorical.shape[1]),
        )

    @classmethod
    def load(cls, folder: Path) -> "SimilarityModel":
        manifest = artefacts.read_manifest(folder, cls.name, FORMAT_VERSION)
        path = folder / "similarity.npz"
        arrays = artefacts.read_arrays(
            path,
            [
                "skus", "numerical", "numerical_mask", "categorical_data", "categorical_indices",
                "categorical_indptr", "categorical_mask", "neighbour_index", "neighbour_distance",
            ],
        )
        try:
            params = SimilarityParams(**manifest["params"])
            mean_distance = float(manifest["mean_distance"])
            width = int(manifest["categorical_columns"])
            n = len(arrays["skus"])
            categorical = sp.csr_matrix(
                (arrays["categorical_data"], arrays["categorical_indices"], arrays["categorical_indptr"]),
                shape=(n, width),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise artefacts.ArtefactError(f"artefact in {folder} is inconsistent: {error}") from error
        for key in ("numerical", "numerical_mask", "categorical_mask", "neighbour_index", "neighbour_distance"):
            artefacts.require(
                arrays[key].ndim == 2 and arrays[key].shape[0] == n, f"{path}: {key} does not have one row per sku"
            )
        artefacts.require(
            arrays["neighbour_index"].shape == arrays["neighbour_distance"].shape,
            f"{path}: neighbour index and distance shapes differ",
        )
        artefacts.require(
            arrays["neighbour_index"].size == 0
            or (arrays["neighbour_index"].min() >= 0 and arrays["neighbour_index"].max() < n),
            f"{path}: neighbour index out of range",
        )
        return cls(
            arrays["skus"].tolist(),
            arrays["numerical"],
            arrays["numerical_mask"],
            categorical,
            arrays["categorical_mask"],
            arrays["neighbour_index"],
            arrays["neighbour_distance"],
            mean_distance,
            params,
        )

    # -- prediction -------------------------------------------------------------------------
    def _sources(self, context: PredictContext) -> list[int]:
        """Model rows the request is about: the viewed variant, or the cart's known items."""
        if context.recommendation_type == RecommendationType.PRODUCT_DETAIL:
            return [self.index[context.viewed_variant]] if context.viewed_variant in self.index else []
        if context.recommendation_type == RecommendationType.CART:
            return list(dict.fromkeys(self.index[sku] for sku in context.cart if sku in self.index))
        return []

    def is_ready(self, context: PredictContext) -> bool:
        return bool(self._sources(context))

    def retrieve(self, context: PredictContext, n: int) -> list[str]:
        if not self.can_serve(context.recommendation_type, Phase.RETRIEVAL):
            raise TypeError(f"{self.name} does not retrieve for {context.recommendation_type.value}")
        sources = self._sources(context)
        if not sources:
            return []
        to_sources = self.distances_to(sources)
        model_rows = self._catalogue_rows(context.catalogue)
        scores = np.where(model_rows >= 0, -to_sources[np.maximum(model_rows, 0)], -np.inf)
        allowed = returnable_mask(context) & (model_rows >= 0) & ~np.isin(model_rows, sources)
        scores = np.where(allowed, scores, -np.inf)
        return [str(context.catalogue.skus[i]) for i in top_n(scores, n)]

    def score(self, context: PredictContext, candidates: Sequence[str]) -> list[tuple[str, float]]:
        if not self.can_serve(context.recommendation_type, Phase.SCORING):
            raise TypeError(f"{self.name} does not score for {context.recommendation_type.value}")
        sources = self._sources(context)
        known = [sku for sku in dict.fromkeys(candidates) if sku in self.index]
        if not sources or not known:
            return ranked(candidates, {})
        rows = np.asarray([self.index[sku] for sku in known], dtype=np.int64)
        best = np.full(len(rows), np.inf)
        for source in sources:
            np.minimum(best, self.pair_distances(np.full(len(rows), source), rows), out=best)
        return ranked(candidates, dict(zip(known, (-best).tolist())))

