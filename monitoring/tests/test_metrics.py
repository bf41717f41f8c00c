"""Each monitoring figure on hand-built predictions and events: exact values, the definitions'
edge cases, the original monitoring test's scenario and the date-range filtering."""

import datetime
import uuid

import pytest

from conftest import ALL_DATABASES
from modelstore.models import TrainingFinished, TrainingStarted, TrainingStatistics
from monitoring.selectors import DateRange, percentile, performance_report, training_history, training_report
from monitoring.tests.factories import at, click, enter, original_scenario, prediction, recommendation_view
from recommendations.tests.factories import make_catalogue

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

AROUND_T0 = DateRange(start=at(-60), end=at(60))


def _catalogue(count: int = 4, **overrides) -> None:
    make_catalogue({str(i): overrides.get(str(i), {}) for i in range(count)})


def test_original_monitoring_scenario_under_the_corrected_definitions():
    # Given the original test's data: 4 variants, 4 predictions (3 scored by similarity), then 3
    # product views, 2 of them attributed to similarity at position 0.
    original_scenario()

    # When
    report = performance_report(date_range=DateRange(start=at(-2 * 60), end=at(1)))

    # Then
    assert report.general.coverage == 3 / 4
    assert report.general.hit_rate == 2 / 4
    assert report.general.future_hit_rate == 1 / 4
    similarity = report.model_specific["similarity"]
    assert similarity.coverage == 3 / 4
    assert similarity.hit_rate == 2 / 3
    assert similarity.future_hit_rate == 1 / 3
    selection = report.model_specific["selection"]
    assert (selection.predictions, selection.hit_rate, selection.future_hit_rate) == (1, 0.0, 0.0)
    assert selection.coverage == 2 / 4


def test_hit_rate_counts_only_clicks_of_the_lists_model_type_session_top_k_and_time():
    _catalogue(12)
    items = [str(i) for i in range(12)]
    prediction(items, session="s1", scoring="ease", type="HOMEPAGE", create_at=at(0))
    # None of these may count for the prediction above:
    click("0", session="s1", model="popularity", type="HOMEPAGE", create_at=at(10))  # another model
    click("0", session="s1", model="ease", type="CART", create_at=at(10))  # another type
    click("0", session="s2", model="ease", type="HOMEPAGE", create_at=at(10))  # another session
    click("10", session="s1", model="ease", type="HOMEPAGE", position=10, create_at=at(10))  # outside the top 10
    click("0", session="s1", model="ease", type="HOMEPAGE", create_at=at(-5))  # before the list was served
    click("0", session="s1", model="ease", type="HOMEPAGE", create_at=at(120))  # after the range
    enter("0", session="s1", create_at=at(10))  # not attributed

    report = performance_report(date_range=AROUND_T0)

    assert report.general.hit_rate == 0.0
    assert report.model_specific["ease"].hit_rate == 0.0

    click("9", session="s1", model="ease", type="HOMEPAGE", position=9, create_at=at(11))  # the last of the top 10
    assert performance_report(date_range=AROUND_T0).model_specific["ease"].hit_rate == 1.0


def test_hit_rate_credits_each_click_to_one_list_and_never_exceeds_one():
    _catalogue(4)
    first = prediction(["0", "1"], session="s1", scoring="ease", type="HOMEPAGE", create_at=at(0))
    prediction(["2", "3"], session="s1", scoring="ease", type="HOMEPAGE", create_at=at(5))
    # Three clicks on the newest list, one of a variant only the first list showed.
    for second in (6, 7, 8):
        click("2", session="s1", model="ease", type="HOMEPAGE", create_at=at(second))
    click("0", session="s1", model="ease", type="HOMEPAGE", create_at=at(9))

    report = performance_report(date_range=AROUND_T0)

    assert report.model_specific["ease"].predictions == 2
    assert report.model_specific["ease"].hits == 2
    assert report.model_specific["ease"].hit_rate == 1.0
    assert report.general.hit_rate == 1.0
    assert first.predicted_items == ["0", "1"]


def test_a_click_without_the_variant_in_any_list_goes_to_the_newest_list():
    _catalogue(4)
    prediction(["0"], session="s1", scoring="ease", type="HOMEPAGE", create_at=at(0))
    prediction(["1"], session="s1", scoring="ease", type="HOMEPAGE", create_at=at(5))
    prediction(["2"], session="s1", scoring="ease", type="HOMEPAGE", create_at=at(20))  # after the click
    click("3", session="s1", model="ease", type="HOMEPAGE", create_at=at(10))

    report = performance_report(date_range=AROUND_T0)

    assert report.model_specific["ease"].hits == 1
    assert report.model_specific["ease"].hit_rate == 1 / 3


