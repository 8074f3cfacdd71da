from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from icp_portal.login import PortalLoginView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="accounts:account-list"), name="home"),
    path("login/", PortalLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("frameworks/", include("segmentation.urls")),
    # The schema routes come before the API's catch-all 404 route.
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("api/v1/", include("accounts.api.urls")),
    path("governance/", include("audits.urls")),
    path("integrations/", include("integrations.urls")),
]

# Django's default handlers serve 403.html and 500.html from templates/.
handler400 = "icp_portal.errors.bad_request"
handler404 = "icp_portal.errors.page_not_found"
