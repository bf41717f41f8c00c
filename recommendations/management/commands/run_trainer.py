"""`manage.py run_trainer`: the trainer worker (see `recommendations.training.trainer`).

It claims queue items one at a time, trains them and records the outcome; between items it
enqueues the retrainings that are due and sleeps `--interval` seconds when idle. SIGTERM or
SIGINT (Ctrl-C) lets the current training finish and then exits with status 0; a second signal
abandons the training (recorded as failed, its queue item given back). Several trainers may run
against PostgreSQL at once; the server never needs a trainer to be up."""

from __future__ import annotations

import os
import signal
import socket
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from core.databases import statement_timeout_use
from recommendations.training.trainer import Trainer


class Command(BaseCommand):
    help = "Run the trainer: consume the training queue and schedule retrainings when enough new data arrived."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="process every claimable item, then exit")
        parser.add_argument(
            "--interval", type=float, default=30.0, help="seconds to sleep when the queue is empty (30)"
        )
        parser.add_argument("--name", default="", help="how this trainer signs its claims (default host:pid)")
        parser.add_argument(
            "--no-schedule",
            dest="is_scheduling",
            action="store_false",
            help="only train queued items; do not enqueue retrainings (when another trainer schedules)",
        )

    def handle(self, *args, once: bool, interval: float, name: str, is_scheduling: bool, **options) -> None:
        # Trainings run statements far longer than a request's (millions of neighbour rows).
        statement_timeout_use(settings.DATABASE_TRAINER_STATEMENT_TIMEOUT)
        trainer = Trainer(
            name=name or f"{socket.gethostname()}:{os.getpid()}",
            write=lambda line: (self.stdout.write(line), self.stdout.flush()),
            is_scheduling=is_scheduling,
        )
        previous = {}
        if threading.current_thread() is threading.main_thread():  # Python allows handlers only there
            previous = {
                number: signal.signal(number, trainer.handle_signal) for number in (signal.SIGTERM, signal.SIGINT)
            }
        try:
            trainer.run(once=once, interval=interval)
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
