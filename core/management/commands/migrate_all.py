"""Migrate every database alias: each gets exactly the tables of the apps routed to it."""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from core.databases import statement_timeout_use


class Command(BaseCommand):
    help = "Apply migrations to every database alias (default, products, feedback, modelstore, similarity)."

    def handle(self, *args, **options) -> None:
        # A migration may rewrite a big table: the trainer's long statement timeout, not a request's.
        statement_timeout_use(settings.DATABASE_TRAINER_STATEMENT_TIMEOUT)
        for alias in settings.DATABASE_ALIASES:
            self.stdout.write(f"migrating {alias}")
            call_command("migrate", database=alias, interactive=False, verbosity=max(0, options["verbosity"] - 1))
        self.stdout.write(self.style.SUCCESS("every database is migrated"))
