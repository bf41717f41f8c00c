"""GRU4Rec: a session-based next-item model (a recurrent network over the items a session
visited, trained with session-parallel mini-batches and sampled negatives).

Follows Hidasi & Karatzoglou, "Recurrent Neural Networks with Top-k Gains for Session-based
Recommendations" (arXiv 1706.03847) and the training details its authors published later:
cross-entropy or BPR-max over the mini-batch's targets plus popularity-sampled items, tied
("constrained") input/output item embeddings, embedding and hidden dropout, Adagrad.

Threads: this module never changes torch's global settings. `fit` uses torch's intra-op
threads (by default one per core: 2 here). Measured on this 2-core machine, 2 threads help only
when the machine is otherwise idle; with other busy processes they made training steps up to
10x slower than 1 thread (OpenMP workers spin-wait), so a trainer sharing the machine should
call `torch.set_num_threads(1)`. A prediction server should do the same once per worker process:
one request is a few small matrix products that gain nothing from more threads.
"""

from __future__ import annotations

import itertools
import json
import math
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch
from torch import nn

from .base import (
    ArtefactError,
    NotReadyForTraining,
    PredictContext,
    PredictionModel,
    Progress,
    SessionData,
    TrainingData,
    TrainingRequirement,
    TrainingResult,
    option,
    serves_all_scoring,
)

LOSSES = ("cross-entropy", "bpr-max")
INPUTS = ("constrained", "embedding", "one-hot", "decayed")
CUTOFF = 20
STATE_FILE = "state_dict.pt"
CONFIG_FILE = "gru4rec.json"
FORMAT_VERSION = 1
# The x^k input of the original recommender: every step multiplies the bag by this factor.
DECAY = 0.9
# Negative samples are drawn this many at a time and then served n_sample at a time.
SAMPLE_CACHE_SIZE = 2_000_000
ADAGRAD_EPSILON = 1e-6


@dataclass(frozen=True)
class GRU4RecOptions:
    """The `gru4recConfig` section of the config: the option lists tried, and the schedule."""

    num_epochs_options: tuple[int, ...] = option(
        (10,), title="Number of epochs options", description="Epoch counts tried.", bounds=(1, 1_000)
    )
    batch_size_options: tuple[int, ...] = option(
        (48,), title="Batch size options", description="Mini-batch sizes tried.", bounds=(1, 100_000)
    )
    embedding_size_options: tuple[int, ...] = option(
        (0,),
        title="Embedding size options",
        description="Item embedding sizes tried: 0 ties the item embedding to the output embedding (its size is the "
        "hidden size); a positive size trains a separate input embedding of that size.",
        bounds=(0, 10_000),
    )
    hidden_size_options: tuple[int, ...] = option(
        (128,), title="Hidden size options", description="GRU hidden state sizes tried.", bounds=(1, 10_000)
    )
    learning_rate_options: tuple[float, ...] = option(
        (0.07,), title="Learning rate options", description="Learning rates tried.", bounds=(1e-9, 100.0)
    )
    incremental_trainings: int = option(
        10, title="Incremental trainings", description="Incremental trainings between two full trainings.",
        bounds=(0, 10_000),
    )
    events_multiplier: float = option(
        10.0,
        title="Events multiplier",
        description="GRU4Rec trains once product views exceed this multiple of the variant count.",
        bounds=(0.0, 1e6),
    )


