"""The offline evaluation command on hand-checkable data."""

import datetime
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from conftest import ALL_DATABASES
from recommendations.tests.factories import make_catalogue, make_sessions

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def _shop():
    make_catalogue({sku: {"product": i} for i, sku in enumerate("abc")})
    start = timezone.now() - datetime.timedelta(days=10)
    make_sessions({f"train{n}": ["a", "a", "b"] for n in range(9)}, start=start)
    make_sessions({"test": ["b", "a", "a"]}, start=start + datetime.timedelta(days=5))


def test_popularity_ranks_the_most_viewed_item_first_on_the_holdout():
    _shop()
    output = StringIO()

    call_command("evaluate", "popularity", "--holdout-fraction", "0.1", "--json", stdout=output)

    report = json.loads(output.getvalue())
    assert report["test_sessions"] == 1
    (row,) = report["results"]
    # Targets: "a" after "b", and "a" after "b, a": "a" is the most viewed training item.
    assert row["events"] == 2
    assert (row["recall@20"], row["mrr@20"], row["ndcg@20"]) == (1.0, 1.0, 1.0)
    assert row["coverage@20"] == 1.0  # both training items appear in the top 20 of 2 items


def test_evaluate_prints_the_model_and_the_popularity_reference_row():
    _shop()
    output = StringIO()

    call_command("evaluate", "selection", "--cutoff", "1", stdout=output)

    lines = output.getvalue().splitlines()
    assert lines[0].startswith("split at ")
    assert lines[1].split()[:5] == ["model", "recall@1", "mrr@1", "ndcg@1", "coverage@1"]
    assert [line.split()[0] for line in lines[2:]] == ["selection", "popularity"]
    popularity = lines[3].split()
    assert float(popularity[1]) == 1.0


def test_evaluate_rejects_bad_input_with_a_readable_error():
    with pytest.raises(CommandError, match="unknown model"):
        call_command("evaluate", "nonsense")
    with pytest.raises(CommandError, match="no product-detail views"):
        call_command("evaluate", "popularity")
    _shop()
    with pytest.raises(CommandError, match="not an ISO 8601"):
        call_command("evaluate", "popularity", "--test-from", "yesterday")
    with pytest.raises(CommandError, match="no training or no test"):
        call_command("evaluate", "popularity", "--test-from", "1990-01-01T00:00:00Z")
