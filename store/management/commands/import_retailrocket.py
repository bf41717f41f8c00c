"""Load the Kaggle Retailrocket data set (category_tree.csv, item_properties_part1.csv,
item_properties_part2.csv, events.csv in one folder) through the store service. The mapping is
described in `store.importers.retailrocket`. Files are streamed with a progress bar on
stderr; everything is stored or nothing."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from store.importers import retailrocket
from store.importers.common import DEFAULT_CHUNK_SIZE, ImportFailure, ImportReport, both_databases_atomic, write_all


class Command(BaseCommand):
    help = (
        "Import the Retailrocket files of DIR: categories (with their closure), one product and "
        "variant per item with its latest properties and price (property 790), and the events "
        "split into 30-minute sessions (views → product detail enters, add-to-carts, transactions "
        "→ orders). A malformed file stops with its file and line and stores nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", type=Path, help="folder holding the four Retailrocket CSV files")
        parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE, help="payloads per store call")
        parser.add_argument(
            "--sort-chunk-rows",
            type=int,
            default=500_000,
            help="events sorted in memory at once before spilling a sorted run to a temporary file",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bars")

    def handle(self, *args, **options) -> None:
        directory: Path = options["directory"]
        if not directory.is_dir():
            raise CommandError(f"{directory}: no such folder")
        show_progress = not options["no_progress"]
        chunk_size = options["chunk_size"]
        report = ImportReport()
        try:
            with both_databases_atomic():
                write_all(retailrocket.read_categories(directory, report, show_progress), report, chunk_size=chunk_size)
                catalogue = retailrocket.read_item_properties(directory, show_progress)
                report.notes.append(
                    f"{catalogue.rows} property rows read for {len(catalogue.items)} items; the latest value of each "
                    "(item, property) is kept"
                )
                write_all(retailrocket.catalogue_payloads(catalogue, report), report, chunk_size=chunk_size)
                del catalogue
                events = retailrocket.event_payloads(
                    directory, report, sort_chunk_rows=options["sort_chunk_rows"], show_progress=show_progress
                )
                write_all(events, report, chunk_size=chunk_size)
        except ImportFailure as error:
            raise CommandError(f"{error} (nothing was stored)") from None
        for line in report.lines():
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS("Retailrocket data imported"))
