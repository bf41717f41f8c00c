"""The dashboard: the JSON API the ecoseller dashboard reads (`/dashboard...`, token-protected
like the rest of the API) and the built-in pages for staff (`/monitoring/...`). Views parse the
input and delegate to the selectors, services and builders."""

from __future__ import annotations

import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from core.auth import TokenProtectedMixin
from core.metrics import metrics_exposition
from core.openapi import error_responses
from modelstore.selectors import config_version_current
from monitoring import openapi, selectors, serializers
from monitoring.charts import performance_charts
from monitoring.forms import ConfigurationForm, DateRangeForm, ExperimentStartForm
from monitoring.metrics import ModelStoreCollector
from monitoring.services import TrainingRequestError, training_request_from_dashboard
from recommendations.config import ConfigError
from recommendations.selectors import config_current
from recommendations.services import config_version_create, experiment_start, experiment_stop

# --- JSON API ---------------------------------------------------------------------------


def _date_range(request) -> selectors.DateRange:
    serializer = serializers.DateRangeSerializer(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.to_date_range()


_RANGE_PARAMETERS = [
    OpenApiParameter(
        name,
        {"type": "string", "format": "date-time"},
        required=True,
        description=f"{serializers.DATE_HELP} A date alone is its whole day; both bounds are inclusive.",
        examples=[OpenApiExample("toISOString", value=example)],
    )
    for name, example in (("date_from", "2023-07-01T00:00:00.000Z"), ("date_to", "2023-07-08T00:00:00.000Z"))
]


def _dashboard_schema(body: dict, description: str, *, with_range: bool = True):
    return extend_schema(
        parameters=_RANGE_PARAMETERS if with_range else None,
        responses={
            200: OpenApiResponse(body, description=description),
            **error_responses(*((400, 401, 503) if with_range else (401, 503))),
        },
    )


class DashboardConfigurationApi(TokenProtectedMixin, APIView):
    """`GET /dashboard/configuration`: models, current config and field info (contract 8.1)."""

    @_dashboard_schema(openapi.CONFIGURATION, "Models, the current config and its field titles.", with_range=False)
    def get(self, request):
        config = config_current()
        return Response(serializers.configuration_body(config=config, states=selectors.model_states(config=config)))


class DashboardPerformanceApi(TokenProtectedMixin, APIView):
    """`GET /dashboard/performance?date_from&date_to` (contract 8.2)."""

    @_dashboard_schema(openapi.PERFORMANCE, "Performance in the range, general, per model and per experiment arm.")
    def get(self, request):
        date_range = _date_range(request)
        report = selectors.performance_report(date_range=date_range)
        config = config_current()
        return Response(
            serializers.performance_body(
                report=report,
                states=selectors.model_states(config=config),
                experiments=selectors.experiment_reports(report=report, config=config),
            )
        )


class DashboardTrainingApi(TokenProtectedMixin, APIView):
    """`GET /dashboard/training?date_from&date_to` (contract 8.3)."""

    @_dashboard_schema(openapi.TRAINING, "Trainings in the range, general and per model.")
    def get(self, request):
        date_range = _date_range(request)
        report = selectors.training_report(date_range=date_range)
        return Response(serializers.training_body(report=report, states=selectors.model_states()))


class DashboardApi(TokenProtectedMixin, APIView):
    """`GET /dashboard?date_from&date_to`: everything the dashboard shows in one answer, the three
    bodies above under `configuration`, `performance` and `training`."""

    @_dashboard_schema(openapi.DASHBOARD, "The three bodies above in one answer.")
    def get(self, request):
        date_range = _date_range(request)
        config = config_current()
        states = selectors.model_states(config=config)
        performance = selectors.performance_report(date_range=date_range)
        return Response(
            {
                "dateFrom": date_range.start.isoformat(),
                "dateTo": date_range.end.isoformat(),
                "configuration": serializers.configuration_body(config=config, states=states),
                "performance": serializers.performance_body(
                    report=performance,
                    states=states,
                    experiments=selectors.experiment_reports(report=performance, config=config),
                ),
                "training": serializers.training_body(
                    report=selectors.training_report(date_range=date_range), states=states
                ),
            }
        )


class PrometheusTextRenderer(BaseRenderer):
    """Lets a scraper that accepts only `text/plain` in; an error body is still JSON."""

    media_type = "text/plain"
    format = "txt"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return JSONRenderer().render(data)


class MetricsApi(TokenProtectedMixin, APIView):
    """`GET /metrics`: the Prometheus text format, summed over the server's worker processes
    (see `core.metrics`), plus the model store's figures read now."""

    renderer_classes = [JSONRenderer, PrometheusTextRenderer]

    @extend_schema(
        operation_id="metrics",
        responses={
            (200, "text/plain"): OpenApiResponse(openapi.METRICS_TEXT, description="The metrics."),
            **error_responses(401),
        },
    )
    def get(self, request):
        body, content_type = metrics_exposition(ModelStoreCollector())
        return HttpResponse(body, content_type=content_type)


# --- pages ------------------------------------------------------------------------------


def _range_context(request: HttpRequest) -> tuple[selectors.DateRange, dict]:
    form = DateRangeForm(request.GET or None)
    today = timezone.localdate()
    quick = [
        (
            label,
            urlencode(
                {"date_from": (today - datetime.timedelta(days=days - 1)).isoformat(), "date_to": today.isoformat()}
            ),
        )
        for label, days in (("Today", 1), ("7 days", 7), ("30 days", 30), ("90 days", 90))
    ]
    date_range = form.date_range()
    return date_range, {"range_form": form, "date_range": date_range, "quick_ranges": quick}


@staff_member_required
def performance_page(request: HttpRequest) -> HttpResponse:
    date_range, range_context = _range_context(request)
    report = selectors.performance_report(date_range=date_range, with_daily=True)
    models = [(name, figures) for name, figures in report.model_specific.items()]
    return render(
        request,
        "monitoring/performance.html",
        {
            "page": "performance",
            **range_context,
            "report": report,
            "models": models,
            "charts": performance_charts(report),
            "experiments": selectors.experiment_reports(report=report, config=config_current()),
            "metric_titles": _experiment_metric_titles(report.k),
            "info": {
                key: {part: text.replace("%k%", str(report.k)) for part, text in texts.items()}
                for key, texts in selectors.PERFORMANCE_INFO.items()
            },
        },
    )


def _experiment_metric_titles(k: int) -> list[str]:
    return [selectors.PERFORMANCE_INFO[key]["title"].replace("%k%", str(k)) for key in selectors.EXPERIMENT_METRICS]


@staff_member_required
@require_http_methods(["GET", "POST"])
def experiments_page(request: HttpRequest) -> HttpResponse:
    """The experiments with each arm's figures for the range, and a form that starts a new one."""
    form = ExperimentStartForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            version = experiment_start(
                name=form.cleaned_data["name"], arms=form.arms(), created_by=request.user.get_username()
            )
        except ConfigError as error:
            form.add_config_errors(error)
        else:
            messages.success(
                request,
                f"Experiment {form.cleaned_data['name']} started (configuration version {version.pk}); "
                "every new request of a session is served by its arm.",
            )
            return redirect("monitoring-experiments")
    date_range, range_context = _range_context(request)
    report = selectors.performance_report(date_range=date_range)
    config = config_current()
    return render(
        request,
        "monitoring/experiments.html",
        {
            "page": "experiments",
            **range_context,
            "experiments": selectors.experiment_reports(report=report, config=config),
            "metric_titles": _experiment_metric_titles(report.k),
            "form": form,
            "running": config.active_experiment(),
            "info": selectors.PERFORMANCE_INFO["experiments"],
        },
        status=400 if form.errors else 200,
    )


@staff_member_required
@require_POST
def experiment_stop_page(request: HttpRequest) -> HttpResponse:
    name = request.POST.get("name", "")
    try:
        version = experiment_stop(name=name, created_by=request.user.get_username())
    except ConfigError as error:
        messages.error(request, " ".join(message for messages_ in error.errors.values() for message in messages_))
    else:
        messages.success(
            request,
            f"Experiment {name} stopped (configuration version {version.pk}); every session gets the base config.",
        )
    return redirect("monitoring-experiments")


@staff_member_required
def training_page(request: HttpRequest) -> HttpResponse:
    date_range, range_context = _range_context(request)
    report = selectors.training_report(date_range=date_range)
    states = serializers.ordered_states(selectors.model_states(), with_dummy=True)
    return render(
        request,
        "monitoring/training.html",
        {
            "page": "training",
            **range_context,
            "general": report.general,
            "models": [(state, report.model_specific.get(state.name)) for state in states],
            "history": selectors.training_history(date_range=date_range),
        },
    )


@staff_member_required
@require_http_methods(["GET", "POST"])
def configuration_page(request: HttpRequest) -> HttpResponse:
    config = config_current()
    form = ConfigurationForm(request.POST or None, config=config)
    if request.method == "POST" and form.is_valid():
        try:
            version = config_version_create(payload=form.to_payload(), created_by=request.user.get_username())
        except ConfigError as error:
            form.add_config_errors(error)
        else:
            messages.success(request, f"Saved configuration version {version.pk}; it is now current.")
            return redirect("monitoring-configuration")
    return render(
        request,
        "monitoring/configuration.html",
        {
            "page": "configuration",
            "form": form,
            "version": config_version_current(),
            "states": serializers.ordered_states(selectors.model_states(config=config), with_dummy=True),
        },
        status=400 if form.errors else 200,
    )


@staff_member_required
@require_POST
def train_now(request: HttpRequest) -> HttpResponse:
    model_name = request.POST.get("model_name", "")
    try:
        item, created = training_request_from_dashboard(
            model_name=model_name, requested_by=f"dashboard:{request.user.get_username()}"
        )
    except TrainingRequestError as error:
        messages.error(request, str(error))
    else:
        if created:
            messages.success(request, f"Training of {model_name} queued (#{item.pk}); the trainer picks it up next.")
        else:
            messages.info(request, f"A training of {model_name} is already waiting in the queue (#{item.pk}).")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("monitoring-training")
    return redirect(target)
