"""Immutable rows: events, reviews, prediction results, config versions and training records can
only be created. Saving an existing row or deleting one raises `TypeError`, as the seed says."""

from __future__ import annotations

from django.db import models


class ImmutableQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError(f"{self.model.__name__} is immutable.")

    def delete(self):
        raise TypeError(f"{self.model.__name__} is immutable.")


class ImmutableModel(models.Model):
    objects = ImmutableQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise TypeError(f"{type(self).__name__} is immutable.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError(f"{type(self).__name__} is immutable.")
