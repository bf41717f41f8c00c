"""`manage.py train MODEL`: train a model now from the stored data and publish it."""

from __future__ import annotations

import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from core.databases import statement_timeout_use
from recommendations.algorithms.registry import MODELS
from recommendations.training.services import NotTrainable, model_train


class Command(BaseCommand):
    help = (
        "Train a prediction model now (similarity, gru4rec, ease; 'all' for every trainable one) and make it current."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("model", help="model name, or 'all'")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--full", dest="full_train", action="store_const", const=True, help="force a full training")
        mode.add_argument(
            "--incremental",
            dest="full_train",
            action="store_const",
            const=False,
            help="continue from the current weights (GRU4Rec)",
        )
        parser.add_argument("--force", action="store_true", help="train even below the readiness thresholds")

    def handle(self, *args, model: str, full_train: bool | None, force: bool, **options) -> None:
        if model == "all":
            names = [name for name, cls in MODELS.items() if cls.needs_training]
        elif model in MODELS:
            names = [model]
        else:
            raise CommandError(f"unknown model {model!r}; known: {', '.join(MODELS)}, or 'all'")
        statement_timeout_use(settings.DATABASE_TRAINER_STATEMENT_TIMEOUT)
        for name in names:
            self._train(name, full_train, force, keep_going=model == "all")

    def _train(self, name: str, full_train: bool | None, force: bool, keep_going: bool) -> None:
        bar = tqdm(total=100, desc=name, file=sys.stderr, delay=0.5, bar_format="{percentage:3.0f}%|{bar}| {desc}")

        def progress(message: str, fraction: float) -> None:
            bar.n = round(100 * min(max(fraction, 0.0), 1.0))
            bar.set_description_str(f"{name}: {message[:70]}", refresh=True)

        try:
            outcome = model_train(model_name=name, full_train=full_train, progress=progress, force=force)
        except NotTrainable as error:
            bar.close()
            raise CommandError(str(error)) from error
        except Exception as error:
            bar.close()
            message = f"training {name} failed: {type(error).__name__}: {error}"
            if keep_going:
                self.stderr.write(self.style.ERROR(message))
                return
            raise CommandError(message) from error
        bar.close()
        if outcome.outcome == "SKIPPED":
            self.stdout.write(self.style.WARNING(f"{name}: skipped, {outcome.reason}"))
            return
        kind = "full" if outcome.full_train else "incremental"
        self.stdout.write(
            self.style.SUCCESS(
                f"{name}: {outcome.identifier} is current ({kind} training, {outcome.duration:.2f} s, "
                f"peak memory {outcome.peak_memory_mib:.0f} MiB) metrics={outcome.metrics} "
                f"hyperparameters={outcome.hyperparameters}"
            )
        )
