"""The one database router: `settings.DATABASE_APPS_MAPPING` says which alias holds each app's
tables, and every app not named there lives in `default`. No relation crosses databases."""

from __future__ import annotations

from django.db.models import Model

from core.databases import database_for_app


class AppDatabaseRouter:
    def db_for_read(self, model: type[Model], **hints) -> str:
        return database_for_app(model._meta.app_label)

    def db_for_write(self, model: type[Model], **hints) -> str:
        return database_for_app(model._meta.app_label)

    def allow_relation(self, obj1: Model, obj2: Model, **hints) -> bool:
        return database_for_app(obj1._meta.app_label) == database_for_app(obj2._meta.app_label)

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints) -> bool:
        return database_for_app(app_label) == db
