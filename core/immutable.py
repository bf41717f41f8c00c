"""Rows that code never edits: events, prediction results, config versions and training records
can only be created (`ImmutableModel`); reviews are replaced whole when the shop sends them again
(`ReplaceableModel`). For both, saving an existing row or deleting one through the ORM raises
`TypeError`, as the seed says."""

from __future__ import annotations

from django.db import models


class ImmutableQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError(f"{self.model.__name__} is immutable.")

    def delete(self):
        raise TypeError(f"{self.model.__name__} is immutable.")


class _WriteOnceModel(models.Model):
    """Created through the ORM, never updated or deleted through it."""

    objects = ImmutableQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise TypeError(f"{type(self).__name__} is immutable.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError(f"{type(self).__name__} is immutable.")


class ImmutableModel(_WriteOnceModel):
    """Created once and never changed: a fact that happened."""

    class Meta:
        abstract = True


class ReplaceableModel(_WriteOnceModel):
    """Never edited field by field; the store's upsert on its key replaces a row whole when the
    client sends it again (a review the shopper rewrote)."""

    class Meta:
        abstract = True
