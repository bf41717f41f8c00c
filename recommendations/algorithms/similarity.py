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

The K nearest neighbours are found exactly in one of two ways. When the catalogue has few
*groups* (variants sharing their categorical vector and both masks, as in a shop whose variants
differ by a handful of brands and colours), the categorical term and both factors are constant
between two groups, so the nearest members of a group are its Euclidean nearest in the numerical
space: a k-d tree per group answers them, and a group is skipped once its lower bound (the
constant term plus the distance to its bounding box) cannot beat a row's K-th distance. Otherwise
a blocked float32 kernel computes every distance of a chunk of rows and keeps the K smallest.
Either way the K candidates are recomputed exactly in float64 and sorted (ties by index).

The artefact is one uncompressed `.npy` file per array, so servers memory-map the big ones and
several worker processes share one copy in the page cache.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
from scipy.spatial import cKDTree

from . import artefacts
from .base import (
    NotReadyForTraining,
    Phase,
    PredictContext,
    PredictionModel,
    Progress,
    RecommendationType,
    TrainingData,
    TrainingRequirement,
    TrainingResult,
    option,
    serves,
)
from .ranking import CatalogueRows, catalogue_index, ranked

# 2: one `.npy` file per array (memory-mappable) instead of one `.npz` archive.
FORMAT_VERSION = 2
ARRAYS = (
    "skus",
    "numerical",
    "numerical_mask",
    "categorical_data",
    "categorical_indices",
    "categorical_indptr",
    "categorical_mask",
    "categorical_offsets",
    "neighbour_index",
    "neighbour_distance",
)
# Memory-mapped on load: the arrays that grow with the catalogue. The rest are small and copied.
MAPPED_ARRAYS = ("numerical", "numerical_mask", "categorical_mask", "neighbour_index", "neighbour_distance")
# The grouped neighbour search is used when there are at most this many groups and no more
# groups than members per group on average (P² ≤ n); beyond that the per-group loop costs more
# than the blocked kernel.
MAX_NEIGHBOUR_GROUPS = 4096
# Rows of one group searched at once: bounds the candidate and exact-distance buffers
# (about rows × K × 200 bytes).
GROUP_CHUNK_ROWS = 8192
# Above this many pairs the mean distance (a stand-in for unknown SKUs) is estimated from a
# fixed random sample of this many pairs instead of all of them.
MEAN_DISTANCE_PAIRS = 2_000_000
# Below this size the training kernel multiplies dense categorical vectors (BLAS); above it,
# sparse ones, so a vocabulary of many thousand values does not exhaust memory.
DENSE_CATEGORICAL_BYTES = 512 * 2**20
# A single-valued categorical type with more values than this is compared by value codes in
# the kernel (one pass over the chunk) rather than multiplied as a wide one-hot block.
CODED_TYPE_MIN_VALUES = 32
# Mask factors are looked up per pair of distinct mask patterns when there are at most this
# many patterns (the usual case: variants of one product type share a pattern).
MAX_MASK_PATTERNS = 4096
# Request-time distances keep a dense copy of the categorical block up to this many cells.
DENSE_CATEGORICAL_LIMIT = 20_000_000
# Up to this many SKUs, `distances` compares the gathered rows all at once (rows × rows × columns
# values); beyond, pair by pair.
PAIRWISE_BLOCK_LIMIT = 128


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


@dataclass(frozen=True)
class SimilarityOptions:
    """The `similarityConfig` section of the config."""

    neighbours: int = option(
        100, title="Neighbours", description="Nearest variants stored per variant.", bounds=(1, 1_000)
    )


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


def _categorical_space(data: SimilarityData) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray, list[str]]:
    """Multi-hot vectors (n × all values, CSR), the defined-type mask (n × types), the first
    column of each type's block (types + 1 offsets) and the value names."""
    n = len(data.skus)
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    masks: list[np.ndarray] = []
    names: list[str] = []
    offsets: list[int] = []
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
        offsets.append(offset)
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
    offsets = np.asarray(offsets + [len(names)], dtype=np.int64)
    return matrix, mask, offsets, names


