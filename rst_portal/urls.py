from django.contrib import admin
from django.urls import include, path

from contacts.views import home
from regions import views as regions_views

from .views import healthz

admin.site.site_header = "RST Referral Portal: supervisor review"
admin.site.site_title = "RST admin"
admin.site.index_title = "Assignments, regions and specialists"

urlpatterns = [
    path("", home, name="home"),
    path("specialists/", regions_views.specialists, name="specialists"),
    path("specialists.json", regions_views.specialists_json, name="specialists-json"),
    path("healthz", healthz, name="healthz"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("", include("referrals.urls")),
]
