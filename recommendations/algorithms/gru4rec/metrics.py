"""Next-item scores and ranks of held-out sessions, and Recall/MRR at the cutoff."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from .network import NO_DROPOUT, Network
from .params import CUTOFF, DECAY
from .training import Sessions


def next_item_scores_of(
    net: Network, sessions: Sessions, batch_size: int = 256
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
                gates = net.first_layer_gates(inputs, bag_input, NO_DROPOUT)
                output, hidden = net.step(gates, hidden, NO_DROPOUT)
                active = np.flatnonzero(block_lengths > t + 1)
                active_t = torch.from_numpy(active)
                scores = net.all_scores(output[active_t])
            yield scores, padded_t[active_t, t + 1], block[active], t


def next_item_ranks_of(net: Network, sessions: Sessions, batch_size: int = 256) -> np.ndarray:
    """Rank (1 + number of items scored strictly higher) of every next click of every
    session, given the clicks before it; ranked against all items; in session order, then
    click order."""
    ranks = np.zeros(sessions.n_examples, dtype=np.int64)
    # Event e of session k, step t sits at offsets[k] - k + t (sessions have len - 1 events).
    first_event = sessions.offsets[:-1] - np.arange(len(sessions))
    for scores, targets, session_numbers, t in next_item_scores_of(net, sessions, batch_size):
        target_scores = scores.gather(1, targets.unsqueeze(1))
        ranks[first_event[session_numbers] + t] = ((scores > target_scores).sum(dim=1) + 1).numpy()
    return ranks


def ranking_metrics(ranks: np.ndarray, cutoff: int = CUTOFF) -> dict[str, float]:
    if len(ranks) == 0:
        return {}
    hits = ranks <= cutoff
    return {
        f"recall@{cutoff}": float(hits.mean()),
        f"mrr@{cutoff}": float(np.where(hits, 1.0 / ranks, 0.0).mean()),
        "n_events": int(len(ranks)),
    }
