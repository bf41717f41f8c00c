"""URL map: the healthcheck, the store and predict API, the dashboard and the admin."""

from django.contrib import admin
from django.urls import path

from recommendations import views as recommendation_views

urlpatterns = [
    path("", recommendation_views.HealthApi.as_view(), name="health"),
    path("admin/", admin.site.urls),
]
