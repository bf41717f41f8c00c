"""Load ecoseller's demo SQL dumps into the products and feedback databases, on SQLite or
PostgreSQL alike, through the store service. The dump's inconsistencies and how they are
resolved are described in `store.importers.ecoseller`; the command prints what it loaded and
what it skipped, and why. Running it again changes nothing (upserts by id and token; events
carry their timestamps, so the store does not count them twice)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from store.importers import ecoseller
from store.importers.common import DEFAULT_CHUNK_SIZE, ImportFailure, ImportReport, both_databases_atomic, write_all
from store.importers.sql_dump import SqlDumpError


class Command(BaseCommand):
    help = (
        "Import the ecoseller demo data: --products mock_data_rs_products.sql and/or --feedback "
        "mock_data_rs_feedback.sql (PostgreSQL INSERT dumps, parsed, never run). Everything or nothing "
        "is stored; a file that is not such a dump stops with its file and line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--products", type=Path, help="the products dump (mock_data_rs_products.sql)")
        parser.add_argument("--feedback", type=Path, help="the feedback dump (mock_data_rs_feedback.sql)")
        parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE, help="payloads per store call")

    def handle(self, *args, **options) -> None:
        # call_command passes its keyword arguments unparsed: strings, not paths.
        products_path, feedback_path = (
            Path(options[name]) if options[name] is not None else None for name in ("products", "feedback")
        )
        if products_path is None and feedback_path is None:
            raise CommandError("give --products FILE, --feedback FILE or both")
        for path in (products_path, feedback_path):
            if path is not None and not path.is_file():
                raise CommandError(f"{path}: no such file")
        report = ImportReport()
        try:
            catalogue, product_of_sku = [], {}
            if products_path is not None:
                tables = ecoseller.read_tables(products_path, ecoseller.PRODUCT_TABLES, report)
                catalogue, product_of_sku = ecoseller.build_products(tables, report)
            feedback = []
            if feedback_path is not None:
                feedback_tables = ecoseller.read_tables(feedback_path, ecoseller.FEEDBACK_TABLES, report)
                feedback = list(ecoseller.build_feedback(feedback_tables, product_of_sku, report))
            with both_databases_atomic():
                write_all(catalogue, report, chunk_size=options["chunk_size"])
                write_all(feedback, report, chunk_size=options["chunk_size"])
        except (SqlDumpError, ImportFailure) as error:
            raise CommandError(f"{error} (nothing was stored)") from None
        for line in report.lines():
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS("ecoseller demo data imported"))
