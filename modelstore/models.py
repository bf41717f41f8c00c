"""Model storage: config versions, the latest identifier per model, the trainer queue and the
training records. Timestamps are taken when each row is written."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from core.immutable import ImmutableModel


class ConfigVersion(ImmutableModel):
    """One saved configuration. The current one is the newest (ties broken by id); `data` holds
    the validated config in snake_case (see `recommendations.config.RecommenderConfig`)."""

    data = models.JSONField()
    created_by = models.CharField(max_length=150, blank=True, default="")
    create_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["-create_at", "-id"], name="config_current_idx")]

    def __str__(self) -> str:
        return f"config v{self.pk} ({self.create_at:%Y-%m-%d %H:%M:%S})"


class LatestIdentifier(models.Model):
    """Which trained artefacts prediction uses for a model; `previous_identifier` is kept for
    rollback."""

    model_name = models.CharField(max_length=255, primary_key=True)
    identifier = models.CharField(max_length=255)
    previous_identifier = models.CharField(max_length=255, null=True, blank=True)
    update_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.model_name} -> {self.identifier}"


class TrainerQueueItem(models.Model):
    class Status(models.TextChoices):
        PENDING = "PENDING"
        RUNNING = "RUNNING"
        COMPLETED = "COMPLETED"
        FAILED = "FAILED"
        SKIPPED = "SKIPPED"
        COALESCED = "COALESCED"

    model_name = models.CharField(max_length=255)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    full_train = models.BooleanField(null=True, blank=True, help_text="Empty: the trainer decides.")
    attempts = models.IntegerField(default=0)
    not_before = models.DateTimeField(default=timezone.now, help_text="Retry backoff: not claimed before this time.")
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=255, blank=True, default="")
    alive_at = models.DateTimeField(
        null=True, blank=True, help_text="The claiming trainer's latest heartbeat (every few seconds while it trains)."
    )
    training_id = models.UUIDField(
        null=True, blank=True, help_text="The training the current claim runs (its TrainingStarted record)."
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    requested_by = models.CharField(max_length=255, blank=True, default="")
    create_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["status", "not_before", "create_at"], name="queue_claim_idx"),
            models.Index(fields=["model_name", "status"], name="queue_model_idx"),
        ]

    @property
    def processed(self) -> bool:
        return self.status not in (self.Status.PENDING, self.Status.RUNNING)

    def __str__(self) -> str:
        return f"#{self.pk} {self.model_name} {self.status}"


class TrainingStarted(ImmutableModel):
    training_id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    model_name = models.CharField(max_length=255)
    model_identifier = models.CharField(max_length=255)
    full_train = models.BooleanField(default=True)
    create_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "training started"
        verbose_name_plural = "trainings started"
        indexes = [models.Index(fields=["model_name", "create_at"], name="training_started_idx")]


class TrainingFinished(ImmutableModel):
    class Outcome(models.TextChoices):
        COMPLETED = "COMPLETED"
        FAILED = "FAILED"
        SKIPPED = "SKIPPED"

    training_id = models.UUIDField(primary_key=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.COMPLETED)
    error = models.TextField(blank=True, default="")
    create_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "training finished"
        verbose_name_plural = "trainings finished"


class TrainingStepStarted(ImmutableModel):
    step_id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    training_id = models.UUIDField(db_index=True)
    model_name = models.CharField(max_length=255)
    model_identifier = models.CharField(max_length=255)
    hyperparameters = models.JSONField(default=dict)
    create_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "training step started"
        verbose_name_plural = "training steps started"


class TrainingStepFinished(ImmutableModel):
    step_id = models.UUIDField(primary_key=True)
    model_name = models.CharField(max_length=255)
    model_identifier = models.CharField(max_length=255)
    metrics = models.JSONField(default=dict)
    create_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "training step finished"
        verbose_name_plural = "training steps finished"


class TrainingStatistics(ImmutableModel):
    model_name = models.CharField(max_length=255)
    model_identifier = models.CharField(max_length=255)
    duration = models.FloatField(help_text="Seconds.")
    peak_memory = models.FloatField(help_text="MiB, resident set size at its peak during the training.")
    peak_memory_percentage = models.FloatField(help_text="Peak memory as a percentage of the machine's memory.")
    full_train = models.BooleanField(default=True)
    metrics = models.JSONField(default=dict)
    hyperparameters = models.JSONField(default=dict)
    create_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "training statistics"
        indexes = [models.Index(fields=["model_name", "create_at"], name="training_statistics_idx")]


class TrainingDataMark(models.Model):
    """What data the current training of a model saw: the highest event ids, the review count
    and the catalogue revision when it began. The trainer schedules a retraining by counting what
    arrived since with cheap indexed counts; timestamps cannot tell, since imported history keeps
    its old ones."""

    model_name = models.CharField(max_length=255, primary_key=True)
    model_identifier = models.CharField(max_length=255)
    product_detail_enter_id = models.BigIntegerField(default=0)
    product_add_to_cart_id = models.BigIntegerField(default=0)
    order_line_id = models.BigIntegerField(default=0)
    review_count = models.BigIntegerField(default=0)
    catalogue_revision = models.BigIntegerField(default=0)
    taken_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.model_name} data mark ({self.model_identifier})"
