"""Load any interaction data set (a documented CSV, RSC15 click sessions, MovieLens ratings) and
optionally its items through the store service. The formats are documented in
`store.importers.interactions` and in this command's help."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from store.importers import interactions
from store.importers.common import DEFAULT_CHUNK_SIZE, ImportFailure, ImportReport, both_databases_atomic, write_all


class Command(BaseCommand):
    help = (
        "Import interactions from FILE. --format csv (default): header user_id,session_id,sku,event,rating,"
        "timestamp; event is view|cart|order|review; rating 0..5 (reviews); timestamp ISO 8601 or unix seconds; "
        "each row needs user_id or session_id (without session_id, a user's events are split into sessions "
        "after 30 minutes of inactivity). --format rsc15: TSV SessionId,ItemId,Time (views). --format "
        "movielens: userId,movieId,rating,timestamp (reviews). --items FILE: header sku,product_id,category_id,"
        "price,price_list,attributes with attributes as name=value;name=value (all-numeric values make a "
        "NUMERICAL type). SKUs nobody knows become minimal in-stock variants of published products. A "
        "malformed file stops with its file and line and stores nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="the interactions file")
        parser.add_argument(
            "--items", type=Path, help="an items CSV (sku,product_id,category_id,price,price_list,attributes)"
        )
        parser.add_argument(
            "--format", choices=interactions.FORMATS, default="csv", help="the interactions file's format"
        )
        parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE, help="payloads per store call")

    def handle(self, *args, **options) -> None:
        path: Path = options["file"]
        report = ImportReport()
        try:
            with both_databases_atomic():
                product_of_sku: dict[str, int | None] = {}
                if options["items"] is not None:
                    items, product_of_sku = interactions.item_payloads(options["items"], report)
                    write_all(items, report, chunk_size=options["chunk_size"])
                rows = interactions.read_interactions(path, options["format"])
                payloads = interactions.interaction_payloads(rows, source=path.name)
                write_all(
                    interactions.with_missing_catalogue(payloads, product_of_sku, report, options["chunk_size"]),
                    report,
                    chunk_size=options["chunk_size"],
                )
        except ImportFailure as error:
            raise CommandError(f"{error} (nothing was stored)") from None
        for line in report.lines():
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS("interactions imported"))
