from django.urls import path, re_path

from . import queue_views, views
from .models import REFERENCE_REGEX

app_name = "referrals"

urlpatterns = [
    path("refer/", views.refer, name="refer"),
    path("refer/submitted/<str:reference>/", views.submitted, name="submitted"),
    path("queue/", queue_views.queue, name="queue"),
    re_path(rf"^queue/(?P<reference>{REFERENCE_REGEX})/$", queue_views.detail, name="detail"),
    re_path(
        rf"^queue/(?P<reference>{REFERENCE_REGEX})/(?P<action>[a-z_]+)/$",
        queue_views.act,
        name="act",
    ),
]
