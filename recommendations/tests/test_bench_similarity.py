"""`manage.py bench_similarity`: the recall of the stored neighbour lists of the current model."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from conftest import ALL_DATABASES
from recommendations.tests.factories import make_catalogue
from recommendations.training.services import model_train

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def test_exact_neighbour_lists_have_full_recall():
    make_catalogue({str(i): {"product": i, "price": price} for i, price in enumerate([10, 20, 20, 40, 80])})
    identifier = model_train(model_name="similarity").identifier
    output = StringIO()

    call_command("bench_similarity", "--rows", "5", stdout=output)

    assert output.getvalue().startswith(
        f"similarity {identifier}: 5 variants, K=4, 5 sampled (seed 0): recall@4 1.0000 "
    )
    assert "max |diff| " in output.getvalue()


def test_without_a_trained_model_the_command_says_so():
    with pytest.raises(CommandError, match="no similarity model is trained yet"):
        call_command("bench_similarity")
