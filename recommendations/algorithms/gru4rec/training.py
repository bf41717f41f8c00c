"""Session-parallel mini-batch training: the sessions' layout, the losses (cross-entropy and
BPR-max over the batch's targets plus sampled negatives), the epochs loop and its progress."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..base import Progress, SessionData
from .network import Dropout, Network
from .optimiser import IndexedAdagrad
from .params import DECAY
from .sampler import NegativeSampler


class ProgressTracker:
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
class Sessions:
    """Sessions concatenated in time order: session k is items[offsets[k]:offsets[k + 1]]."""

    items: np.ndarray
    offsets: np.ndarray

    @classmethod
    def build(cls, sessions: Sequence[np.ndarray], min_length: int = 2) -> Sessions:
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


def batch_loss(
    net: Network,
    output: torch.Tensor,
    targets: torch.Tensor,
    sampler: NegativeSampler | None,
    log_support: torch.Tensor,
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


def train_epochs(
    net: Network,
    sessions: Sessions,
    epochs: int,
    generator: torch.Generator,
    tracker: ProgressTracker,
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
    optimiser = IndexedAdagrad(list(net.parameters()), config.learning_rate, config.momentum)
    dropout = Dropout(generator)
    sampler = None
    if config.n_sample > 0:
        sampler = NegativeSampler(net.item_support, config.n_sample, config.sample_alpha, generator)
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
                loss = batch_loss(net, output, targets, sampler, log_support)
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


def check_data(data: SessionData) -> None:
    if len(set(data.skus)) != len(data.skus):
        raise ValueError("SessionData.skus must not contain duplicates")
    n_items = len(data.skus)
    for k, session in enumerate(data.sessions):
        session = np.asarray(session)
        if session.size and (session.min() < 0 or session.max() >= n_items):
            raise ValueError(f"SessionData.sessions[{k}] refers to an item outside skus (0..{n_items - 1})")
    if data.session_start_times is not None and len(data.session_start_times) != len(data.sessions):
        raise ValueError("SessionData.session_start_times must have one entry per session")


def time_ordered(data: SessionData) -> list[np.ndarray]:
    if data.session_start_times is None:
        return list(data.sessions)
    order = np.argsort(np.asarray(data.session_start_times), kind="stable")
    return [data.sessions[k] for k in order]
