"""The similarity database: for each trained similarity model, each variant's nearest variants.

One row per variant and model identifier holds the variant's K nearest variants, nearest first,
and their distances: K × n per-pair rows (10⁸ for a million variants) would not fit a training's
time or disk budget, and a reader wants a variant's whole list at once."""

from __future__ import annotations

from django.db import models


class NeighbourList(models.Model):
    model_identifier = models.CharField(max_length=255)
    sku = models.CharField(max_length=255)
    # SKUs of the nearest variants, nearest first (equal distances in catalogue order).
    neighbours = models.JSONField()
    # Their distances, same order: the model's float32 values, each written with 9 significant
    # digits, which read back as the same float32.
    distances = models.JSONField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["model_identifier", "sku"], name="neighbour_list_identifier_sku_uniq")
        ]