def test_future_hit_rate_counts_later_views_of_top_k_variants_in_the_session():
    _catalogue(12)
    items = [str(i) for i in range(12)]
    hit_by_own_view = prediction(items, session="a", scoring="gru4rec", type="HOMEPAGE", create_at=at(0))
    enter("3", session="a", create_at=at(30))  # unattributed later view: a future hit
    prediction(items, session="b", scoring="gru4rec", type="HOMEPAGE", create_at=at(0))
    click("3", session="b", model="gru4rec", type="HOMEPAGE", position=3, create_at=at(30))  # through this model: a hit
    prediction(items, session="c", scoring="gru4rec", type="HOMEPAGE", create_at=at(0))
    enter("11", session="c", create_at=at(30))  # beyond the top 10
    enter("3", session="c", create_at=at(-30))  # before the list
    enter("3", session="other", create_at=at(30))  # another session
    enter("3", session="c", create_at=at(90))  # after the range
    click("4", session="c", model="similarity", type="PRODUCT_DETAIL", create_at=at(30))  # another model's success

    report = performance_report(date_range=AROUND_T0)

    gru4rec = report.model_specific["gru4rec"]
    assert gru4rec.predictions == 3
    assert gru4rec.future_hits == 2
    assert gru4rec.future_hit_rate == 2 / 3
    assert hit_by_own_view.session_id == "a"


def test_predictions_outside_the_range_are_not_counted_anywhere():
    _catalogue(4)
    prediction(["0"], session="s1", create_at=at(-3600))  # before the range
    prediction(["1"], session="s1", create_at=at(3600))  # after it
    prediction(["2"], session="s1", create_at=at(0))
    enter("2", session="s1", create_at=at(10))

    report = performance_report(date_range=AROUND_T0)

    assert report.general.predictions == 1
    assert report.general.future_hit_rate == 1.0  # the denominator is the range's predictions
    assert report.general.coverage == 1 / 4


def test_the_range_bounds_are_inclusive():
    _catalogue(2)
    prediction(["0"], create_at=at(-60))
    prediction(["1"], create_at=at(60))

    assert performance_report(date_range=AROUND_T0).general.predictions == 2
    assert performance_report(date_range=DateRange(start=at(-59), end=at(59))).general.predictions == 0


def test_coverage_counts_catalogue_variants_only():
    _catalogue(5, **{"4": {"deleted": True}})
    prediction(["0", "1", "gone", "4"], create_at=at(0))  # "gone" was never in the catalogue, "4" is deleted

    report = performance_report(date_range=AROUND_T0)

    assert report.general.recommended_variants == 2
    assert report.general.catalogue_variants == 4
    assert report.general.coverage == 2 / 4


def test_nothing_in_range_gives_nulls_and_zeros():
    report = performance_report(date_range=AROUND_T0)

    general = report.general
    assert (general.predictions, general.hit_rate, general.future_hit_rate, general.coverage) == (0, None, None, None)
    assert general.click_through_rate is None
    assert (general.scoring_duration.avg, general.scoring_duration.p95, general.scoring_duration.max) == (
        None,
        None,
        None,
    )


def test_click_through_rate_is_attributed_clicks_per_recommendation_view():
    _catalogue(4)
    for sku in "0123":
        recommendation_view(sku, model="similarity", create_at=at(0))
    recommendation_view("0", model="ease", create_at=at(0))
    recommendation_view("1", model="ease", create_at=at(-3600))  # outside the range
    click("1", model="similarity", create_at=at(5))
    click("0", model="ease", create_at=at(5))
    enter("2", create_at=at(5))  # not a click on a recommendation

    report = performance_report(date_range=AROUND_T0)

    assert report.model_specific["similarity"].click_through_rate == 1 / 4
    assert report.model_specific["ease"].click_through_rate == 1.0
    assert report.general.click_through_rate == 2 / 5
    assert (report.general.clicks, report.general.recommendation_views) == (2, 5)


def test_durations_average_p95_and_maximum_per_phase():
    _catalogue(1)
    for i in range(1, 21):
        prediction(["0"], scoring="ease", retrieval="popularity", durations=(i / 100, i / 10, i), create_at=at(i))
    prediction(["0"], scoring="popularity", retrieval="ease", durations=(5.0, 0.5, 0.0), create_at=at(30))

    report = performance_report(date_range=AROUND_T0)

    ease = report.model_specific["ease"]
    assert ease.scoring_duration.avg == pytest.approx(1.05)
    assert ease.scoring_duration.p95 == pytest.approx(1.9)
    assert ease.scoring_duration.max == pytest.approx(2.0)  # the scoring maximum, not the retrieval one
    assert ease.ordering_duration.max == 20
    # A model's retrieval durations are those of the lists it retrieved for.
    assert (ease.retrieval_duration.avg, ease.retrieval_duration.max) == (5.0, 5.0)
    popularity = report.model_specific["popularity"]
    assert popularity.retrieval_duration.p95 == pytest.approx(0.19)
    assert popularity.retrieval_duration.max == pytest.approx(0.2)
    assert report.general.retrieval_duration.max == 5.0
    assert report.general.scoring_duration.max == pytest.approx(2.0)


