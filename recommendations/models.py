"""The similarity database: for each trained similarity model, each variant's nearest variants.

Only the K nearest per variant are stored (not all n² pairs), indexed for "the closest variants
to X under identifier M"."""

from __future__ import annotations

from django.db import models


class Neighbour(models.Model):
    model_identifier = models.CharField(max_length=255)
    lhs = models.CharField(max_length=255)
    rhs = models.CharField(max_length=255)
    distance = models.FloatField()
    rank = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["model_identifier", "lhs", "rank"], name="neighbour_lookup_idx")]
