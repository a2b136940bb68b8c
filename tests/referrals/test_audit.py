"""The access audit: every read of a referral, every export, and nothing for public pages."""

import pytest
from django.test import Client

from referrals.models import ReferralAccess
from tests.factories import ReferralFactory, UserFactory
from tests.helpers import as_user, page_text

pytestmark = pytest.mark.usefixtures("reference_data")

CHANGELIST = "/admin/referrals/referral/"
ACCESS_LOG = "/admin/referrals/referralaccess/"


def test_a_referral_page_view_is_recorded(specialist_user):
    referral = ReferralFactory()
    client = as_user(specialist_user)
    for _ in range(3):
        assert client.get(referral.get_absolute_url()).status_code == 200
    rows = ReferralAccess.objects.filter(referral=referral)
    assert rows.count() == 3
    row = rows.first()
    assert (row.kind, row.user, row.ip_address, row.row_count) == (
        "page",
        specialist_user,
        "127.0.0.1",
        None,
    )


def test_a_refused_or_missing_referral_is_not_recorded_as_read(other_specialist_user):
    referral = ReferralFactory()  # Minnesota: not Region 4's
    assert as_user(other_specialist_user).get(referral.get_absolute_url()).status_code == 404
    assert not ReferralAccess.objects.exists()


def test_the_admin_page_and_an_export_are_recorded(supervisor_user):
    referrals = [ReferralFactory() for _ in range(4)]
    client = as_user(supervisor_user)
    assert client.get(f"{CHANGELIST}{referrals[0].pk}/change/").status_code == 200
    export = client.post(
        CHANGELIST,
        {"action": "export_csv", "_selected_action": [r.pk for r in referrals[:3]]},
    )
    assert export.status_code == 200
    admin_view = ReferralAccess.objects.get(kind="admin")
    assert (admin_view.referral, admin_view.user) == (referrals[0], supervisor_user)
    exported = ReferralAccess.objects.get(kind="export")
    assert (exported.referral, exported.row_count, exported.user) == (None, 3, supervisor_user)


def test_public_pages_and_the_queue_list_record_nothing(client, specialist_user, form_data):
    ReferralFactory()
    for path in ["/", "/specialists/", "/specialists.json", "/refer/", "/accounts/login/"]:
        client.get(path)
    client.post("/refer/", form_data)
    as_user(specialist_user).get("/queue/")
    assert not ReferralAccess.objects.exists()


def test_supervisors_see_who_viewed_a_referral(specialist_user, supervisor_user):
    referral = ReferralFactory()
    as_user(specialist_user).get(referral.get_absolute_url())
    as_user(specialist_user).get(referral.get_absolute_url())
    supervisor = as_user(supervisor_user)
    page = page_text(supervisor.get(referral.get_absolute_url()))
    assert "Viewed by" in page
    assert f"Stacy Schultz ({specialist_user.username}) 2" in page
    admin_page = page_text(supervisor.get(f"{CHANGELIST}{referral.pk}/change/"))
    assert f"Stacy Schultz ({specialist_user.username}) 2" in admin_page
    # Specialists do not see the list.
    assert "Viewed by" not in page_text(as_user(specialist_user).get(referral.get_absolute_url()))


def test_the_access_log_is_filterable_and_nobody_edits_it(supervisor_user, specialist_user):
    referral = ReferralFactory()
    as_user(specialist_user).get(referral.get_absolute_url())
    row = ReferralAccess.objects.get()
    supervisor = as_user(supervisor_user)
    listing = supervisor.get(f"{ACCESS_LOG}?kind__exact=page&q={referral.reference}")
    assert listing.status_code == 200
    assert referral.reference in page_text(listing)
    assert supervisor.get(f"{ACCESS_LOG}?kind__exact=export").context["cl"].result_count == 0
    superuser = as_user(UserFactory(is_superuser=True, is_staff=True))
    for client in (supervisor, superuser):
        assert client.post(f"{ACCESS_LOG}{row.pk}/delete/", {"post": "yes"}).status_code == 403
        assert client.post(f"{ACCESS_LOG}{row.pk}/change/", {"kind": "admin"}).status_code == 403
        assert client.get(f"{ACCESS_LOG}add/").status_code == 403
    assert ReferralAccess.objects.get().kind == "page"
    # Specialists cannot read the log.
    assert as_user(specialist_user).get(ACCESS_LOG).status_code in (302, 403)
    assert Client().get(ACCESS_LOG).status_code == 302