@dataclass(frozen=True)
class GRU4RecParams:
    """Every combination of the option tuples is trained from fresh weights on all but the last
    `validation_fraction` of sessions (by start time), scored by next-item Recall@20 (ties:
    MRR@20) on those, and the best is refitted on all sessions. This happens even for a single
    combination, so that the reported metrics are honest held-out ones (the fit then costs about
    1.9 trainings); `validation_fraction=0` trains once and reports no metrics.

    The defaults are the configuration measured on rsc15-100k (bench/gru4rec_rsc15.py), chosen
    on its train_tr/train_valid split among the authors' published ranges with the training
    time budget of 2 minutes on 2 CPU cores: 480 and 256 units were both slower and worse there
    than 128."""

    num_epochs_options: tuple[int, ...] = (10,)
    batch_size_options: tuple[int, ...] = (48,)
    # Only used by the "embedding" and "decayed" inputs; "constrained" reuses the output
    # embedding (size = hidden_size) and "one-hot" has none.
    embedding_size_options: tuple[int, ...] = (100,)
    hidden_size_options: tuple[int, ...] = (128,)
    learning_rate_options: tuple[float, ...] = (0.07,)
    num_layers_options: tuple[int, ...] = (1,)
    loss_options: tuple[str, ...] = ("cross-entropy",)
    input_options: tuple[str, ...] = ("constrained",)
    n_sample_options: tuple[int, ...] = (2048,)
    sample_alpha_options: tuple[float, ...] = (0.2,)
    dropout_embedding_options: tuple[float, ...] = (0.0,)
    dropout_hidden_options: tuple[float, ...] = (0.2,)
    momentum_options: tuple[float, ...] = (0.0,)
    logq_options: tuple[float, ...] = (0.0,)
    bpreg_options: tuple[float, ...] = (1.0,)
    validation_fraction: float = 0.1
    seed: int = 42

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.endswith("_options") and (not isinstance(value, tuple) or not value):
                raise ValueError(f"{f.name} must be a non-empty tuple, got {value!r}")
        if not 0.0 <= self.validation_fraction < 1.0:
            raise ValueError(f"validation_fraction must be in [0, 1), got {self.validation_fraction}")
        for loss in self.loss_options:
            if loss not in LOSSES:
                raise ValueError(f"loss_options: unknown loss {loss!r}, expected one of {LOSSES}")
        for input_kind in self.input_options:
            if input_kind not in INPUTS:
                raise ValueError(f"input_options: unknown input {input_kind!r}, expected one of {INPUTS}")

    def combinations(self) -> list["GRU4RecConfig"]:
        names = [f.name for f in fields(GRU4RecConfig)]
        option_tuples = [getattr(self, f"{name}_options") for name in names]
        configs = [GRU4RecConfig(**dict(zip(names, values))).normalised() for values in itertools.product(*option_tuples)]
        # Options that do not apply to a combination (e.g. embedding_size of a tied embedding)
        # would otherwise train the same network twice.
        return list(dict.fromkeys(configs))


