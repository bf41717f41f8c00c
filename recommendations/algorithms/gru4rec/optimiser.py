"""Adagrad that updates only the item rows a mini-batch touched (the item tables are large)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .params import ADAGRAD_EPSILON


class IndexedAdagrad:
    """Adagrad (optionally with momentum) whose sparse-gradient parameters update only the
    rows present in the gradient, accumulators and momentum included, as GRU4Rec's authors do;
    torch's own sparse Adagrad spends most of a step building sparse tensors."""

    def __init__(self, parameters: Sequence[nn.Parameter], learning_rate: float, momentum: float) -> None:
        self.parameters = [p for p in parameters if p.numel()]
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.accumulators = [torch.zeros_like(p) for p in self.parameters]
        self.velocities = [torch.zeros_like(p) for p in self.parameters] if momentum > 0 else None

    def zero_grad(self) -> None:
        for p in self.parameters:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        for k, p in enumerate(self.parameters):
            grad = p.grad
            if grad is None:
                continue
            accumulator = self.accumulators[k]
            if grad.is_sparse:
                grad = grad.coalesce()
                rows, values = grad.indices()[0], grad.values()
                squares = accumulator.index_select(0, rows).addcmul_(values, values)
                accumulator.index_copy_(0, rows, squares)
                update = values.div_(squares.add_(ADAGRAD_EPSILON).sqrt_()).mul_(self.learning_rate)
                if self.velocities is not None:
                    update = self.velocities[k].index_select(0, rows).mul_(self.momentum).add_(update)
                    self.velocities[k].index_copy_(0, rows, update)
                p.index_add_(0, rows, update, alpha=-1.0)
            else:
                accumulator.addcmul_(grad, grad)
                update = grad / accumulator.add(ADAGRAD_EPSILON).sqrt_() * self.learning_rate
                if self.velocities is not None:
                    update = self.velocities[k].mul_(self.momentum).add_(update)
                p.sub_(update)
