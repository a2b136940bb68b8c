from django.urls import path, re_path

from accounts.pages import public

from .intake import views as intake
from .models import REFERENCE_REGEX
from .workspace import views as workspace

app_name = "referrals"

urlpatterns = [
    # Public: the referral form and its confirmation. Everything else is a staff page.
    path("refer/", public(intake.refer), name="refer"),
    path("refer/submitted/<str:reference>/", public(intake.submitted), name="submitted"),
    path("queue/", workspace.queue, name="queue"),
    re_path(rf"^queue/(?P<reference>{REFERENCE_REGEX})/$", workspace.detail, name="detail"),
    re_path(
        rf"^queue/(?P<reference>{REFERENCE_REGEX})/(?P<action>[a-z_]+)/$",
        workspace.act,
        name="act",
    ),
]
