"""URL map: the healthcheck, the store and predict APIs, the dashboard, the metrics, the OpenAPI
schema with its browsable UI, and the admin."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from recommendations import views as prediction_views
from rs_project.health import HealthApi
from store import views as store_views

urlpatterns = [
    path("", HealthApi.as_view(), name="health"),
    path("store_object", store_views.StoreObjectApi.as_view(), name="store-object"),
    path("store_objects", store_views.StoreObjectsApi.as_view(), name="store-objects"),
    path("predict", prediction_views.PredictApi.as_view(), name="predict"),
    path("predict/product_positions", prediction_views.ProductPositionsApi.as_view(), name="product-positions"),
    path("", include("monitoring.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/schema/swagger-ui/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/schema/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("admin/", admin.site.urls),
]

handler400 = "core.exceptions.bad_request"
handler403 = "core.exceptions.permission_denied"
handler404 = "core.exceptions.not_found"
handler500 = "core.exceptions.server_error"
