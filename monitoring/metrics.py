"""The metrics that are facts in the model store, read when Prometheus scrapes: the trainer's
queue and every finished training by model and outcome with the seconds they took. Reading
them at scrape time makes them right whichever process (or container) trained."""

from __future__ import annotations

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily

from modelstore.selectors import trainer_queue_depth, training_outcome_totals


class ModelStoreCollector:
    """A prometheus-client collector over the model store's tables."""

    def describe(self):
        # Names only, so registering does not query the database.
        return [
            GaugeMetricFamily("rs_trainer_queue_depth", ""),
            CounterMetricFamily("rs_trainings", ""),
            SummaryMetricFamily("rs_training_duration_seconds", ""),
        ]

    def collect(self):
        queue = GaugeMetricFamily(
            "rs_trainer_queue_depth",
            "Trainer queue items waiting (PENDING) or being trained (RUNNING), by model.",
            labels=["model", "status"],
        )
        for (model_name, status), count in sorted(trainer_queue_depth().items()):
            queue.add_metric([model_name, status.lower()], count)
        yield queue
        totals = training_outcome_totals()
        trainings = CounterMetricFamily(
            "rs_trainings", "Finished trainings, by model and outcome.", labels=["model", "outcome"]
        )
        durations = SummaryMetricFamily(
            "rs_training_duration_seconds",
            "Seconds from start to finish of the finished trainings, by model and outcome.",
            labels=["model", "outcome"],
        )
        for total in totals:
            labels = [total.model_name, total.outcome.lower()]
            trainings.add_metric(labels, total.trainings)
            durations.add_metric(labels, count_value=total.trainings, sum_value=total.seconds)
        yield trainings
        yield durations