def test_percentile_is_nearest_rank():
    assert percentile([], 0.95) is None
    assert percentile([3.0], 0.95) == 3.0
    assert percentile([float(i) for i in range(1, 21)], 0.95) == 19.0
    assert percentile([float(i) for i in range(100, 0, -1)], 0.95) == 95.0


def test_daily_figures_cover_every_day_of_the_range():
    _catalogue(4)
    prediction(["0", "1"], scoring="ease", create_at=at(days=-1))
    prediction(["2"], scoring="popularity", create_at=at(0), durations=(0.1, 0.2, 0.3))
    enter("2", create_at=at(10))

    report = performance_report(date_range=DateRange(start=at(days=-2), end=at(60)), with_daily=True)

    assert [d.day for d in report.daily] == [
        datetime.date(2024, 3, 8),
        datetime.date(2024, 3, 9),
        datetime.date(2024, 3, 10),
    ]
    assert report.daily[0].predictions == {}
    assert report.daily[1].predictions == {"general": 1, "ease": 1}
    assert report.daily[1].coverage == {"general": 2 / 4, "ease": 2 / 4}
    assert report.daily[2].hit_rate == {"general": 0.0, "popularity": 0.0}
    assert report.daily[2].total_p95 == pytest.approx(0.6)


# --- training -----------------------------------------------------------------------------


def _training(model: str, outcome: str | None, *, create_at, duration=None, memory=None, metrics=None):
    started = TrainingStarted.objects.create(
        model_name=model, model_identifier=f"{model}_{uuid.uuid4().hex[:6]}", create_at=create_at
    )
    if outcome:
        TrainingFinished.objects.create(training_id=started.training_id, outcome=outcome, create_at=create_at)
    if duration is not None:
        TrainingStatistics.objects.create(
            model_name=model,
            model_identifier=started.model_identifier,
            duration=duration,
            peak_memory=memory,
            peak_memory_percentage=memory / 100,
            metrics=metrics or {},
            hyperparameters={"l2": 10},
            create_at=create_at,
        )
    return started


def test_training_counts_by_outcome_durations_memory_and_latest_metrics():
    completed = TrainingFinished.Outcome.COMPLETED
    _training("ease", completed, create_at=at(-30), duration=10.0, memory=100.0, metrics={"ndcg": 0.1})
    _training("ease", completed, create_at=at(-20), duration=30.0, memory=300.0, metrics={"ndcg": 0.2})
    _training("ease", TrainingFinished.Outcome.FAILED, create_at=at(-10))
    _training("gru4rec", TrainingFinished.Outcome.SKIPPED, create_at=at(-10))
    _training("gru4rec", None, create_at=at(-5))  # running, or the trainer stopped
    _training("ease", completed, create_at=at(-3600), duration=99.0, memory=999.0)  # outside the range

    report = training_report(date_range=AROUND_T0)

    ease = report.model_specific["ease"]
    assert (ease.started, ease.completed, ease.failed, ease.skipped, ease.unfinished) == (3, 2, 1, 0, 0)
    assert ease.duration == (20.0, 30.0)
    assert ease.peak_memory == (200.0, 300.0)
    assert ease.peak_memory_percentage == (2.0, 3.0)
    assert ease.latest.metrics == {"ndcg": 0.2}
    gru4rec = report.model_specific["gru4rec"]
    assert (gru4rec.started, gru4rec.completed, gru4rec.failed, gru4rec.skipped, gru4rec.unfinished) == (2, 0, 0, 1, 1)
    assert gru4rec.latest is None
    general = report.general
    assert (general.started, general.completed, general.failed, general.skipped, general.unfinished) == (5, 2, 1, 1, 1)
    assert general.duration == (20.0, 30.0)
    assert report.model_specific["similarity"].started == 0


def test_training_history_joins_outcome_and_statistics_newest_first():
    _training(
        "ease",
        TrainingFinished.Outcome.COMPLETED,
        create_at=at(-30),
        duration=10.0,
        memory=100.0,
        metrics={"ndcg": 0.1},
    )
    _training("gru4rec", TrainingFinished.Outcome.FAILED, create_at=at(-10))

    history = training_history(date_range=AROUND_T0)

    assert [(t.model_name, t.outcome) for t in history] == [("gru4rec", "FAILED"), ("ease", "COMPLETED")]
    assert history[0].duration is None
    assert (history[1].duration, history[1].metrics) == (10.0, {"ndcg": 0.1})
