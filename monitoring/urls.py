"""The dashboard API under the paths the ecoseller backend calls, and the staff pages."""

from django.urls import path
from django.views.generic import RedirectView

from monitoring import views

urlpatterns = [
    path("dashboard", views.DashboardApi.as_view(), name="dashboard"),
    path("dashboard/configuration", views.DashboardConfigurationApi.as_view(), name="dashboard-configuration"),
    path("dashboard/performance", views.DashboardPerformanceApi.as_view(), name="dashboard-performance"),
    path("dashboard/training", views.DashboardTrainingApi.as_view(), name="dashboard-training"),
    path("metrics", views.MetricsApi.as_view(), name="metrics"),
    path("monitoring/", RedirectView.as_view(pattern_name="monitoring-performance"), name="monitoring"),
    path("monitoring/performance/", views.performance_page, name="monitoring-performance"),
    path("monitoring/experiments/", views.experiments_page, name="monitoring-experiments"),
    path("monitoring/experiments/stop/", views.experiment_stop_page, name="monitoring-experiment-stop"),
    path("monitoring/training/", views.training_page, name="monitoring-training"),
    path("monitoring/configuration/", views.configuration_page, name="monitoring-configuration"),
    path("monitoring/train/", views.train_now, name="monitoring-train"),
]
