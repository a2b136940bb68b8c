"""A staff member's own time zone: the profile page, and the middleware that applies it."""

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.utils import dateformat, timezone

from accounts import time_zones
from accounts.middleware import StaffTimeZoneMiddleware
from accounts.models import StaffProfile
from accounts.pages import public
from tests.clock import freeze
from tests.factories import ReferralFactory
from tests.helpers import as_user, page_text

pytestmark = pytest.mark.usefixtures("reference_data")

PROFILE = "/accounts/profile/"
# Wednesday 25 November 2026, 22:30 in New York: already Thursday on Guam.
NOW = datetime(2026, 11, 26, 3, 30, tzinfo=UTC)


def options(html: str) -> list[tuple[str, list[str]]]:
    """The time zone select's option groups and their values, in page order."""
    select = re.search(r'<select name="time_zone".*?</select>', html, re.S).group(0)
    return [
        (label, re.findall(r'<option value="([^"]*)"', group))
        for label, group in re.findall(r'<optgroup label="([^"]+)">(.*?)</optgroup>', select, re.S)
    ]


def selected(html: str) -> list[str]:
    return re.findall(r'<option value="([^"]*)"[^>]*selected', html)


def test_the_page_offers_the_us_zones_first_then_every_zone(specialist_user):
    response = as_user(specialist_user).get(PROFILE)
    assert response.status_code == 200
    groups = options(response.content.decode())
    assert [label for label, _ in groups] == ["US time zones", "All time zones"]
    assert groups[0][1] == [
        "America/New_York",
        "America/Chicago",
        "America/Denver",
        "America/Phoenix",
        "America/Los_Angeles",
        "America/Anchorage",
        "Pacific/Honolulu",
        "America/Puerto_Rico",
        "Pacific/Guam",
        "Pacific/Pago_Pago",
    ]
    every = groups[1][1]
    assert every == sorted(every) and {"Europe/Berlin", "Pacific/Saipan", "UTC"} <= set(every)
    # Nobody chose yet: the office's zone.
    assert selected(response.content.decode()) == [settings.TIME_ZONE]
    assert "Times are shown in Eastern – America/New_York" in page_text(response)


def test_choosing_a_zone_saves_it_and_shows_times_in_it(monkeypatch, specialist_user):
    freeze(monkeypatch, NOW)
    client = as_user(specialist_user)
    response = client.post(PROFILE, {"time_zone": "Pacific/Guam"}, follow=True)
    assert response.redirect_chain == [(PROFILE, 302)]
    text = page_text(response)
    assert (
        "Times are now shown in Chamorro (Guam, Northern Mariana Islands) – Pacific/Guam." in text
    )
    assert StaffProfile.objects.get(user=specialist_user).time_zone == "Pacific/Guam"
    assert selected(response.content.decode()) == ["Pacific/Guam"]
    guam = NOW.astimezone(ZoneInfo("Pacific/Guam"))  # 13:30 on Thursday
    assert f"it is now {dateformat.format(guam, 'g:i A')} ChST on Thursday, November 26" in text


def test_an_unknown_zone_is_refused_with_a_message_and_nothing_is_saved(specialist_user):
    client = as_user(specialist_user)
    client.post(PROFILE, {"time_zone": "America/Chicago"})
    for bad in ["Mars/Olympus_Mons", "", "localtime", "../../etc/passwd"]:
        response = client.post(PROFILE, {"time_zone": bad})
        assert response.status_code == 400, bad
        assert "Choose a time zone from the list." in page_text(response)
        assert StaffProfile.objects.get(user=specialist_user).time_zone == "America/Chicago"
    # The pages keep the zone chosen before.
    assert "Times are shown in Central – America/Chicago" in page_text(client.get(PROFILE))


def test_staff_pages_show_times_in_the_chosen_zone_with_its_abbreviation(
    monkeypatch, supervisor_user
):
    freeze(monkeypatch, NOW)
    referral = ReferralFactory(submitted_at=NOW)
    client = as_user(supervisor_user)
    page = f"/admin/referrals/referral/{referral.pk}/change/"
    eastern = NOW.astimezone(ZoneInfo("America/New_York"))
    assert f"Submitted at: {dateformat.format(eastern, 'N j, Y, P')} EST" in page_text(
        client.get(page)
    )
    client.post(PROFILE, {"time_zone": "America/Puerto_Rico"})
    atlantic = NOW.astimezone(ZoneInfo("America/Puerto_Rico"))
    text = page_text(client.get(page))
    assert f"Submitted at: {dateformat.format(atlantic, 'N j, Y, P')} AST" in text
    assert "Your settings (times in AST)" in text


