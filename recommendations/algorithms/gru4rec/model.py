"""`GRU4RecModel`: fitting (a validation of every option combination, then a refit), incremental
training, artefacts and prediction."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from ..base import (
    ArtefactError,
    Catalogue,
    NotReadyForTraining,
    PredictContext,
    PredictionModel,
    Progress,
    SessionData,
    TrainingData,
    TrainingRequirement,
    TrainingResult,
    serves_all_retrieval,
    serves_all_scoring,
)
from ..ranking import CatalogueRows, catalogue_top_n
from .metrics import next_item_ranks_of, next_item_scores_of, ranking_metrics
from .network import NO_DROPOUT, Network, decayed_bags, new_network, seeded_generator
from .params import CONFIG_FILE, CUTOFF, FORMAT_VERSION, STATE_FILE, GRU4RecConfig, GRU4RecOptions, GRU4RecParams
from .training import ProgressTracker, Sessions, check_data, time_ordered, train_epochs


class GRU4RecModel(PredictionModel):
    name = "gru4rec"
    title = "GRU4Rec"
    description = (
        "Recurrent neural network over the session's visited products (session-parallel "
        "training with sampled negatives); scores candidates as the likely next visit."
    )
    supports = serves_all_retrieval() | serves_all_scoring()
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

    def __init__(self, skus: Sequence[str], network: Network) -> None:
        self.skus = list(skus)
        self.sku_index = {sku: i for i, sku in enumerate(self.skus)}
        self.network = network
        self.network.eval()
        self._catalogue_rows = CatalogueRows(self.sku_index)

    @property
    def config(self) -> GRU4RecConfig:
        return self.network.config

    # -- training -------------------------------------------------------------------------
    @classmethod
    def fit(
        cls, data: SessionData, params: GRU4RecParams | None = None, progress: Progress | None = None
    ) -> tuple[GRU4RecModel, TrainingResult]:
        params = params or GRU4RecParams()
        check_data(data)
        ordered = time_ordered(data)
        every = Sessions.build(ordered)
        if every.n_examples == 0:
            raise NotReadyForTraining(
                "GRU4Rec needs at least one session with two or more visited products; "
                f"got {len(data.sessions)} sessions and none that long"
            )
        support = np.bincount(
            np.concatenate([np.asarray(s, dtype=np.int64) for s in ordered]), minlength=len(data.skus)
        )
        combinations = params.combinations()

        n_validation = math.ceil(len(ordered) * params.validation_fraction) if params.validation_fraction > 0 else 0
        train_part = Sessions.build(ordered[: len(ordered) - n_validation])
        validation_part = Sessions.build(ordered[len(ordered) - n_validation :])
        can_validate = n_validation > 0 and train_part.n_examples > 0 and validation_part.n_examples > 0
        validation_support = np.bincount(
            np.concatenate(
                [np.zeros(0, dtype=np.int64)]
                + [np.asarray(s, dtype=np.int64) for s in ordered[: len(ordered) - n_validation]]
            ),
            minlength=len(data.skus),
        )

        work = sum(c.num_epochs for c in combinations) * train_part.n_examples if can_validate else 0
        tracker = ProgressTracker(work + max(c.num_epochs for c in combinations) * every.n_examples, progress)
        result = TrainingResult()
        chosen = combinations[0]
        try:
            if can_validate:
                best_key = None
                for number, config in enumerate(combinations, start=1):
                    started = time.perf_counter()
                    net = new_network(len(data.skus), config, validation_support, params.seed)
                    train_epochs(
                        net,
                        train_part,
                        config.num_epochs,
                        seeded_generator(params.seed + 1),
                        tracker,
                        f"combination {number}/{len(combinations)}",
                    )
                    metrics = ranking_metrics(next_item_ranks_of(net, validation_part))
                    metrics["train_seconds"] = round(time.perf_counter() - started, 2)
                    result.steps.append((asdict(config), metrics))
                    key = (metrics[f"recall@{CUTOFF}"], metrics[f"mrr@{CUTOFF}"])
                    if best_key is None or key > best_key:
                        best_key, chosen, result.metrics = key, config, dict(metrics)
            else:
                reason = (
                    "not validated: no validation split requested"
                    if n_validation == 0
                    else ("not validated: too few sessions for a validation split")
                )
                result.metrics = {"note": reason}
                result.steps.append((asdict(chosen), {"note": reason}))
            # Every fit starts from fresh weights; the refit sees all sessions.
            started = time.perf_counter()
            tracker.total = tracker.done + chosen.num_epochs * every.n_examples
            net = new_network(len(data.skus), chosen, support, params.seed)
            train_epochs(
                net, every, chosen.num_epochs, seeded_generator(params.seed + 1), tracker, "final fit on all sessions"
            )
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
        check_data(data_new_sessions)
        new_skus = [sku for sku in dict.fromkeys(data_new_sessions.skus) if sku not in self.sku_index]
        generator = seeded_generator(len(self.skus) + len(new_skus))
        self.network.extend_items(len(new_skus), generator)
        for sku in new_skus:
            self.sku_index[sku] = len(self.skus)
            self.skus.append(sku)
        mapping = np.array([self.sku_index[sku] for sku in data_new_sessions.skus], dtype=np.int64)
        ordered = [mapping[np.asarray(s, dtype=np.int64)] for s in time_ordered(data_new_sessions)]
        sessions = Sessions.build(ordered)
        if ordered and sum(len(s) for s in ordered):
            clicks = torch.from_numpy(np.bincount(np.concatenate(ordered), minlength=len(self.skus)).astype(np.float32))
            self.network.item_support += clicks
        tracker = ProgressTracker(epochs * sessions.n_examples, progress)
        started = time.perf_counter()
        try:
            train_epochs(self.network, sessions, epochs, generator, tracker, "incremental training")
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
    def load(cls, folder: Path) -> GRU4RecModel:
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
            # Memory-mapped: the embeddings grow with the catalogue, and gunicorn workers that map
            # the same file share its pages (copy-on-write, so training on loaded weights is safe).
            state = torch.load(folder / STATE_FILE, map_location="cpu", weights_only=True, mmap=True)
        except FileNotFoundError as error:
            raise ArtefactError(f"GRU4Rec artefact {folder}: {STATE_FILE} is missing") from error
        except Exception as error:  # torch raises several unrelated types for a damaged file
            raise ArtefactError(f"GRU4Rec artefact {folder}: {STATE_FILE} is corrupt: {error}") from error
        network = Network(len(skus), config, seeded_generator(0))
        try:
            # assign=True: the parameters become the mapped tensors instead of copies of them.
            network.load_state_dict(state, assign=True)
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
        return next_item_ranks_of(self.network, Sessions.build(sessions), batch_size)

    def next_item_scores(
        self, sessions: Sequence[np.ndarray], batch_size: int = 256
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(scores of all items, true next items) for every click after the first of every
        session, in blocks: the score matrices the shared evaluation functions take."""
        for scores, targets, _, _ in next_item_scores_of(self.network, Sessions.build(sessions), batch_size):
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
                bags = decayed_bags(items, net.n_items)
                gates_per_step = net.first_layer_gates(items, bags, NO_DROPOUT)
            else:
                # The first layer's input gates of all steps in one product.
                gates_per_step = net.first_layer_gates(items, None, NO_DROPOUT)
            for t in range(len(items)):
                output, hidden = net.step(gates_per_step[t : t + 1], hidden, NO_DROPOUT)
        else:
            output = hidden[-1]
        return net.all_scores(output)[0].numpy()

    def retrieve(self, context: PredictContext, n: int) -> list[str]:
        """The top `n` of the whole catalogue as the next visit: one pass of the network, one
        product with the output embeddings, one vectorised top-n."""
        scores = self.score_all(self.history_indices(context.session_history))
        return catalogue_top_n(context, self._catalogue_rows, scores, n)

    def prepare(
        self, catalogue: Catalogue, previous: Catalogue | None = None, changed_rows: np.ndarray | None = None
    ) -> None:
        self._catalogue_rows(catalogue)

    def score_rows(self, context: PredictContext, rows: np.ndarray) -> np.ndarray:
        scores = self.score_all(self.history_indices(context.session_history))
        return self._catalogue_rows.scores_of(context.catalogue, rows, scores)

    def known_item_scores(self, context: PredictContext) -> tuple[Sequence[str], np.ndarray]:
        return self.skus, self.score_all(self.history_indices(context.session_history)).astype(np.float64)

    def score(self, context: PredictContext, candidates: Sequence[str]) -> list[tuple[str, float]]:
        scores = self.score_all(self.history_indices(context.session_history))
        index = self.sku_index
        items = np.fromiter((index.get(sku, -1) for sku in candidates), dtype=np.int64, count=len(candidates))
        candidate_scores = np.where(items >= 0, scores[items].astype(np.float64), -np.inf)
        # A stable sort keeps the given order among equal scores, so the unknown candidates
        # (-inf) come last in the order they were given.
        order = np.argsort(-candidate_scores, kind="stable")
        return list(zip([candidates[i] for i in order.tolist()], candidate_scores[order].tolist()))
