"""The network: item embeddings (or one-hot or decayed-bag inputs), GRU layers and the output
item embedding with its bias; dropout that draws from its own generator."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from .params import DECAY, GRU4RecConfig


def _uniform_(tensor: torch.Tensor, fan_in: int, fan_out: int, generator: torch.Generator) -> None:
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    with torch.no_grad():
        tensor.uniform_(-bound, bound, generator=generator)


def _rows(table: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
    # Sparse gradients: a step touches only the rows of its items, and so does the optimiser
    # (the item tables are most of the parameters).
    return nn.functional.embedding(items, table, sparse=torch.is_grad_enabled())


class Network(nn.Module):
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

    def first_layer_gates(self, items: torch.Tensor, bag: torch.Tensor | None, dropout: Dropout) -> torch.Tensor:
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

    def step(
        self, gates: torch.Tensor, hidden: list[torch.Tensor], dropout: Dropout
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
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


class Dropout:
    """Inverted dropout drawing from our own generator, so training is reproducible without
    touching torch's global seed. Disabled at prediction time."""

    def __init__(self, generator: torch.Generator | None) -> None:
        self.generator = generator

    def __call__(self, x: torch.Tensor, p: float) -> torch.Tensor:
        if self.generator is None or p <= 0.0:
            return x
        keep = torch.rand(x.shape, generator=self.generator) >= p
        return x * keep / (1.0 - p)


NO_DROPOUT = Dropout(None)


def seeded_generator(seed: int) -> torch.Generator:
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator


def new_network(n_items: int, config: GRU4RecConfig, support: np.ndarray, seed: int) -> Network:
    net = Network(n_items, config, seeded_generator(seed))
    net.item_support.copy_(torch.from_numpy(support.astype(np.float32)))
    return net


def decayed_bags(items: torch.Tensor, n_items: int) -> torch.Tensor:
    """Row t = the normalised x^k bag after visiting items[: t + 1]."""
    bags = torch.zeros(len(items), n_items)
    bag = torch.zeros(n_items)
    for t, item in enumerate(items.tolist()):
        bag.mul_(DECAY)
        bag[item] = 1.0
        bags[t] = bag / bag.sum()
    return bags