@dataclass(frozen=True)
class GRU4RecConfig:
    """One hyperparameter combination; this is what a trained model was built with."""

    num_epochs: int
    batch_size: int
    embedding_size: int
    hidden_size: int
    learning_rate: float
    num_layers: int = 1
    loss: str = "cross-entropy"
    input: str = "constrained"
    n_sample: int = 2048
    sample_alpha: float = 0.2
    dropout_embedding: float = 0.0
    dropout_hidden: float = 0.0
    momentum: float = 0.0
    logq: float = 0.0
    bpreg: float = 1.0

    def __post_init__(self) -> None:
        for name in ("num_epochs", "batch_size", "hidden_size", "num_layers"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.n_sample < 0 or self.embedding_size < 0:
            raise ValueError("n_sample and embedding_size must not be negative")
        if self.loss not in LOSSES or self.input not in INPUTS:
            raise ValueError(f"unknown loss {self.loss!r} or input {self.input!r}")
        if not (0 <= self.dropout_embedding < 1 and 0 <= self.dropout_hidden < 1):
            raise ValueError("dropout probabilities must be in [0, 1)")

    def normalised(self) -> "GRU4RecConfig":
        values = asdict(self)
        if self.input == "constrained":
            values["embedding_size"] = self.hidden_size
        elif self.input == "one-hot":
            values["embedding_size"] = 0
        if self.loss != "bpr-max":
            values["bpreg"] = 0.0
        if self.n_sample == 0:
            values["sample_alpha"] = 0.0
        return GRU4RecConfig(**values)


# -- the network ---------------------------------------------------------------------------


def _uniform_(tensor: torch.Tensor, fan_in: int, fan_out: int, generator: torch.Generator) -> None:
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    with torch.no_grad():
        tensor.uniform_(-bound, bound, generator=generator)


def _rows(table: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
    # Sparse gradients: a step touches only the rows of its items, and so does the optimiser
    # (the item tables are most of the parameters).
    return nn.functional.embedding(items, table, sparse=torch.is_grad_enabled())


class _Network(nn.Module):
    """Item input → GRU layer(s) → scores as dot products with output item embeddings + bias.

    The GRU cell is written out (same gate equations as torch.nn.GRUCell) so that the one-hot
    input can feed precomputed per-item input gates without a dense N-wide product."""

    def __init__(self, n_items: int, config: GRU4RecConfig, generator: torch.Generator) -> None:
        super().__init__()
        self.config = config
        hidden = config.hidden_size
        self.output_embedding = nn.Parameter(torch.empty(n_items, hidden))
        # A column, so that its rows can be looked up with sparse gradients like the embedding.
        self.output_bias = nn.Parameter(torch.zeros(n_items, 1))
        _uniform_(self.output_embedding, n_items, hidden, generator)
        if config.input == "one-hot":
            # Row i = W_ih @ onehot(i) for the first layer; its gate blocks are initialised apart.
            self.item_input_gates = nn.Parameter(torch.empty(n_items, 3 * hidden))
            for gate in self.item_input_gates.data.split(hidden, dim=1):
                _uniform_(gate, n_items, hidden, generator)
            first_input = 0
        elif config.input in ("embedding", "decayed"):
            self.item_embedding = nn.Parameter(torch.empty(n_items, config.embedding_size))
            _uniform_(self.item_embedding, n_items, config.embedding_size, generator)
            first_input = config.embedding_size
        else:
            first_input = hidden
        self.weight_ih = nn.ParameterList()
        self.weight_hh = nn.ParameterList()
        self.bias_ih = nn.ParameterList()
        self.bias_hh = nn.ParameterList()
        for layer in range(config.num_layers):
            layer_input = first_input if layer == 0 else hidden
            if layer_input:
                w_ih = torch.empty(3 * hidden, layer_input)
                for gate in w_ih.split(hidden, dim=0):
                    _uniform_(gate, layer_input, hidden, generator)
                self.weight_ih.append(nn.Parameter(w_ih))
            else:
                self.weight_ih.append(nn.Parameter(torch.empty(0)))
            w_hh = torch.empty(3 * hidden, hidden)
            for gate in w_hh.split(hidden, dim=0):
                _uniform_(gate, hidden, hidden, generator)
            self.weight_hh.append(nn.Parameter(w_hh))
            self.bias_ih.append(nn.Parameter(torch.zeros(3 * hidden)))
            self.bias_hh.append(nn.Parameter(torch.zeros(3 * hidden)))
        # Item support (click counts) drives negative sampling; kept with the weights so that
        # incremental training samples from the same distribution.
        self.register_buffer("item_support", torch.zeros(n_items))

    def output_rows(self, items: torch.Tensor) -> torch.Tensor:
        return _rows(self.output_embedding, items)

    def output_bias_rows(self, items: torch.Tensor) -> torch.Tensor:
        return _rows(self.output_bias, items).squeeze(1)

    def all_scores(self, output: torch.Tensor) -> torch.Tensor:
        """Scores of every item for each row of the top layer's output."""
        return torch.addmm(self.output_bias.squeeze(1), output, self.output_embedding.t())

    @property
    def n_items(self) -> int:
        return self.output_embedding.shape[0]

    def first_layer_gates(self, items: torch.Tensor, bag: torch.Tensor | None, dropout: "_Dropout") -> torch.Tensor:
        """Input gate pre-activations of the first layer for a batch of items (or item bags)."""
        kind = self.config.input
        if kind == "one-hot":
            return _rows(self.item_input_gates, items) + self.bias_ih[0]
        if kind == "decayed":
            x = bag @ self.item_embedding
        elif kind == "embedding":
            x = _rows(self.item_embedding, items)
        else:
            x = self.output_rows(items)
        x = dropout(x, self.config.dropout_embedding)
        return torch.addmm(self.bias_ih[0], x, self.weight_ih[0].t())

    def step(self, gates: torch.Tensor, hidden: list[torch.Tensor], dropout: "_Dropout") -> tuple[torch.Tensor, list[torch.Tensor]]:
        """One time step of every layer; returns the (dropped-out) top output and new states."""
        size = self.config.hidden_size
        new_hidden = []
        output = None
        for layer, h in enumerate(hidden):
            if layer > 0:
                gates = torch.addmm(self.bias_ih[layer], output, self.weight_ih[layer].t())
            recurrent = torch.addmm(self.bias_hh[layer], h, self.weight_hh[layer].t())
            reset_update = torch.sigmoid(gates[:, : 2 * size] + recurrent[:, : 2 * size])
            reset, update = reset_update[:, :size], reset_update[:, size:]
            candidate = torch.tanh(gates[:, 2 * size :] + reset * recurrent[:, 2 * size :])
            h = candidate + update * (h - candidate)
            # As in the authors' implementation the dropped-out output is also the state carried
            # to the next step (a stronger regulariser than dropping only the output).
            output = dropout(h, self.config.dropout_hidden)
            new_hidden.append(output)
        return output, new_hidden

    def initial_state(self, batch_size: int) -> list[torch.Tensor]:
        return [torch.zeros(batch_size, self.config.hidden_size) for _ in range(self.config.num_layers)]

    def extend_items(self, n_new: int, generator: torch.Generator) -> None:
        """Append rows for `n_new` items unseen at training time (fresh random init)."""
        if n_new <= 0:
            return
        hidden = self.config.hidden_size
        n_total = self.n_items + n_new

        def grown(old: torch.Tensor, new_rows: torch.Tensor) -> nn.Parameter:
            return nn.Parameter(torch.cat([old.detach(), new_rows], dim=0))

        rows = torch.empty(n_new, hidden)
        _uniform_(rows, n_total, hidden, generator)
        self.output_embedding = grown(self.output_embedding, rows)
        self.output_bias = grown(self.output_bias, torch.zeros(n_new, 1))
        if self.config.input == "one-hot":
            rows = torch.empty(n_new, 3 * hidden)
            for gate in rows.split(hidden, dim=1):
                _uniform_(gate, n_total, hidden, generator)
            self.item_input_gates = grown(self.item_input_gates, rows)
        elif self.config.input in ("embedding", "decayed"):
            rows = torch.empty(n_new, self.config.embedding_size)
            _uniform_(rows, n_total, self.config.embedding_size, generator)
            self.item_embedding = grown(self.item_embedding, rows)
        self.item_support = torch.cat([self.item_support, torch.zeros(n_new)])


class _Dropout:
    """Inverted dropout drawing from our own generator, so training is reproducible without
    touching torch's global seed. Disabled at prediction time."""

    def __init__(self, generator: torch.Generator | None) -> None:
        self.generator = generator

    def __call__(self, x: torch.Tensor, p: float) -> torch.Tensor:
        if self.generator is None or p <= 0.0:
            return x
        keep = torch.rand(x.shape, generator=self.generator) >= p
        return x * keep / (1.0 - p)


_NO_DROPOUT = _Dropout(None)


class _NegativeSampler:
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


# -- training ------------------------------------------------------------------------------


class _ProgressTracker:
    """Reports (message, fraction) to the callback about every 1 % of the work, or draws a
    tqdm bar on stderr when there is no callback."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.progress = progress
        self.message = ""
        self.last_reported = -1.0
        self.bar = None
        if progress is None:
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, file=sys.stderr, unit="ex", desc="gru4rec", leave=False)

    def set_message(self, message: str) -> None:
        self.message = message
        if self.bar is not None:
            self.bar.set_description(message)
        self.report(force=True)

    def advance(self, count: int) -> None:
        self.done += count
        if self.bar is not None:
            self.bar.update(count)
        self.report()

    def report(self, force: bool = False) -> None:
        fraction = min(self.done / self.total, 1.0)
        if self.progress is not None and (force or fraction - self.last_reported >= 0.01):
            self.last_reported = fraction
            self.progress(self.message, fraction)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.progress is not None:
            self.progress("done", 1.0)


@dataclass
class _Sessions:
    """Sessions concatenated in time order: session k is items[offsets[k]:offsets[k + 1]]."""

    items: np.ndarray
    offsets: np.ndarray

    @classmethod
    def build(cls, sessions: Sequence[np.ndarray], min_length: int = 2) -> "_Sessions":
        kept = [np.asarray(s, dtype=np.int64) for s in sessions if len(s) >= min_length]
        lengths = np.array([len(s) for s in kept], dtype=np.int64)
        offsets = np.zeros(len(kept) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        items = np.concatenate(kept) if kept else np.zeros(0, dtype=np.int64)
        return cls(items=items, offsets=offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def n_examples(self) -> int:
        return len(self.items) - len(self)


def _loss(
    net: _Network, output: torch.Tensor, targets: torch.Tensor, sampler: _NegativeSampler | None, log_support: torch.Tensor
) -> torch.Tensor:
    """Cross-entropy or BPR-max of each target against the other targets of the mini-batch
    and the sampled items."""
    config = net.config
    if sampler is not None:
        out_items = torch.cat([targets, sampler.next()])
    else:
        out_items = targets
    scores = torch.addmm(net.output_bias_rows(out_items), output, net.output_rows(out_items).t())
    batch = len(targets)
    diagonal = torch.arange(batch)
    if config.logq > 0:
        # Correct for how often each column is a negative: targets occur ∝ support, samples
        # ∝ support^alpha.
        correction = torch.cat([log_support[out_items[:batch]], config.sample_alpha * log_support[out_items[batch:]]])
        scores = scores - config.logq * correction
    # As in the authors' implementation, a copy of the target among the other columns (another
    # row's target or a sample) counts as a negative; masking it was not evaluated separately.
    if config.loss == "cross-entropy":
        return -torch.log_softmax(scores, dim=1)[diagonal, diagonal].sum()
    if scores.shape[1] < 2:
        return scores.sum() * 0.0  # a lone session without samples has no negative to rank
    is_target = torch.eye(batch, scores.shape[1], dtype=torch.bool)
    weights = torch.softmax(scores.masked_fill(is_target, -torch.inf), dim=1)
    positive = scores[diagonal, diagonal].unsqueeze(1)
    ranking = torch.log((weights * torch.sigmoid(positive - scores)).sum(dim=1) + 1e-24)
    regulariser = (weights * scores.square()).sum(dim=1)
    return (-ranking + config.bpreg * regulariser).sum()


class _IndexedAdagrad:
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


def _train(
    net: _Network,
    sessions: _Sessions,
    epochs: int,
    generator: torch.Generator,
    tracker: _ProgressTracker,
    label: str,
) -> None:
    """Session-parallel mini-batch training: `batch_size` sessions side by side in time order,
    one click per step; a finished session's slot takes the next session and its hidden state
    restarts from zero; when no session is left the batch shrinks, so every click is trained on.
    Gradients flow through one time step (the state is detached after each step)."""
    config = net.config
    n_sessions = len(sessions)
    if n_sessions == 0:
        return
    full_batch_size = min(config.batch_size, n_sessions)
    optimiser = _IndexedAdagrad(list(net.parameters()), config.learning_rate, config.momentum)
    dropout = _Dropout(generator)
    sampler = None
    if config.n_sample > 0:
        sampler = _NegativeSampler(net.item_support, config.n_sample, config.sample_alpha, generator)
    log_support = torch.log(net.item_support.clamp(min=1.0) / net.item_support.clamp(min=1.0).sum())
    items = torch.from_numpy(sessions.items)
    offsets = sessions.offsets
    net.train()
    for epoch in range(epochs):
        tracker.set_message(f"{label}: epoch {epoch + 1}/{epochs}")
        batch_size = full_batch_size
        slots = np.arange(batch_size)
        start = offsets[slots].copy()
        end = offsets[slots + 1].copy()
        next_session = batch_size
        hidden = net.initial_state(batch_size)
        bag = torch.zeros(batch_size, net.n_items) if config.input == "decayed" else None
        trained = 0
        while True:
            steps = int((end - start).min()) - 1
            for offset in range(steps):
                position = torch.from_numpy(start + offset)
                inputs, targets = items[position], items[position + 1]
                if bag is not None:
                    bag.mul_(DECAY)
                    bag[torch.arange(batch_size), inputs] = 1.0
                    bag_input = bag / bag.sum(dim=1, keepdim=True)
                else:
                    bag_input = None
                gates = net.first_layer_gates(inputs, bag_input, dropout)
                output, hidden = net.step(gates, hidden, dropout)
                loss = _loss(net, output, targets, sampler, log_support)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                hidden = [h.detach() for h in hidden]
                tracker.advance(batch_size)
            start += steps
            trained += steps * batch_size
            finished = np.flatnonzero(end - start <= 1)
            n_refill = min(len(finished), n_sessions - next_session)
            refill, drop = finished[:n_refill], finished[n_refill:]
            new_sessions = np.arange(next_session, next_session + n_refill)
            next_session += n_refill
            start[refill] = offsets[new_sessions]
            end[refill] = offsets[new_sessions + 1]
            reset = torch.from_numpy(refill)
            for h in hidden:
                h[reset] = 0.0
            if bag is not None:
                bag[reset] = 0.0
            if len(drop):
                # No sessions left for these slots: the batch shrinks until every session is done.
                keep = np.setdiff1d(np.arange(len(start)), drop)
                if len(keep) == 0:
                    break
                start, end = start[keep], end[keep]
                keep_t = torch.from_numpy(keep)
                hidden = [h[keep_t] for h in hidden]
                if bag is not None:
                    bag = bag[keep_t]
                batch_size = len(keep)
        assert trained == sessions.n_examples, (trained, sessions.n_examples)
    net.eval()


def _next_item_scores(
    net: _Network, sessions: _Sessions, batch_size: int = 256
) -> Iterator[tuple[torch.Tensor, torch.Tensor, np.ndarray, int]]:
    """For blocks of sessions and each step t: scores of all items as the click after
    position t, the true next items, the sessions concerned and t."""
    net.eval()
    lengths = np.diff(sessions.offsets)
    for first in range(0, len(sessions), batch_size):
        block = np.arange(first, min(first + batch_size, len(sessions)))
        block_lengths = lengths[block]
        longest = int(block_lengths.max())
        padded = np.zeros((len(block), longest), dtype=np.int64)
        for row, k in enumerate(block):
            padded[row, : block_lengths[row]] = sessions.items[sessions.offsets[k] : sessions.offsets[k + 1]]
        padded_t = torch.from_numpy(padded)
        hidden = net.initial_state(len(block))
        bag = torch.zeros(len(block), net.n_items) if net.config.input == "decayed" else None
        for t in range(longest - 1):
            inputs = padded_t[:, t]
            with torch.inference_mode():
                if bag is not None:
                    bag.mul_(DECAY)
                    bag[torch.arange(len(block)), inputs] = 1.0
                bag_input = None if bag is None else bag / bag.sum(1, keepdim=True)
                gates = net.first_layer_gates(inputs, bag_input, _NO_DROPOUT)
                output, hidden = net.step(gates, hidden, _NO_DROPOUT)
                active = np.flatnonzero(block_lengths > t + 1)
                active_t = torch.from_numpy(active)
                scores = net.all_scores(output[active_t])
            yield scores, padded_t[active_t, t + 1], block[active], t


def _next_item_ranks(net: _Network, sessions: _Sessions, batch_size: int = 256) -> np.ndarray:
    """Rank (1 + number of items scored strictly higher) of every next click of every
    session, given the clicks before it; ranked against all items; in session order, then
    click order."""
    ranks = np.zeros(sessions.n_examples, dtype=np.int64)
    # Event e of session k, step t sits at offsets[k] - k + t (sessions have len - 1 events).
    first_event = sessions.offsets[:-1] - np.arange(len(sessions))
    for scores, targets, session_numbers, t in _next_item_scores(net, sessions, batch_size):
        target_scores = scores.gather(1, targets.unsqueeze(1))
        ranks[first_event[session_numbers] + t] = ((scores > target_scores).sum(dim=1) + 1).numpy()
    return ranks


def _metrics(ranks: np.ndarray, cutoff: int = CUTOFF) -> dict[str, float]:
    if len(ranks) == 0:
        return {}
    hits = ranks <= cutoff
    return {
        f"recall@{cutoff}": float(hits.mean()),
        f"mrr@{cutoff}": float(np.where(hits, 1.0 / ranks, 0.0).mean()),
        "n_events": int(len(ranks)),
    }


# -- the model -----------------------------------------------------------------------------


class GRU4RecModel(PredictionModel):
    name = "gru4rec"
    title = "GRU4Rec"
    description = (
        "Recurrent neural network over the session's visited products (session-parallel "
        "training with sampled negatives); scores candidates as the likely next visit."
    )
    supports = serves_all_scoring()
    needs_training = True
    colour = "#8b5cf6"
    options = GRU4RecOptions
    training_data = TrainingData.SESSIONS
    training_requirement = TrainingRequirement(counted="views", multiplier_option="events_multiplier")
    supports_incremental = True

    @classmethod
    def params_from_options(cls, options: GRU4RecOptions) -> GRU4RecParams:
        # An embedding size of 0 means the tied ("constrained") input; a positive one a separate
        # input embedding of that size. Combinations that do not apply are merged by the params.
        sizes = options.embedding_size_options
        return GRU4RecParams(
            num_epochs_options=options.num_epochs_options,
            batch_size_options=options.batch_size_options,
            embedding_size_options=tuple(size for size in sizes if size > 0) or (1,),
            hidden_size_options=options.hidden_size_options,
            learning_rate_options=options.learning_rate_options,
            input_options=tuple(dict.fromkeys("constrained" if size == 0 else "embedding" for size in sizes)),
        )

    def __init__(self, skus: Sequence[str], network: _Network) -> None:
        self.skus = list(skus)
        self.sku_index = {sku: i for i, sku in enumerate(self.skus)}
        self.network = network
        self.network.eval()

    @property
    def config(self) -> GRU4RecConfig:
        return self.network.config

    # -- training -------------------------------------------------------------------------
    @classmethod
    def fit(
        cls, data: SessionData, params: GRU4RecParams | None = None, progress: Progress | None = None
    ) -> tuple["GRU4RecModel", TrainingResult]:
        params = params or GRU4RecParams()
        _check_data(data)
        ordered = _time_ordered(data)
        every = _Sessions.build(ordered)
        if every.n_examples == 0:
            raise NotReadyForTraining(
                "GRU4Rec needs at least one session with two or more visited products; "
                f"got {len(data.sessions)} sessions and none that long"
            )
        support = np.bincount(np.concatenate([np.asarray(s, dtype=np.int64) for s in ordered]), minlength=len(data.skus))
        combinations = params.combinations()

        n_validation = math.ceil(len(ordered) * params.validation_fraction) if params.validation_fraction > 0 else 0
        train_part = _Sessions.build(ordered[: len(ordered) - n_validation])
        validation_part = _Sessions.build(ordered[len(ordered) - n_validation :])
        can_validate = n_validation > 0 and train_part.n_examples > 0 and validation_part.n_examples > 0
        validation_support = np.bincount(
            np.concatenate([np.zeros(0, dtype=np.int64)] + [np.asarray(s, dtype=np.int64) for s in ordered[: len(ordered) - n_validation]]),
            minlength=len(data.skus),
        )

        work = sum(c.num_epochs for c in combinations) * train_part.n_examples if can_validate else 0
        tracker = _ProgressTracker(work + max(c.num_epochs for c in combinations) * every.n_examples, progress)
        result = TrainingResult()
        chosen = combinations[0]
        try:
            if can_validate:
                best_key = None
                for number, config in enumerate(combinations, start=1):
                    started = time.perf_counter()
                    net = _new_network(len(data.skus), config, validation_support, params.seed)
                    _train(net, train_part, config.num_epochs, _generator(params.seed + 1), tracker, f"combination {number}/{len(combinations)}")
                    metrics = _metrics(_next_item_ranks(net, validation_part))
                    metrics["train_seconds"] = round(time.perf_counter() - started, 2)
                    result.steps.append((asdict(config), metrics))
                    key = (metrics[f"recall@{CUTOFF}"], metrics[f"mrr@{CUTOFF}"])
                    if best_key is None or key > best_key:
                        best_key, chosen, result.metrics = key, config, dict(metrics)
            else:
                reason = "not validated: no validation split requested" if n_validation == 0 else (
                    "not validated: too few sessions for a validation split"
                )
                result.metrics = {"note": reason}
                result.steps.append((asdict(chosen), {"note": reason}))
            # Every fit starts from fresh weights; the refit sees all sessions.
            started = time.perf_counter()
            tracker.total = tracker.done + chosen.num_epochs * every.n_examples
            net = _new_network(len(data.skus), chosen, support, params.seed)
            _train(net, every, chosen.num_epochs, _generator(params.seed + 1), tracker, "final fit on all sessions")
            result.metrics["refit_seconds"] = round(time.perf_counter() - started, 2)
        finally:
            tracker.close()
        result.hyperparameters = asdict(chosen)
        return cls(data.skus, net), result

    def fit_incremental(
        self, data_new_sessions: SessionData, epochs: int = 1, progress: Progress | None = None
    ) -> TrainingResult:
        """Continue training the current weights on new sessions.

        SKUs unknown to the model get new rows in the item tables (random init, learned from
        these sessions) and become scorable. The clicks are added to the item support that
        negative sampling follows. The optimiser starts afresh (Adagrad accumulators are not
        part of the artefact), so the first steps are as large as at the start of a fit; keep
        `epochs` small and refit fully now and then."""
        _check_data(data_new_sessions)
        new_skus = [sku for sku in dict.fromkeys(data_new_sessions.skus) if sku not in self.sku_index]
        generator = _generator(len(self.skus) + len(new_skus))
        self.network.extend_items(len(new_skus), generator)
        for sku in new_skus:
            self.sku_index[sku] = len(self.skus)
            self.skus.append(sku)
        mapping = np.array([self.sku_index[sku] for sku in data_new_sessions.skus], dtype=np.int64)
        ordered = [mapping[np.asarray(s, dtype=np.int64)] for s in _time_ordered(data_new_sessions)]
        sessions = _Sessions.build(ordered)
        if ordered and sum(len(s) for s in ordered):
            clicks = torch.from_numpy(np.bincount(np.concatenate(ordered), minlength=len(self.skus)).astype(np.float32))
            self.network.item_support += clicks
        tracker = _ProgressTracker(epochs * sessions.n_examples, progress)
        started = time.perf_counter()
        try:
            _train(self.network, sessions, epochs, generator, tracker, "incremental training")
        finally:
            tracker.close()
        return TrainingResult(
            hyperparameters=asdict(self.config),
            metrics={
                "train_seconds": round(time.perf_counter() - started, 2),
                "n_examples": sessions.n_examples,
                "n_new_skus": len(new_skus),
            },
        )

    # -- artefacts ------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        folder = Path(folder)
        torch.save(self.network.state_dict(), folder / STATE_FILE)
        description = {"format_version": FORMAT_VERSION, "hyperparameters": asdict(self.config), "skus": self.skus}
        (folder / CONFIG_FILE).write_text(json.dumps(description), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> "GRU4RecModel":
        folder = Path(folder)
        try:
            description = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError as error:
            raise ArtefactError(f"GRU4Rec artefact {folder}: {CONFIG_FILE} is missing") from error
        except (OSError, ValueError) as error:
            raise ArtefactError(f"GRU4Rec artefact {folder}: {CONFIG_FILE} is unreadable: {error}") from error
        try:
            if description.get("format_version") != FORMAT_VERSION:
                raise ValueError(f"format_version {description.get('format_version')!r}, expected {FORMAT_VERSION}")
            config = GRU4RecConfig(**description["hyperparameters"])
            skus = [str(sku) for sku in description["skus"]]
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            raise ArtefactError(f"GRU4Rec artefact {folder}: {CONFIG_FILE} is invalid: {error}") from error
        try:
            state = torch.load(folder / STATE_FILE, map_location="cpu", weights_only=True)
        except FileNotFoundError as error:
            raise ArtefactError(f"GRU4Rec artefact {folder}: {STATE_FILE} is missing") from error
        except Exception as error:  # torch raises several unrelated types for a damaged file
            raise ArtefactError(f"GRU4Rec artefact {folder}: {STATE_FILE} is corrupt: {error}") from error
        network = _Network(len(skus), config, _generator(0))
        try:
            network.load_state_dict(state)
        except (RuntimeError, TypeError, AttributeError) as error:
            raise ArtefactError(f"GRU4Rec artefact {folder}: weights do not match {CONFIG_FILE}: {error}") from error
        return cls(skus, network)

    # -- prediction -----------------------------------------------------------------------
    def history_indices(self, session_history: Sequence[str]) -> list[int]:
        """The known SKUs of a history as item indices, in order; unknown ones are skipped."""
        index = self.sku_index
        return [index[sku] for sku in session_history if sku in index]

    def next_item_ranks(self, sessions: Sequence[np.ndarray], batch_size: int = 256) -> np.ndarray:
        """Rank among all items (1 + number scored strictly higher) of every click after the
        first of every session (item indices), predicted from the clicks before it; for
        offline evaluation, in session order then click order."""
        return _next_item_ranks(self.network, _Sessions.build(sessions), batch_size)

    def next_item_scores(
        self, sessions: Sequence[np.ndarray], batch_size: int = 256
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(scores of all items, true next items) for every click after the first of every
        session, in blocks: the score matrices the shared evaluation functions take."""
        for scores, targets, _, _ in _next_item_scores(self.network, _Sessions.build(sessions), batch_size):
            yield scores.numpy(), targets.numpy()

    def is_ready(self, context: PredictContext) -> bool:
        return any(sku in self.sku_index for sku in context.session_history)

    @torch.inference_mode()
    def score_all(self, history_indices: Sequence[int]) -> np.ndarray:
        """Scores of every item (aligned with `skus`) as the next visit after the history.
        An empty history scores from the zero state, i.e. by the output bias alone."""
        net = self.network
        hidden = net.initial_state(1)
        if len(history_indices):
            items = torch.as_tensor(np.asarray(history_indices, dtype=np.int64))
            if net.config.input == "decayed":
                bags = _decayed_bags(items, net.n_items)
                gates_per_step = net.first_layer_gates(items, bags, _NO_DROPOUT)
            else:
                # The first layer's input gates of all steps in one product.
                gates_per_step = net.first_layer_gates(items, None, _NO_DROPOUT)
            for t in range(len(items)):
                output, hidden = net.step(gates_per_step[t : t + 1], hidden, _NO_DROPOUT)
        else:
            output = hidden[-1]
        return net.all_scores(output)[0].numpy()

    def score(self, context: PredictContext, candidates: Sequence[str]) -> list[tuple[str, float]]:
        scores = self.score_all(self.history_indices(context.session_history))
        index = self.sku_index
        items = np.fromiter((index.get(sku, -1) for sku in candidates), dtype=np.int64, count=len(candidates))
        candidate_scores = np.where(items >= 0, scores[items].astype(np.float64), -np.inf)
        # A stable sort keeps the given order among equal scores, so the unknown candidates
        # (-inf) come last in the order they were given.
        order = np.argsort(-candidate_scores, kind="stable")
        return list(zip([candidates[i] for i in order.tolist()], candidate_scores[order].tolist()))


# -- helpers -------------------------------------------------------------------------------


def _generator(seed: int) -> torch.Generator:
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator


def _new_network(n_items: int, config: GRU4RecConfig, support: np.ndarray, seed: int) -> _Network:
    net = _Network(n_items, config, _generator(seed))
    net.item_support.copy_(torch.from_numpy(support.astype(np.float32)))
    return net


def _decayed_bags(items: torch.Tensor, n_items: int) -> torch.Tensor:
    """Row t = the normalised x^k bag after visiting items[: t + 1]."""
    bags = torch.zeros(len(items), n_items)
    bag = torch.zeros(n_items)
    for t, item in enumerate(items.tolist()):
        bag.mul_(DECAY)
        bag[item] = 1.0
        bags[t] = bag / bag.sum()
    return bags


def _check_data(data: SessionData) -> None:
    if len(set(data.skus)) != len(data.skus):
        raise ValueError("SessionData.skus must not contain duplicates")
    n_items = len(data.skus)
    for k, session in enumerate(data.sessions):
        session = np.asarray(session)
        if session.size and (session.min() < 0 or session.max() >= n_items):
            raise ValueError(f"SessionData.sessions[{k}] refers to an item outside skus (0..{n_items - 1})")
    if data.session_start_times is not None and len(data.session_start_times) != len(data.sessions):
        raise ValueError("SessionData.session_start_times must have one entry per session")


def _time_ordered(data: SessionData) -> list[np.ndarray]:
    if data.session_start_times is None:
        return list(data.sessions)
    order = np.argsort(np.asarray(data.session_start_times), kind="stable")
    return [data.sessions[k] for k in order]
