"""Generate a synthetic shop (catalogue and shopper history with latent tastes and popularity)
through the store service, so that every model has signal to learn. See
`store.importers.demo_shop` for how it behaves."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from feedback.models import ProductDetailEnter, Review
from products.models import Order, ProductVariant
from store.importers.common import (
    DEFAULT_CHUNK_SIZE,
    ImportFailure,
    ImportReport,
    Sourced,
    both_databases_atomic,
    catalogue_is_empty,
    write_all,
    write_all_new_catalogue,
)
from store.importers.demo_shop import ShopOptions, ShopStats, generate_shop, is_held_out, write_hold_out


class Command(BaseCommand):
    help = (
        "Generate a demo shop: a category tree, product types, categorical and numerical attributes, "
        "variants with prices, and users and sessions whose views, carts, orders and reviews follow latent "
        "tastes and popularity. Deterministic for --seed and --end-date; meant for an empty database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        defaults = ShopOptions()
        parser.add_argument("--categories", type=int, default=defaults.categories, help="leaf categories")
        parser.add_argument("--products", type=int, default=defaults.products)
        parser.add_argument("--variants-per-product", type=int, default=defaults.variants_per_product)
        parser.add_argument(
            "--users", type=int, default=defaults.users, help="known users (30%% of sessions are anonymous)"
        )
        parser.add_argument("--sessions", type=int, default=defaults.sessions)
        parser.add_argument("--days", type=int, default=defaults.days, help="history spread over this many days")
        parser.add_argument("--end-date", help="ISO date the history ends at (default: today 00:00 UTC)")
        parser.add_argument("--seed", type=int, default=defaults.seed)
        parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE, help="payloads per store call")
        parser.add_argument(
            "--hold-out-sessions",
            type=int,
            default=0,
            help="keep the last N sessions out of the stored history and write their product views to "
            "--hold-out-file, for bench/served_quality.py to replay as unseen shoppers",
        )
        parser.add_argument("--hold-out-file", help="where the held-out sessions go (tab-separated clicks)")
        parser.add_argument(
            "--through-store",
            action="store_true",
            help="send the catalogue through the store service too (slower; the bulk path is used only "
            "when the catalogue is empty anyway)",
        )

    def handle(self, *args, **options) -> None:
        for name in ("categories", "products", "variants_per_product", "users", "days"):
            if options[name] < 1:
                raise CommandError(f"--{name.replace('_', '-')} must be at least 1")
        if options["sessions"] < 0:
            raise CommandError("--sessions must not be negative")
        hold_out = options["hold_out_sessions"]
        if not 0 <= hold_out <= options["sessions"]:
            raise CommandError("--hold-out-sessions must be between 0 and --sessions")
        if hold_out and not options["hold_out_file"]:
            raise CommandError("--hold-out-sessions needs --hold-out-file")
        if hold_out:
            try:  # before anything is stored: an unwritable path must not cost a generated shop
                Path(options["hold_out_file"]).open("w", encoding="utf-8").close()
            except OSError as error:
                raise CommandError(f"cannot write --hold-out-file: {error}") from None
        end = None
        if options["end_date"]:
            try:
                end = datetime.fromisoformat(options["end_date"])
            except ValueError:
                raise CommandError(f"--end-date {options['end_date']!r} is not an ISO date") from None
            end = end if end.tzinfo else end.replace(tzinfo=UTC)
        shop = ShopOptions(
            categories=options["categories"],
            products=options["products"],
            variants_per_product=options["variants_per_product"],
            users=options["users"],
            sessions=options["sessions"],
            seed=options["seed"],
            days=options["days"],
            end=end,
            hold_out=hold_out,
        )
        stats = ShopStats()
        report = ImportReport()
        held_out: list[dict] = []

        def stored() -> Iterator[dict]:
            for payload in generate_shop(shop, stats):
                if is_held_out(payload, shop):
                    held_out.append(payload)
                else:
                    yield payload

        payloads = (Sourced(payload, f"generate_demo_shop:{index}") for index, payload in enumerate(stored()))
        payloads = self._with_progress(payloads, shop, stats)
        try:
            with both_databases_atomic():
                if not options["through_store"] and catalogue_is_empty():
                    write_all_new_catalogue(payloads, report, chunk_size=options["chunk_size"])
                else:
                    write_all(payloads, report, chunk_size=options["chunk_size"])
        except ImportFailure as error:  # a generator bug, never the user's input
            raise CommandError(str(error)) from None
        for line in report.lines():
            self.stdout.write(line)
        if hold_out:
            with Path(options["hold_out_file"]).open("w", encoding="utf-8") as handle:
                clicks = write_hold_out(iter(held_out), handle)
            self.stdout.write(f"held out the last {hold_out} sessions: {clicks} clicks in {options['hold_out_file']}")
        variants = ProductVariant.objects.count()
        views = ProductDetailEnter.objects.count()
        reviews = Review.objects.count()
        orders = Order.objects.count()
        self.stdout.write(
            f"readiness with the default thresholds: gru4rec {views} detail enters > 10 x {variants} variants: "
            f"{views > 10 * variants}; ease {reviews} reviews > 0.5 x {variants}: {reviews > 0.5 * variants}; "
            f"popularity {orders} orders > 0: {orders > 0}"
        )
        self.stdout.write(self.style.SUCCESS(f"demo shop generated (seed {shop.seed})"))

    def _with_progress(self, payloads: Iterable[Sourced], shop: ShopOptions, stats: ShopStats) -> Iterator[Sourced]:
        """Pass the payloads on, writing a line at every tenth of the variants and of the
        sessions, and at least every 10 seconds."""
        variants_total = shop.products * shop.variants_per_product
        started = last_line = time.monotonic()
        variants = 0
        reported = {"variants": 0, "sessions": 0}

        def line(now: float) -> None:
            elapsed = now - started
            self.stdout.write(
                f"progress: {variants:,} of {variants_total:,} variants, {stats.sessions:,} of {shop.sessions:,} "
                f"sessions, {elapsed:.1f} s"
            )

        for count, item in enumerate(payloads, start=1):
            if item.payload["_model_class"] == "ProductVariant":
                variants += 1
            yield item
            if count % 1000:
                continue  # looking at the clock for every payload costs seconds in a big shop
            now = time.monotonic()
            tenths = {
                "variants": 10 * variants // max(variants_total, 1),
                "sessions": 10 * stats.sessions // max(shop.sessions, 1),
            }
            if any(tenths[key] > reported[key] for key in tenths) or now - last_line >= 10:
                reported, last_line = tenths, now
                line(now)
        line(time.monotonic())
