from django.urls import path, re_path

from accounts.pages import public

from .intake import views as intake
from .models import REFERENCE_REGEX
from .status import views as status
from .workspace import duplicates as workspace_duplicates
from .workspace import status_links as workspace_status_links
from .workspace import views as workspace

app_name = "referrals"

urlpatterns = [
    # Public: the referral form and its confirmation. Everything else is a staff page.
    path("refer/", public(intake.refer), name="refer"),
    path("refer/submitted/<str:reference>/", public(intake.submitted), name="submitted"),
    # The referrer's private status page: the token is the only key (referrals/status_links.py).
    path("status/<str:token>/", public(status.status_page), name="status"),
    path("queue/", workspace.queue, name="queue"),
    re_path(rf"^queue/(?P<reference>{REFERENCE_REGEX})/$", workspace.detail, name="detail"),
    re_path(
        rf"^queue/(?P<reference>{REFERENCE_REGEX})/(?P<action>[a-z_]+)/$",
        workspace.act,
        name="act",
    ),
    re_path(
        rf"^queue/(?P<reference>{REFERENCE_REGEX})/duplicates/(?P<pk>[0-9]{{1,18}})/"
        r"(?P<decision>confirm|dismiss)/$",
        workspace_duplicates.resolve,
        name="duplicate_resolve",
    ),
    re_path(
        rf"^queue/(?P<reference>{REFERENCE_REGEX})/status-links/(?P<change>revoke|send)/$",
        workspace_status_links.change,
        name="status_links",
    ),
]
