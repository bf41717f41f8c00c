"""`manage.py setup_demo`: fill an empty service with a demo shop and train every model, so a
new user sees it work. Does nothing to a service that already holds a catalogue."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from modelstore.models import LatestIdentifier
from products.models import ProductVariant
from recommendations.algorithms.registry import MODELS


class Command(BaseCommand):
    help = "Generate a demo shop (or import the ecoseller demo files) into an empty service, then train every model."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--ecoseller",
            action="store_true",
            help="import ../shared/data/ecoseller-demo (or --data-dir) instead of generating a shop",
        )
        parser.add_argument("--data-dir", default=str(settings.BASE_DIR.parent / "shared" / "data" / "ecoseller-demo"))

    def handle(self, *args, ecoseller: bool, data_dir: str, **options) -> None:
        if ProductVariant.objects.exists():
            self.stdout.write(
                "the catalogue is not empty: keeping the stored data"
                + (" (the ecoseller demo was NOT imported: run `make reset` first to replace it)" if ecoseller else "")
            )
        elif ecoseller:
            call_command(
                "import_ecoseller_demo",
                products=f"{data_dir}/mock_data_rs_products.sql",
                feedback=f"{data_dir}/mock_data_rs_feedback.sql",
                stdout=self.stdout,
                stderr=self.stderr,
            )
        else:
            call_command("generate_demo_shop", stdout=self.stdout, stderr=self.stderr)
        self._demo_admin()
        trained = set(LatestIdentifier.objects.values_list("model_name", flat=True))
        for name, model_class in MODELS.items():
            if not model_class.needs_training or name in trained:
                continue
            try:
                call_command("train", name, stdout=self.stdout, stderr=self.stderr)
            except CommandError as error:
                self.stderr.write(f"{name}: {error}")

    def _demo_admin(self) -> None:
        """A staff login for the dashboard, made once with a random password shown here."""
        User = get_user_model()
        if User.objects.exists():
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser("admin", "admin@example.com", password)
        path = settings.DATA_DIR / "demo-admin.txt"
        path.write_text(f"user: admin\npassword: {password}\n")
        path.chmod(0o600)
        self.stdout.write(f"dashboard login: admin / {password} (also in {path})")