def _pairwise_part(values: np.ndarray, mask: np.ndarray, count: np.ndarray) -> np.ndarray:
    """One space's term of the distance between every pair of the given rows: the Euclidean
    distance of their values times the (m + n − k) / k factor of their shared types."""
    diff = values[:, None, :] - values[None, :, :]
    euclid = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
    as_int = mask.astype(np.int64)
    k = as_int @ as_int.T
    union = count[:, None] + count[None, :] - k
    return euclid * _factor(k, union)


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
    colour = "#10b981"
    options = SimilarityOptions
    training_data = TrainingData.CONTENT
    training_requirement = TrainingRequirement(counted="variants", minimum=2)
    provides_distances = True
    provides_neighbours = True

    @classmethod
    def params_from_options(cls, options: SimilarityOptions) -> SimilarityParams:
        return SimilarityParams(neighbours=options.neighbours)

    def __init__(
        self,
        skus: Sequence[str],
        numerical: np.ndarray,
        numerical_mask: np.ndarray,
        categorical: sp.csr_matrix,
        categorical_mask: np.ndarray,
        categorical_offsets: np.ndarray,
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
        # Request-time distances on a few dozen rows are dominated by scipy's per-call overhead;
        # a dense copy is cheap when the vocabulary times the catalogue is small.
        size = self.categorical.shape[0] * self.categorical.shape[1]
        self.categorical_dense = self.categorical.toarray() if size <= DENSE_CATEGORICAL_LIMIT else None
        self.categorical_mask = np.asarray(categorical_mask, dtype=bool)
        self.categorical_count = self.categorical_mask.sum(axis=1)
        self.categorical_offsets = np.asarray(categorical_offsets, dtype=np.int64)
        self.neighbour_index = np.asarray(neighbour_index, dtype=np.int32)
        self.neighbour_distance = np.asarray(neighbour_distance, dtype=np.float32)
        self.mean_distance = float(mean_distance)
        self.params = params
        self._catalogue_rows = CatalogueRows(self.index)

        self.is_informative = self._tells_variants_apart()

    def _tells_variants_apart(self) -> bool:
        """Whether any numerical column varies, or any categorical value is held by some variants
        and not others; else every distance is the same and the model knows nothing."""
        numerical = np.asarray(self.numerical)
        if numerical.size and bool(np.any(np.ptp(numerical, axis=0) > 0)):
            return True
        n = self.categorical.shape[0]
        counts = np.diff(self.categorical.tocsc().indptr)
        return bool(np.any((counts > 0) & (counts < n)))

    # -- distances --------------------------------------------------------------------------
    def pair_distances(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """Exact (float64) distances between model rows left[p] and right[p], element-wise."""
        left = np.asarray(left, dtype=np.int64)
        right = np.asarray(right, dtype=np.int64)
        return self._numerical_distances(left, right) + self._categorical_distances(left, right)

    def _numerical_distances(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        if not self.numerical.shape[1]:
            return np.zeros(len(left))
        diff = self.numerical[left] - self.numerical[right]
        euclid = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        k = np.count_nonzero(self.numerical_mask[left] & self.numerical_mask[right], axis=1)
        union = self.numerical_count[left] + self.numerical_count[right] - k
        return euclid * _factor(k, union)

    def _categorical_distances(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        if not self.categorical.shape[1]:
            return np.zeros(len(left))
        if self.categorical_dense is not None:
            dense_diff = self.categorical_dense[left] - self.categorical_dense[right]
            squared = np.einsum("ij,ij->i", dense_diff, dense_diff)
        else:
            # Sparse rows: the cost follows the few values per variant, not the vocabulary size.
            sparse_diff = self.categorical[left] - self.categorical[right]
            squared = np.asarray(sparse_diff.multiply(sparse_diff).sum(axis=1)).ravel()
        k = np.count_nonzero(self.categorical_mask[left] & self.categorical_mask[right], axis=1)
        union = self.categorical_count[left] + self.categorical_count[right] - k
        return np.sqrt(squared) * _factor(k, union)

    def distances(self, skus: Sequence[str]) -> np.ndarray:
        """Pairwise distance matrix of `skus` (for the diversity ordering). A SKU unknown to the
        model (created after training) is at the mean distance of all trained pairs from every
        other SKU: neither pushed away nor pulled in. The diagonal is 0."""
        rows = np.asarray([self.index.get(sku, -1) for sku in skus], dtype=np.int64)
        size = len(rows)
        matrix = np.full((size, size), self.mean_distance)
        if size <= PAIRWISE_BLOCK_LIMIT:
            # A few dozen rows (the ordered head of an answer): gather them once and compare
            # them all at once, rather than gather two rows per pair.
            known = np.flatnonzero(rows >= 0)
            matrix[np.ix_(known, known)] = self._pairwise(rows[known])
            np.fill_diagonal(matrix, 0.0)
            return matrix
        upper_i, upper_j = np.triu_indices(size, k=1)
        known = (rows[upper_i] >= 0) & (rows[upper_j] >= 0)
        values = self.pair_distances(rows[upper_i[known]], rows[upper_j[known]])
        matrix[upper_i[known], upper_j[known]] = values
        matrix[upper_j[known], upper_i[known]] = values
        np.fill_diagonal(matrix, 0.0)
        return matrix

    def _pairwise(self, rows: np.ndarray) -> np.ndarray:
        """The distance matrix of model `rows` (few): `pair_distances` of every pair at once."""
        matrix = np.zeros((len(rows), len(rows)))
        if self.numerical.shape[1]:
            matrix += _pairwise_part(self.numerical[rows], self.numerical_mask[rows], self.numerical_count[rows])
        if self.categorical.shape[1]:
            if self.categorical_dense is not None:
                values = self.categorical_dense[rows]
            else:
                # Only the vocabulary columns these rows hold can differ between them.
                block = self.categorical[rows]
                values = block[:, np.unique(block.indices)].toarray()
            matrix += _pairwise_part(values, self.categorical_mask[rows], self.categorical_count[rows])
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
        nearest first (equal distances by index), never containing the row itself. Of several
        variants tied at the K-th distance, which ones make the list is the search's choice."""
        return list(self.skus), self.neighbour_index, self.neighbour_distance

    def neighbours_of(self, rows: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """The stored neighbour lists of model rows, without computing any distance: (model rows
        len(rows)×K int32, distances len(rows)×K float32), nearest first."""
        rows = np.asarray(rows, dtype=np.int64)
        return np.asarray(self.neighbour_index[rows]), np.asarray(self.neighbour_distance[rows])

    def exact_kth_distances(self, rows: Sequence[int], k: int) -> np.ndarray:
        """The exact K-th smallest distance of each of `rows` to any other row, by brute force
        (n distances per row): the reference of the recall benchmark."""
        n = len(self.skus)
        everything = np.arange(n)
        kth = np.empty(len(rows))
        for position, row in enumerate(rows):
            distance = self.pair_distances(np.full(n, row), everything)
            distance[row] = np.inf
            kth[position] = np.partition(distance, k - 1)[k - 1]
        return kth

    # -- training ---------------------------------------------------------------------------
    @classmethod
    def fit(
        cls, data: SimilarityData, params: SimilarityParams | None = None, progress: Progress | None = None
    ) -> tuple[SimilarityModel, TrainingResult]:
        params = params or SimilarityParams()
        n = len(data.skus)
        if n < 2:
            raise NotReadyForTraining(f"similarity needs at least 2 variants, got {n}")
        if len(set(data.skus)) != n:
            raise ValueError("skus must be unique")
        numerical, numerical_mask, numerical_names = _numerical_space(data)
        categorical, categorical_mask, categorical_offsets, categorical_names = _categorical_space(data)
        model = cls(
            data.skus,
            numerical,
            numerical_mask,
            categorical,
            categorical_mask,
            categorical_offsets,
            np.zeros((n, 0), dtype=np.int32),
            np.zeros((n, 0), dtype=np.float32),
            0.0,
            params,
        )
        model._compute_neighbours(progress)
        if not model.is_informative:
            result_note = "uninformative: no attribute or price tells two variants apart; the cascade passes it over"
        else:
            result_note = None
        result = TrainingResult(
            hyperparameters=asdict(params),
            metrics={
                "variants": n,
                "numerical_columns": len(numerical_names),
                "categorical_types": int(categorical_mask.shape[1]),
                "categorical_values": len(categorical_names),
                "mean_distance": model.mean_distance,
                "informative": model.is_informative,
                **({"note": result_note} if result_note else {}),
            },
        )
        return model, result

    def _compute_neighbours(self, progress: Progress | None) -> None:
        """K nearest neighbours of every row, exactly, without any n × n matrix (see the module
        docstring for the two searches), and the mean distance of all pairs."""
        n = len(self.skus)
        k_neighbours = min(self.params.neighbours, n - 1)
        groups = _VariantGroups.of(self)
        if groups is not None:
            index, distance = groups.neighbours(k_neighbours, progress)
            self.mean_distance = self._mean_distance()
        else:
            index, distance, self.mean_distance = self._blocked_neighbours(k_neighbours, progress)
        self.neighbour_index = index
        self.neighbour_distance = distance

    def _exact_sorted(self, rows: np.ndarray, candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Candidates of `rows` (rows × K) with exact float64 distances, nearest first, ties by index."""
        own = np.repeat(rows.astype(np.int64), candidates.shape[1])
        exact = self.pair_distances(own, candidates.ravel()).reshape(candidates.shape)
        order = np.lexsort((candidates, exact), axis=1)
        return np.take_along_axis(candidates, order, axis=1), np.take_along_axis(exact, order, axis=1)

    def _mean_distance(self) -> float:
        """Mean distance over all pairs, or over a fixed random sample of them in a big catalogue
        (it only stands in for SKUs the model does not know, so a sample is precise enough)."""
        n = len(self.skus)
        if n * (n - 1) // 2 <= MEAN_DISTANCE_PAIRS:
            left, right = np.triu_indices(n, k=1)
        else:
            rng = np.random.default_rng(0)
            left = rng.integers(0, n, MEAN_DISTANCE_PAIRS)
            right = (left + rng.integers(1, n, MEAN_DISTANCE_PAIRS)) % n  # never the row itself
        total = 0.0
        step = 200_000
        for start in range(0, len(left), step):
            total += float(self.pair_distances(left[start : start + step], right[start : start + step]).sum())
        return total / len(left)

    def _blocked_neighbours(self, k_neighbours: int, progress: Progress | None) -> tuple[np.ndarray, np.ndarray, float]:
        """Every distance of a chunk of rows from the float32 kernel (`_ChunkKernel`, torch on
        all cores), which only chooses the K candidates; the mean from the same kernel."""
        n = len(self.skus)
        kernel = _ChunkKernel(self)
        index = np.zeros((n, k_neighbours), dtype=np.int32)
        distance = np.zeros((n, k_neighbours), dtype=np.float32)
        total = 0.0
        chunk = self.params.chunk_size
        with torch.no_grad():
            for start in range(0, n, chunk):
                stop = min(start + chunk, n)
                block = kernel.distances(start, stop)
                local = torch.arange(stop - start)
                block[local, local + start] = 0.0
                # Row sums in float32 are exact enough and several times faster than float64.
                total += float(block.sum(dim=1).double().sum())
                block[local, local + start] = float("inf")
                candidates = torch.topk(block, k_neighbours, dim=1, largest=False, sorted=False).indices.numpy()
                index[start:stop], distance[start:stop] = self._exact_sorted(np.arange(start, stop), candidates)
                if progress is not None:
                    progress(f"nearest neighbours of {stop} of {n} variants", stop / n)
        # From the float32 kernel: the mean only stands in for unknown SKUs, exactness is moot.
        return index, distance, total / (n * (n - 1))

    # -- artefacts --------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        artefacts.write_array_files(
            folder,
            {
                "skus": artefacts.str_array(self.skus),
                "numerical": self.numerical,
                "numerical_mask": self.numerical_mask,
                "categorical_data": self.categorical.data,
                "categorical_indices": self.categorical.indices,
                "categorical_indptr": self.categorical.indptr,
                "categorical_mask": self.categorical_mask,
                "categorical_offsets": self.categorical_offsets,
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
    def load(cls, folder: Path) -> SimilarityModel:
        """Read an artefact; the arrays that grow with the catalogue stay memory-mapped."""
        manifest = artefacts.read_manifest(folder, cls.name, FORMAT_VERSION)
        arrays = artefacts.read_array_files(folder, ARRAYS, mapped=MAPPED_ARRAYS)
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
                arrays[key].ndim == 2 and arrays[key].shape[0] == n, f"{folder}: {key} does not have one row per sku"
            )
        offsets = arrays["categorical_offsets"]
        artefacts.require(
            offsets.ndim == 1
            and len(offsets) == arrays["categorical_mask"].shape[1] + 1
            and (len(offsets) == 0 or offsets[-1] == width),
            f"{folder}: categorical offsets do not match the categorical columns",
        )
        artefacts.require(
            arrays["neighbour_index"].shape == arrays["neighbour_distance"].shape,
            f"{folder}: neighbour index and distance shapes differ",
        )
        artefacts.require(
            arrays["neighbour_index"].size == 0
            or (arrays["neighbour_index"].min() >= 0 and arrays["neighbour_index"].max() < n),
            f"{folder}: neighbour index out of range",
        )
        return cls(
            arrays["skus"].tolist(),
            arrays["numerical"],
            arrays["numerical_mask"],
            categorical,
            arrays["categorical_mask"],
            arrays["categorical_offsets"],
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
        return self.is_informative and bool(self._sources(context))

    def retrieve(self, context: PredictContext, n: int) -> list[str]:
        """The stored neighbours of the viewed variant (or of the cart's items, each candidate at
        its distance to the nearest of them), nearest first: read from the neighbour lists
        computed at training, so the cost is K per source, whatever the catalogue's size."""
        if not self.can_serve(context.recommendation_type, Phase.RETRIEVAL):
            raise TypeError(f"{self.name} does not retrieve for {context.recommendation_type.value}")
        sources = self._sources(context)
        if not sources:
            return []
        neighbour_rows, neighbour_distances = self.neighbours_of(sources)
        rows = neighbour_rows.ravel().astype(np.int64)
        distances = neighbour_distances.ravel().astype(np.float64)
        # Nearest first, ties by row; a row listed for several sources keeps its smallest distance.
        order = np.lexsort((rows, distances))
        rows = rows[order]
        _, first = np.unique(rows, return_index=True)
        rows = rows[np.sort(first)]
        catalogue = context.catalogue
        index = catalogue_index(catalogue)
        available = catalogue.is_available
        excluded = set(sources)
        chosen: list[str] = []
        for row in rows.tolist():
            if len(chosen) >= n:
                break
            sku = self.skus[row]
            position = index.get(sku)
            if row in excluded or position is None or not available[position] or sku in context.exclude:
                continue
            chosen.append(sku)
        return chosen

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


def neighbour_recall(
    rows: np.ndarray, found_index: np.ndarray, found_distance: np.ndarray, exact_kth: np.ndarray
) -> float:
    """Recall of neighbour lists against the exact K nearest, counting ties as hits.

    `found_index[r]` is the list of row `rows[r]` (K model rows), `found_distance[r]` their exact
    distances, `exact_kth[r]` the exact K-th smallest distance of the row to any other row. A
    listed neighbour is a hit when it is not the row itself, not listed before in the same list,
    and no farther than the exact K-th distance: with several variants tied at the K-th distance
    (a catalogue of few attribute patterns has many), any of them is as good as another, so
    "the same set as the exact search" would penalise a correct list. Mean over all K × rows."""
    rows = np.asarray(rows, dtype=np.int64)
    found_index = np.asarray(found_index, dtype=np.int64)
    if found_index.size == 0:
        return 1.0
    order = np.argsort(found_index, axis=1, kind="stable")
    ordered = np.take_along_axis(found_index, order, axis=1)
    repeated_sorted = np.zeros(found_index.shape, dtype=bool)
    repeated_sorted[:, 1:] = ordered[:, 1:] == ordered[:, :-1]
    repeated = np.zeros(found_index.shape, dtype=bool)
    np.put_along_axis(repeated, order, repeated_sorted, axis=1)  # the first listing stays a hit
    hits = (found_index != rows[:, None]) & ~repeated & (np.asarray(found_distance) <= np.asarray(exact_kth)[:, None])
    return float(hits.mean())


class _SpaceFactor:
    """The (m + n − k) / k factor of one space for a chunk of rows against all rows."""

    def __init__(self, mask: np.ndarray) -> None:
        self.mask = None
        if mask.shape[1] == 0:
            self.pattern = None
            self.table = None
            return
        patterns, inverse = np.unique(mask, axis=0, return_inverse=True)
        if len(patterns) <= MAX_MASK_PATTERNS:
            # One P × P table and a gather: a single pass over the chunk instead of a matmul
            # plus four element-wise passes.
            as_float = patterns.astype(np.float64)
            shared = as_float @ as_float.T
            count = as_float.sum(axis=1)
            table = _factor(shared, count[:, None] + count[None, :] - shared)
            self.table = torch.from_numpy(table.astype(np.float32))
            self.pattern = torch.from_numpy(inverse.ravel().astype(np.int64))
        else:
            self.table = None
            self.pattern = None
            self.mask = torch.from_numpy(mask.astype(np.float32))
            self.count = self.mask.sum(dim=1)

    def chunk(self, start: int, stop: int, out: torch.Tensor) -> torch.Tensor:
        if self.table is not None:
            return torch.index_select(self.table[self.pattern[start:stop]], 1, self.pattern, out=out)
        shared = self.mask[start:stop] @ self.mask.T
        union = (self.count[start:stop, None] + self.count[None, :]).sub_(shared)
        return out.copy_(union.div_(shared.clamp_(min=1)))


class _ChunkKernel:
    """Approximate (float32) distances of a chunk of rows to all rows, for choosing neighbours.

    Squared Euclidean distances come from one matrix product of augmented vectors,
    [a, ‖a‖², 1] · [−2b, 1, ‖b‖²] = ‖a − b‖², so no separate norm passes are needed. Wide
    single-valued categorical types are compared by value code instead: their block adds exactly
    1 to the squared distance when the values differ (two blocks of norm 1/√2, disjoint).
    """

    def __init__(self, model: SimilarityModel) -> None:
        n = len(model.skus)
        # Centring does not change distances but keeps ‖a‖² small, so float32 cancels less.
        numerical = model.numerical - model.numerical.mean(axis=0)
        self.numerical = self._augmented(numerical) if numerical.shape[1] else None
        self.numerical_factor = _SpaceFactor(model.numerical_mask)

        self.codes: list[np.ndarray] = []
        multiplied: list[int] = []
        offsets = model.categorical_offsets
        categorical = model.categorical.tocsc()
        for t in range(len(offsets) - 1):
            block = categorical[:, offsets[t] : offsets[t + 1]].tocsr()
            if np.all(np.diff(block.indptr) == 1) and block.shape[1] > CODED_TYPE_MIN_VALUES:
                self.codes.append(block.indices.astype(np.int32))
            else:
                multiplied.extend(range(offsets[t], offsets[t + 1]))
        rest = categorical[:, multiplied].tocsr() if multiplied else None
        self.categorical_dense = None
        self.categorical_sparse = None
        if rest is not None:
            if n * (rest.shape[1] + 2) * 4 <= DENSE_CATEGORICAL_BYTES:
                self.categorical_dense = self._augmented(rest.toarray())
            else:
                self.categorical_sparse = rest.astype(np.float32)
                self.categorical_sparse_t = self.categorical_sparse.T.tocsr()
                self.categorical_norm = torch.from_numpy(
                    np.asarray(rest.multiply(rest).sum(axis=1), dtype=np.float32).ravel()
                )
        self.has_categorical = bool(self.codes) or rest is not None
        self.categorical_factor = _SpaceFactor(model.categorical_mask)
        self.n = n
        self._buffers: tuple[torch.Tensor, ...] | None = None

    @staticmethod
    def _augmented(vectors: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        norm = np.einsum("ij,ij->i", vectors, vectors)[:, None]
        ones = np.ones_like(norm)
        left = np.hstack([vectors, norm, ones]).astype(np.float32)
        # Stored transposed and contiguous, ready for torch.mm(left_rows, right, out=...).
        right = np.ascontiguousarray(np.hstack([-2.0 * vectors, ones, norm]).T.astype(np.float32))
        return torch.from_numpy(left), torch.from_numpy(right)

    def distances(self, start: int, stop: int) -> torch.Tensor:
        """Distances of rows start..stop to all rows, written into reused buffers: allocating
        fresh chunk × n tensors costs page faults comparable to the arithmetic."""
        rows = stop - start
        if self._buffers is None or self._buffers[0].shape[0] < rows:
            self._buffers = tuple(torch.empty((rows, self.n), dtype=torch.float32) for _ in range(3)) + (
                torch.empty((rows, self.n), dtype=torch.bool),
            )
        result, squared, factor, differs = (buffer[:rows] for buffer in self._buffers)
        result.zero_()
        if self.numerical is not None:
            left, right = self.numerical
            torch.mm(left[start:stop], right, out=squared)
            squared.clamp_(min=0).sqrt_()
            result.addcmul_(squared, self.numerical_factor.chunk(start, stop, factor))
        if self.has_categorical:
            if self.categorical_dense is not None:
                left, right = self.categorical_dense
                torch.mm(left[start:stop], right, out=squared)
            elif self.categorical_sparse is not None:
                dot = (self.categorical_sparse[start:stop] @ self.categorical_sparse_t).toarray()
                squared.copy_(torch.from_numpy(dot)).mul_(-2)
                squared.add_(self.categorical_norm[start:stop, None]).add_(self.categorical_norm[None, :])
            else:
                squared.zero_()
            # numpy: its bool compare-and-add runs several times faster here than torch's.
            squared_array, differs_array = squared.numpy(), differs.numpy()
            for codes in self.codes:
                np.not_equal(codes[start:stop, None], codes[None, :], out=differs_array)
                np.add(squared_array, differs_array, out=squared_array)
            squared.clamp_(min=0).sqrt_()
            result.addcmul_(squared, self.categorical_factor.chunk(start, stop, factor))
        return result


class _VariantGroups:
    """The exact grouped neighbour search. A group is a set of variants with the same
    categorical vector, categorical mask and numerical mask: between a row of group g and any
    member of group h the categorical term (`offset[g, h]`) and the numerical factor are
    constants, so the nearest members of h are the Euclidean nearest in the numerical space."""

    def __init__(self, model: SimilarityModel, group_of: np.ndarray, representatives: np.ndarray) -> None:
        self.model = model
        self.group_of = group_of
        order = np.argsort(group_of, kind="stable")
        bounds = np.searchsorted(group_of[order], np.arange(len(representatives) + 1))
        self.members = [order[bounds[g] : bounds[g + 1]] for g in range(len(representatives))]
        count = len(representatives)
        # The categorical term between two groups, computed by the very function the exact
        # distances use, so that a stored distance equals `pair_distances` bit for bit.
        self.offset = np.empty((count, count))
        step = max(1, 1_000_000 // count)
        for start in range(0, count, step):
            stop = min(start + step, count)
            left = np.repeat(representatives[start:stop], count)
            right = np.tile(representatives, stop - start)
            self.offset[start:stop] = model._categorical_distances(left, right).reshape(stop - start, count)
        mask = model.numerical_mask[representatives].astype(np.float64)
        shared = mask @ mask.T
        defined = mask.sum(axis=1)
        self.numerical_factor = _factor(shared, defined[:, None] + defined[None, :] - shared)
        # Without numerical columns every member of a group is at the same distance: one zero
        # column keeps the trees working.
        self.points = model.numerical if model.numerical.shape[1] else np.zeros((len(group_of), 1))
        self.low = np.stack([self.points[members].min(axis=0) for members in self.members])
        self.high = np.stack([self.points[members].max(axis=0) for members in self.members])
        self._trees: dict[int, cKDTree] = {}

    @classmethod
    def of(cls, model: SimilarityModel) -> _VariantGroups | None:
        """The groups of the model's rows, or None when there are too many for this search."""
        n = len(model.skus)
        categorical = model.categorical
        per_row = np.diff(categorical.indptr)
        width = int(per_row.max()) if n else 0
        if n * (width + model.numerical_mask.shape[1] + model.categorical_mask.shape[1] + 1) > 100_000_000:
            return None
        # A row's sorted value columns, padded with −1; the values' weights follow from them.
        codes = np.full((n, width), -1, dtype=np.int64)
        rows = np.repeat(np.arange(n), per_row)
        codes[rows, np.arange(len(rows)) - np.repeat(categorical.indptr[:-1], per_row)] = categorical.indices
        key = np.hstack([np.zeros((n, 1), dtype=np.int64), codes, model.numerical_mask, model.categorical_mask])
        _, representatives, group_of = np.unique(key.astype(np.int64), axis=0, return_index=True, return_inverse=True)
        count = len(representatives)
        if count > MAX_NEIGHBOUR_GROUPS or count * count > n:
            return None
        return cls(model, group_of.ravel().astype(np.int64), representatives.astype(np.int64))

    def _tree(self, group: int) -> cKDTree:
        tree = self._trees.get(group)
        if tree is None:
            tree = self._trees[group] = cKDTree(self.points[self.members[group]])
        return tree

    def neighbours(self, k: int, progress: Progress | None) -> tuple[np.ndarray, np.ndarray]:
        n = len(self.group_of)
        index = np.zeros((n, k), dtype=np.int32)
        distance = np.zeros((n, k), dtype=np.float32)
        done = 0
        for group, members in enumerate(self.members):
            group_order = np.argsort(self.offset[group], kind="stable")
            for start in range(0, len(members), GROUP_CHUNK_ROWS):
                rows = members[start : start + GROUP_CHUNK_ROWS]
                candidates = self._candidates(group, rows, group_order, k)
                # Exact: the numerical term plus the group pair's categorical term, added in
                # the order `pair_distances` adds them.
                flat = candidates.ravel()
                numerical = self.model._numerical_distances(np.repeat(rows, k), flat)
                exact = (numerical + self.offset[group, self.group_of[flat]]).reshape(candidates.shape)
                order = np.lexsort((candidates, exact), axis=1)
                index[rows] = np.take_along_axis(candidates, order, axis=1)
                distance[rows] = np.take_along_axis(exact, order, axis=1)
                done += len(rows)
                if progress is not None:
                    progress(f"nearest neighbours of {done} of {n} variants", done / n)
        return index, distance

    def _candidates(self, group: int, rows: np.ndarray, group_order: np.ndarray, k: int) -> np.ndarray:
        """The K nearest of `rows` (all in `group`) among all other rows, visiting groups in
        order of their categorical term and skipping those that cannot beat a row's K-th."""
        best_distance = np.full((len(rows), k), np.inf)
        best_index = np.full((len(rows), k), -1, dtype=np.int64)
        points = self.points[rows]
        for other in group_order:
            floor = self.offset[group, other]
            if floor >= best_distance[:, -1].max():
                break  # the groups left start at least this far away
            factor = self.numerical_factor[group, other]
            gap = np.maximum(self.low[other] - points, 0.0) + np.maximum(points - self.high[other], 0.0)
            lower = floor + factor * np.sqrt(np.einsum("ij,ij->i", gap, gap))
            # A hair of slack so that rounding in the bound never skips a strictly closer one.
            active = np.flatnonzero(lower * (1.0 - 1e-12) < best_distance[:, -1])
            if not len(active):
                continue
            members = self.members[other]
            take = min(k + (other == group), len(members))
            found_distance, found = self._tree(int(other)).query(points[active], k=np.arange(1, take + 1), workers=-1)
            found_index = members[found]
            found_distance = floor + factor * found_distance
            if other == group:
                found_distance[found_index == rows[active, None]] = np.inf
            merged_distance = np.hstack([best_distance[active], found_distance])
            merged_index = np.hstack([best_index[active], found_index])
            # The K smallest, with the K-th in the last column (the bound checked above).
            keep = np.argpartition(merged_distance, k - 1, axis=1)[:, :k]
            best_distance[active] = np.take_along_axis(merged_distance, keep, axis=1)
            best_index[active] = np.take_along_axis(merged_index, keep, axis=1)
        return best_index
