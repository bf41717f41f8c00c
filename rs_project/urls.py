"""URL map: the healthcheck, the store and predict API, the dashboard and the admin."""

from django.contrib import admin
from django.urls import include, path

from recommendations import prediction_views
from recommendations import views as recommendation_views

urlpatterns = [
    path("", recommendation_views.HealthApi.as_view(), name="health"),
    path("store_object", recommendation_views.StoreObjectApi.as_view(), name="store-object"),
    path("store_objects", recommendation_views.StoreObjectsApi.as_view(), name="store-objects"),
    path("predict", prediction_views.PredictApi.as_view(), name="predict"),
    path("predict/product_positions", prediction_views.ProductPositionsApi.as_view(), name="product-positions"),
    path("", include("monitoring.urls")),
    path("admin/", admin.site.urls),
]

handler400 = "rs_project.exceptions.bad_request"
handler403 = "rs_project.exceptions.permission_denied"
handler404 = "rs_project.exceptions.not_found"
handler500 = "rs_project.exceptions.server_error"
