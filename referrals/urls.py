from django.urls import path, re_path

from .intake import views as intake
from .models import REFERENCE_REGEX
from .workspace import views as workspace

app_name = "referrals"

urlpatterns = [
    path("refer/", intake.refer, name="refer"),
    path("refer/submitted/<str:reference>/", intake.submitted, name="submitted"),
    path("queue/", workspace.queue, name="queue"),
    re_path(rf"^queue/(?P<reference>{REFERENCE_REGEX})/$", workspace.detail, name="detail"),
    re_path(
        rf"^queue/(?P<reference>{REFERENCE_REGEX})/(?P<action>[a-z_]+)/$",
        workspace.act,
        name="act",
    ),
]
