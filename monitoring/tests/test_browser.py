"""The dashboard pages in a real headless browser: a staff user logs in through the admin login,
sees the performance charts, reorders a cascade on the configuration page and saves, and the new
config version is current.

Needs Debian's `chromium` and `chromium-driver` packages (`apt-get install -y chromium
chromium-driver`) and the `selenium` client; skipped with the reason when one is missing.
Set `MONITORING_SCREENSHOT_DIR` to keep the screenshots it takes (otherwise a temp folder)."""

from __future__ import annotations

import dataclasses
import datetime
import os
import shutil
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from conftest import ALL_DATABASES
from modelstore.models import ConfigVersion, TrainingFinished, TrainingStarted, TrainingStatistics
from monitoring.tests.factories import click, enter, prediction
from recommendations.config import DEFAULT_CONFIG
from recommendations.selectors import config_current
from recommendations.tests.factories import make_catalogue

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

webdriver = pytest.importorskip(
    "selenium.webdriver", reason="selenium is not installed (pip install -r requirements.txt)"
)
pytestmark = [
    pytest.mark.skipif(
        not (CHROMIUM and CHROMEDRIVER),
        reason="needs Chromium and its driver: apt-get install -y chromium chromium-driver",
    ),
    pytest.mark.django_db(transaction=True, databases=ALL_DATABASES),
]

from selenium.webdriver.common.by import By  # noqa: E402  (after the importorskip above)
from selenium.webdriver.support import expected_conditions  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

PASSWORD = "a-long-test-password"


@pytest.fixture
def browser(tmp_path):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1900",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(argument)
    # An explicit driver path keeps Selenium Manager from looking for a driver on the internet.
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


@pytest.fixture
def screenshots(tmp_path) -> Path:
    folder = Path(os.environ.get("MONITORING_SCREENSHOT_DIR") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# The pages' default range is the last seven days by date: the test sets the clock to noon so
# that a week of data placed before "now" stays inside it at any real time of day.
NOON = datetime.datetime(2026, 6, 17, 12, 0, tzinfo=datetime.UTC)


def _shop_with_traffic() -> None:
    """A week of predictions and clicks, so every chart has something to draw."""
    make_catalogue({f"v{i}": {} for i in range(20)})
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    for day in range(7):
        for n in range(3 + day):
            when = now - datetime.timedelta(days=day, minutes=30 + n)
            model = ("ease", "similarity", "popularity")[n % 3]
            items = [f"v{(day + n + i) % 20}" for i in range(5)]
            prediction(
                items,
                session=f"s{day}-{n}",
                scoring=model,
                type="HOMEPAGE",
                create_at=when,
                durations=(0.002 * (n + 1), 0.01 * (day + 1), 0.001),
            )
            if n % 2 == 0:
                click(
                    items[1],
                    session=f"s{day}-{n}",
                    model=model,
                    type="HOMEPAGE",
                    position=1,
                    create_at=when + datetime.timedelta(seconds=20),
                )
            else:
                enter(items[3], session=f"s{day}-{n}", create_at=when + datetime.timedelta(seconds=40))
    for day, (model, outcome) in enumerate(
        [("ease", "COMPLETED"), ("similarity", "COMPLETED"), ("gru4rec", "SKIPPED")]
    ):
        started = TrainingStarted.objects.create(
            model_name=model, model_identifier=f"{model}_{day}", create_at=now - datetime.timedelta(days=day, hours=2)
        )
        TrainingFinished.objects.create(
            training_id=started.training_id,
            outcome=outcome,
            error="" if outcome == "COMPLETED" else "too few product views",
        )
        if outcome == "COMPLETED":
            TrainingStatistics.objects.create(
                model_name=model,
                model_identifier=f"{model}_{day}",
                duration=12.5 + day,
                peak_memory=240.0,
                peak_memory_percentage=3.1,
                metrics={"ndcg@10": 0.21, "recall@10": 0.34} if model == "ease" else {},
                hyperparameters={"l2": 100.0} if model == "ease" else {"neighbours": 100},
                create_at=started.create_at + datetime.timedelta(seconds=13),
            )


def _wait(driver, condition, timeout: float = 15):
    return WebDriverWait(driver, timeout).until(condition)


def test_staff_logs_in_sees_the_charts_and_reorders_a_cascade(live_server, browser, screenshots, clock):
    clock(NOON)
    get_user_model().objects.create_user("operator", password=PASSWORD, is_staff=True)
    _shop_with_traffic()
    default = list(DEFAULT_CONFIG.product_detail_retrieval_cascade)
    assert config_current().product_detail_retrieval_cascade == tuple(default)
    # Moving popularity up one place swaps it with the model before it.
    up = default.index("popularity")
    reordered_cascade = [*default[: up - 1], "popularity", default[up - 1], *default[up + 1 :]]

    # The pages send an anonymous visitor to the admin login, which brings them back.
    browser.get(f"{live_server.url}/monitoring/performance/")
    _wait(browser, expected_conditions.presence_of_element_located((By.NAME, "username")))
    assert "/admin/login/" in browser.current_url
    browser.find_element(By.NAME, "username").send_keys("operator")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit], button[type=submit]").click()
    _wait(browser, expected_conditions.url_contains("/monitoring/performance/"))

    charts = _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "svg.chart"))
    assert len(charts) == 4
    for chart in charts:
        assert chart.size["width"] > 300 and chart.size["height"] > 100
        assert chart.find_elements(By.CSS_SELECTOR, "path.series, rect[height]"), chart.get_attribute("aria-label")
    assert browser.find_element(By.CSS_SELECTOR, "[data-metric=predictions]").text == str(sum(3 + d for d in range(7)))
    assert browser.find_element(By.CSS_SELECTOR, "[data-metric=hit-rate]").text.endswith("%")
    browser.save_screenshot(str(screenshots / "performance.png"))

    browser.get(f"{live_server.url}/monitoring/training/")
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "[data-train=ease]"))
    browser.save_screenshot(str(screenshots / "training.png"))

    browser.get(f"{live_server.url}/monitoring/configuration/")
    cascade = _wait(
        browser,
        lambda d: d.find_element(By.CSS_SELECTOR, "fieldset[data-cascade=product_detail_retrieval_cascade]"),
    )
    # The script turned the text input into an ordered list with arrows.
    items = _wait(browser, lambda d: cascade.find_elements(By.CSS_SELECTOR, "ol.cascade-list li[data-model]"))
    assert [li.get_attribute("data-model") for li in items] == default
    cascade.find_element(By.CSS_SELECTOR, "li[data-model=popularity] button.up").click()
    reordered = [li.get_attribute("data-model") for li in cascade.find_elements(By.CSS_SELECTOR, "li[data-model]")]
    assert reordered == reordered_cascade
    hidden = cascade.find_element(By.CSS_SELECTOR, "input.cascade-input")
    assert hidden.get_attribute("value") == ", ".join(reordered_cascade)
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", cascade)
    browser.save_screenshot(str(screenshots / "configuration.png"))

    save = browser.find_element(By.ID, "save-configuration")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", save)
    save.click()
    message = _wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "ul.messages li.success"))
    assert "now current" in message.text

    assert ConfigVersion.objects.count() == 1
    assert ConfigVersion.objects.get().created_by == "operator"
    assert config_current().product_detail_retrieval_cascade == tuple(reordered_cascade)
    # Everything the operator did not touch is as it was: the other cascades, every model enabled.
    assert config_current() == dataclasses.replace(
        DEFAULT_CONFIG, product_detail_retrieval_cascade=tuple(reordered_cascade)
    )
