from django.contrib import admin
from django.urls import include, path

from . import views

admin.site.site_header = "RST Referral Portal: supervisor review"
admin.site.site_title = "RST admin"
admin.site.index_title = "Assignments, regions and specialists"

urlpatterns = [
    path("", views.home, name="home"),
    path("specialists/", views.specialists, name="specialists"),
    path("specialists.json", views.specialists_json, name="specialists-json"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("directory/", include("contacts.urls")),  # staff: the partner directory
    path("", include("referrals.urls")),
]
