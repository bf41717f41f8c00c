"""Drawing candidates from the catalogue at random without a pass over it per request.

`WeightedTiers` is built once per catalogue change: the available rows split into tiers (in
stock before out of stock, a positive weight before none), each tier grouped by weight. A draw
then costs about the number of rows drawn, whatever the catalogue's size:

* a tier whose rows have few distinct weights (at most `MAX_EXACT_GROUPS`; the common case:
  recommendation weights are a handful of values, unsold items all weigh 0) is drawn exactly as
  sequential sampling without replacement with probability proportional to weight (Efraimidis &
  Spirakis 2006: the rows with the largest u^(1/w)). Within a group of m rows of one weight the
  largest keys belong to the largest of m uniforms, whose top order statistics are generated
  directly (U(m) = V₁^(1/m), U(m−1) = U(m)·V₂^(1/(m−1)), …), and the rows that get them are a
  uniform choice without replacement, so nothing is drawn per row of the group;
* a tier with many distinct weights (popularity: units ordered) is drawn from its head: the
  `HEAD_FACTOR` × n heaviest rows (ranked once per change) in weighted random order; rows
  outside the head weigh less than every row in it and come only once the head is used up.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from .ranking import weighted_order

MAX_EXACT_GROUPS = 64
HEAD_FACTOR = 8
MIN_HEAD = 4096
# Rows a ranked tier takes one by one when patched; more are merged by sorting the tier again.
MAX_INSERTS = 256


@dataclass(frozen=True)
class _Tier:
    """Rows of one tier: either groups of equal weight (`weights[g]`, `groups[g]`), or, with
    many distinct weights, every row sorted by weight, heaviest first (`ranked`, `ranked_weights`)."""

    weights: np.ndarray
    groups: tuple[np.ndarray, ...]
    ranked: np.ndarray | None = None
    ranked_weights: np.ndarray | None = None

    @property
    def size(self) -> int:
        return len(self.ranked) if self.ranked is not None else sum(len(g) for g in self.groups)

    @classmethod
    def build(cls, rows: np.ndarray, weights: np.ndarray) -> _Tier:
        values, inverse = np.unique(weights, return_inverse=True)
        if len(values) <= MAX_EXACT_GROUPS:
            order = np.argsort(inverse, kind="stable")
            bounds = np.searchsorted(inverse[order], np.arange(len(values) + 1))
            groups = tuple(rows[order[bounds[g] : bounds[g + 1]]] for g in range(len(values)))
            return cls(weights=values.astype(np.float64), groups=groups)
        order = np.argsort(-weights, kind="stable")
        return cls(weights=np.zeros(0), groups=(), ranked=rows[order], ranked_weights=weights[order])

    @classmethod
    def _of_rows(cls, rows: np.ndarray, weights: np.ndarray) -> _Tier:
        """`build` for rows in any order: what a full build over the catalogue gives."""
        order = np.argsort(rows, kind="stable")
        return cls.build(rows[order], weights[order])

    def rows_and_weights(self) -> tuple[np.ndarray, np.ndarray]:
        if self.ranked is not None:
            return self.ranked, self.ranked_weights
        rows = [g for g in self.groups if len(g)]
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        weights = [np.full(len(g), w) for w, g in zip(self.weights, self.groups) if len(g)]
        return np.concatenate(rows), np.concatenate(weights)

    def patched(self, gone: np.ndarray, rows: np.ndarray, weights: np.ndarray) -> _Tier:
        """This tier without the rows marked in `gone` (a boolean mask over the catalogue's rows),
        then with `rows` (ascending) of `weights` added: exactly the tier a full build would give,
        for the cost of a pass over the tier's own rows (no sort of it)."""
        if self.ranked is not None:
            keep = ~gone[self.ranked]
            ranked, ranked_weights = self.ranked[keep], self.ranked_weights[keep]
            if len(rows) > MAX_INSERTS:
                return _Tier._of_rows(np.concatenate([ranked, rows]), np.concatenate([ranked_weights, weights]))
            if len(rows):
                # Heaviest first, equal weights by row: the order of the full build's stable sort.
                order = np.lexsort((rows, -weights))
                rows, weights = rows[order], weights[order]
                descending = -ranked_weights
                at = np.empty(len(rows), dtype=np.int64)
                for i, (row, weight) in enumerate(zip(rows.tolist(), weights.tolist())):
                    low = int(np.searchsorted(descending, -weight, side="left"))
                    high = int(np.searchsorted(descending, -weight, side="right"))
                    at[i] = low + int(np.searchsorted(ranked[low:high], row))
                ranked = np.insert(ranked, at, rows)
                ranked_weights = np.insert(ranked_weights, at, weights)
            distinct = 1 + int(np.count_nonzero(np.diff(ranked_weights))) if len(ranked_weights) else 0
            if distinct <= MAX_EXACT_GROUPS:
                return _Tier._of_rows(ranked, ranked_weights)
            return _Tier(weights=np.zeros(0), groups=(), ranked=ranked, ranked_weights=ranked_weights)
        groups = {float(w): g[~gone[g]] for w, g in zip(self.weights.tolist(), self.groups)}
        for weight in np.unique(weights).tolist():
            new = rows[weights == weight]
            group = groups.get(weight)
            groups[weight] = new if group is None else np.insert(group, np.searchsorted(group, new), new)
        groups = {w: g for w, g in groups.items() if len(g)}
        if len(groups) > MAX_EXACT_GROUPS:
            all_rows = np.concatenate(list(groups.values()))
            all_weights = np.concatenate([np.full(len(g), w) for w, g in groups.items()])
            return _Tier._of_rows(all_rows, all_weights)
        values = sorted(groups)
        return _Tier(
            weights=np.asarray(values, dtype=np.float64),
            groups=tuple(groups[w].astype(np.int64, copy=False) for w in values),
        )

    def draw(self, rng: np.random.Generator, k: int) -> np.ndarray:
        """Up to `k` rows in the order sequential weighted sampling would draw them."""
        if self.ranked is not None:
            head = min(len(self.ranked), max(HEAD_FACTOR * k, MIN_HEAD))
            order = weighted_order(rng, self.ranked_weights[:head])
            return self.ranked[:head][order[:k]]
        keys: list[np.ndarray] = []
        owners: list[np.ndarray] = []
        for group, (weight, rows) in enumerate(zip(self.weights, self.groups)):
            m = len(rows)
            take = min(m, k)
            if take == 0:
                continue
            # log of the top `take` order statistics of m uniforms, largest first.
            log_uniforms = np.cumsum(np.log(rng.random(take)) / (m - np.arange(take)))
            # u^(1/w) orders like log(u)/w; a weight of 0 or less means "after every positive".
            keys.append(log_uniforms / weight if weight > 0 else log_uniforms - 1e300)
            owners.append(np.full(take, group))
        if not keys:
            return np.zeros(0, dtype=np.int64)
        all_keys = np.concatenate(keys)
        all_owners = np.concatenate(owners)
        best = np.argsort(-all_keys, kind="stable")[:k]
        chosen_owner = all_owners[best]
        result = np.empty(len(best), dtype=np.int64)
        for group in np.unique(chosen_owner):
            slots = np.flatnonzero(chosen_owner == group)
            rows = self.groups[group]
            result[slots] = rows[rng.choice(len(rows), len(slots), replace=False)]
        return result


@dataclass(frozen=True)
class WeightedTiers:
    """The available rows of a catalogue in the order retrieval draws from them: tier by tier,
    each in weighted random order (see the module docstring)."""

    tiers: tuple[_Tier, ...]

    @classmethod
    def build(cls, tier_of: np.ndarray, weights: np.ndarray) -> WeightedTiers:
        """`tier_of[i]` is row i's tier (0 first; negative: never drawn); `weights[i]` its weight
        within the tier (rows of weight <= 0 are drawn uniformly, after the positive ones)."""
        tier_of = np.asarray(tier_of)
        weights = np.nan_to_num(np.asarray(weights, dtype=np.float64), nan=0.0)
        tiers = []
        for tier in range(int(tier_of.max(initial=-1)) + 1):
            rows = np.flatnonzero(tier_of == tier)
            tiers.append(_Tier.build(rows, weights[rows]))
        return cls(tiers=tuple(tiers))

    def patched(self, size: int, rows: np.ndarray, tier_of: np.ndarray, weights: np.ndarray) -> WeightedTiers:
        """The tiers of a catalogue of `size` rows in which only `rows` changed (their tier and
        weight are now `tier_of` and `weights`; rows at or beyond the old size are new): equal
        to `build` over the whole catalogue, at a cost that grows with the tiers' rows, not with
        a sort of them, so a stock update does not re-rank a million variants."""
        rows = np.asarray(rows, dtype=np.int64)
        order = np.argsort(rows, kind="stable")
        rows, tier_of = rows[order], np.asarray(tier_of)[order]
        weights = np.nan_to_num(np.asarray(weights, dtype=np.float64), nan=0.0)[order]
        gone = np.zeros(size, dtype=bool)
        gone[rows] = True
        count = max(len(self.tiers), int(tier_of.max(initial=-1)) + 1)
        empty = _Tier(weights=np.zeros(0), groups=())
        tiers = []
        for tier in range(count):
            current = self.tiers[tier] if tier < len(self.tiers) else empty
            mine = tier_of == tier
            tiers.append(current.patched(gone, rows[mine], weights[mine]))
        # A full build ends with the highest tier any row falls in.
        while tiers and tiers[-1].size == 0:
            tiers.pop()
        return WeightedTiers(tiers=tuple(tiers))

    def draw(self, rng: np.random.Generator, n: int, exclude: Collection[int] = ()) -> np.ndarray:
        """Up to `n` rows not in `exclude` (catalogue rows), tier by tier."""
        chosen: list[np.ndarray] = []
        missing = n
        for tier in self.tiers:
            if missing <= 0:
                break
            rows = tier.draw(rng, min(tier.size, missing + len(exclude)))
            if exclude:
                rows = rows[~np.isin(rows, np.fromiter(exclude, dtype=np.int64, count=len(exclude)))]
            rows = rows[:missing]
            chosen.append(rows)
            missing -= len(rows)
        return np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.int64)