def test_the_zone_comes_with_the_login_and_costs_no_query_per_page(
    supervisor_user, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = as_user(supervisor_user)
    assert client.session[time_zones.SESSION_KEY] == ""  # the office's
    with CaptureQueriesContext(connection) as office:
        client.get(PROFILE)
        client.get("/admin/")
    StaffProfile.objects.create(user=supervisor_user, time_zone="America/Denver")
    client = as_user(supervisor_user)
    assert client.session[time_zones.SESSION_KEY] == "America/Denver"
    with django_assert_num_queries(len(office)):
        client.get(PROFILE)
        assert "Your settings (times in MST)" in page_text(client.get("/admin/"))


def test_a_session_from_before_the_profile_page_reads_the_zone_once(supervisor_user):
    StaffProfile.objects.create(user=supervisor_user, time_zone="Pacific/Honolulu")
    client = as_user(supervisor_user)
    session = client.session
    del session[time_zones.SESSION_KEY]
    session.save()
    assert "Your settings (times in HST)" in page_text(client.get("/admin/"))
    assert client.session[time_zones.SESSION_KEY] == "Pacific/Honolulu"


def test_the_profile_page_is_a_staff_page(client):
    response = client.get(PROFILE)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert StaffProfile.objects.count() == 0
    assert Client().post(PROFILE, {"time_zone": "Pacific/Guam"}).status_code == 302
    assert StaffProfile.objects.count() == 0


@pytest.mark.parametrize(("zone", "recorded"), [("Pacific/Guam", True), ("", False)])
def test_today_on_a_staff_form_is_the_staff_members_own(
    monkeypatch, specialist_user, zone, recorded
):
    """At 22:30 on Wednesday in New York it is Thursday on Guam: a contact made on Guam's
    Thursday is not "in the future" for a specialist there, and is for one in the office."""
    freeze(monkeypatch, NOW)
    if zone:
        StaffProfile.objects.create(user=specialist_user, time_zone=zone)
    referral = ReferralFactory(submitted_at=NOW)
    response = as_user(specialist_user).post(
        f"/queue/{referral.reference}/contact/",
        {"method": "phone", "outcome": "reached", "contact_date": "2026-11-26", "text": ""},
        follow=True,
    )
    contacts = list(referral.events.filter(kind="contact").values_list("contact_date", flat=True))
    if recorded:
        assert [day.isoformat() for day in contacts] == ["2026-11-26"]
    else:
        assert contacts == []
        assert "future" in page_text(response)


# The middleware, on its own.


def zone_seen_by(request, view) -> str:
    """The zone active while `view` answers `request` through the middleware."""
    seen = {}

    def get_response(request):
        middleware.process_view(request, view, (), {})
        seen["zone"] = timezone.get_current_timezone_name()
        return HttpResponse()

    middleware = StaffTimeZoneMiddleware(get_response)
    middleware(request)
    # Nothing leaks into the next request on this thread.
    assert timezone.get_current_timezone_name() == settings.TIME_ZONE
    return seen["zone"]


def staff_view(request):
    return HttpResponse()


@public
def public_view(request):
    return HttpResponse()


def a_request(user, zone=None):
    request = RequestFactory().get("/")
    request.user = user
    request.session = SessionStore()
    if zone is not None:
        request.session[time_zones.SESSION_KEY] = zone
    return request


def test_the_middleware_activates_each_users_zone_per_request(supervisor_user, specialist_user):
    assert zone_seen_by(a_request(supervisor_user, "Pacific/Guam"), staff_view) == "Pacific/Guam"
    assert zone_seen_by(a_request(specialist_user, ""), staff_view) == settings.TIME_ZONE
    assert zone_seen_by(a_request(supervisor_user, "America/Chicago"), staff_view) == (
        "America/Chicago"
    )


def test_the_middleware_falls_back_to_the_office_zone(supervisor_user):
    # Anonymous visitors, public pages (whoever reads them), and a zone this machine lacks.
    assert zone_seen_by(a_request(AnonymousUser()), staff_view) == settings.TIME_ZONE
    assert zone_seen_by(a_request(supervisor_user, "Pacific/Guam"), public_view) == (
        settings.TIME_ZONE
    )
    assert zone_seen_by(a_request(supervisor_user, "Mars/Olympus"), staff_view) == (
        settings.TIME_ZONE
    )
