from django.contrib import admin
from django.contrib.admin import AdminSite
from django.urls import include, path

from accounts.pages import public
from referrals.admin.site import view_on_site

from . import views

admin.site.site_header = "RST Referral Portal: supervisor review"
admin.site.site_title = "RST admin"
admin.site.index_title = "Assignments, regions and specialists"
# The admin's own login form is public like /accounts/login/ (the same lockout applies);
# every other admin page is a staff page (accounts.middleware).
public(AdminSite.login)

urlpatterns = [
    path("", public(views.home), name="home"),
    path("specialists/", public(views.specialists), name="specialists"),
    path("specialists.json", public(views.specialists_json), name="specialists-json"),
    path("healthz", public(views.healthz), name="healthz"),
    path("accounts/", include("accounts.urls")),
    # Before the admin's own "view on site" redirect, which would answer for any referral.
    path("admin/r/<int:content_type_id>/<path:object_id>/", view_on_site),
    path("admin/", admin.site.urls),
    path("directory/", include("contacts.urls")),  # staff: the partner directory
    path("", include("referrals.urls")),
]
