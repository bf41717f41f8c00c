"""Popularity-sampled negative items, drawn in large batches."""

from __future__ import annotations

import torch

from .params import SAMPLE_CACHE_SIZE


class NegativeSampler:
    """Items drawn with probability ∝ support^alpha, generated in large batches because one
    multinomial call per mini-batch dominates the step time otherwise."""

    def __init__(self, support: torch.Tensor, n_sample: int, alpha: float, generator: torch.Generator) -> None:
        self.n_sample = n_sample
        self.generator = generator
        weights = support.clamp(min=0) ** alpha
        weights[support <= 0] = 0.0
        self.weights = weights / weights.sum()
        self.batches_per_refill = max(1, SAMPLE_CACHE_SIZE // max(n_sample, 1))
        self.cache = torch.empty(0, n_sample, dtype=torch.long)
        self.position = 0

    def next(self) -> torch.Tensor:
        if self.position >= len(self.cache):
            draws = torch.multinomial(
                self.weights, self.batches_per_refill * self.n_sample, replacement=True, generator=self.generator
            )
            self.cache = draws.view(self.batches_per_refill, self.n_sample)
            self.position = 0
        sample = self.cache[self.position]
        self.position += 1
        return sample
