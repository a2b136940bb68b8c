"""The staff workspace as specialists and supervisors use it: queue, detail, actions."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from referrals.models import Referral
from regions.models import Jurisdiction, ResourceSpecialist
from tests.factories import ReferralFactory, SpecialistFactory, UserFactory
from tests.helpers import as_user

pytestmark = pytest.mark.usefixtures("reference_data")

ACTION_NAMES = [
    "acknowledge",
    "start",
    "note",
    "contact",
    "close",
    "reopen",
    "transfer",
    "take_over",
]


def texas_referral(**kwargs):
    return ReferralFactory(jurisdiction=Jurisdiction.objects.get(code="TX"), **kwargs)


def listed(response):
    return [r.reference for r in response.context["page"].object_list]


# Access.


def test_anonymous_users_are_sent_to_login(client):
    referral = ReferralFactory()
    urls = ["/queue/", f"/queue/{referral.reference}/"] + [
        f"/queue/{referral.reference}/{name}/" for name in ACTION_NAMES
    ]
    for url in urls:
        response = client.post(url) if url.count("/") == 4 else client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/?next="), url
    assert referral.events.count() == 0


def test_specialist_sees_only_their_region(specialist_user):
    mine = ReferralFactory()  # Minnesota, Region 3
    theirs = texas_referral()
    response = as_user(specialist_user).get("/queue/")
    assert response.status_code == 200
    assert listed(response) == [mine.reference]
    assert theirs.reference not in response.content.decode()


def test_other_regions_referral_is_a_404_like_a_missing_one(specialist_user):
    theirs = texas_referral()
    client = as_user(specialist_user)
    assert client.get(f"/queue/{theirs.reference}/").status_code == 404
    assert client.get("/queue/RST-00000000/").status_code == 404
    for name in ACTION_NAMES:
        response = client.post(
            f"/queue/{theirs.reference}/{name}/",
            {"text": "x", "reason": "x", "outcome": "training", "note": "x", "jurisdiction": "MN"},
        )
        assert response.status_code == 404, name
    theirs.refresh_from_db()
    assert theirs.events.count() == 0
    assert (theirs.status, theirs.jurisdiction_id) == ("new", "TX")


def test_supervisor_sees_every_region_and_the_intake(supervisor_user):
    mine = ReferralFactory()
    theirs = texas_referral()
    intake = ReferralFactory(assigned_specialist=None)
    client = as_user(supervisor_user)
    assert set(listed(client.get("/queue/"))) == {
        mine.reference,
        theirs.reference,
        intake.reference,
    }
    response = client.get("/queue/?scope=intake")
    assert listed(response) == [intake.reference]
    assert "Supervisor intake 1" in response.content.decode()
    assert client.get(f"/queue/{theirs.reference}/").status_code == 200


def test_login_without_a_role_is_refused():
    response = as_user(UserFactory()).get("/queue/")
    assert response.status_code == 403
    assert "not linked to a Resource Specialist" in response.content.decode()


def test_inactive_group_member_without_specialist_link_sees_nothing(reference_data):
    from django.contrib.auth.models import Group

    user = UserFactory()
    user.groups.add(Group.objects.get(name="Resource Specialists"))
    assert as_user(user).get("/queue/").status_code == 403


# The queue.


def test_default_order_overdue_first_then_by_due_time(specialist_user):
    now = timezone.now()
    due_later = ReferralFactory(first_contact_due_at=now + timedelta(hours=20))
    urgent_due_soon = ReferralFactory(
        urgency="urgent", first_contact_due_at=now + timedelta(hours=3)
    )
    overdue = ReferralFactory(first_contact_due_at=now - timedelta(hours=2))
    most_overdue = ReferralFactory(first_contact_due_at=now - timedelta(days=2))
    # Contacted: after every referral still waiting for first contact, however old.
    contacted = ReferralFactory(
        status="acknowledged",
        first_contacted_at=now,
        first_contact_due_at=now - timedelta(days=5),
    )
    closed = ReferralFactory(status="closed", outcome="connected")
    response = as_user(specialist_user).get("/queue/")
    assert listed(response) == [
        most_overdue.reference,
        overdue.reference,
        urgent_due_soon.reference,
        due_later.reference,
        contacted.reference,
    ]
    assert closed.reference not in listed(response)
    flagged = [r.reference for r in response.context["page"].object_list if r.overdue]
    assert flagged == [most_overdue.reference, overdue.reference]


def test_filters(specialist_user):
    stacy = specialist_user.resource_specialist
    colleague = SpecialistFactory(region=stacy.region)
    ack = ReferralFactory(
        status="acknowledged", first_contacted_at=timezone.now(), agency="Ramsey County"
    )
    urgent = ReferralFactory(urgency="urgent")
    colleagues = ReferralFactory(assigned_specialist=colleague)
    overdue = ReferralFactory(
        submitted_at=timezone.now() - timedelta(days=2),
        first_contact_due_at=timezone.now() - timedelta(days=1),
    )
    closed = ReferralFactory(status="closed", outcome="training")
    client = as_user(specialist_user)

    assert listed(client.get("/queue/?status=acknowledged")) == [ack.reference]
    assert listed(client.get("/queue/?status=closed")) == [closed.reference]
    assert len(listed(client.get("/queue/?status=all"))) == 5
    assert listed(client.get("/queue/?urgency=urgent")) == [urgent.reference]
    assert colleagues.reference not in listed(client.get("/queue/?scope=mine"))
    assert colleagues.reference in listed(client.get("/queue/?scope=region"))
    assert listed(client.get("/queue/?overdue=on")) == [overdue.reference]
    assert listed(client.get("/queue/?q=ramsey")) == [ack.reference]
    assert listed(client.get(f"/queue/?q={urgent.reference.lower()}")) == [urgent.reference]
    # Nonsense filter values fall back to the default view rather than failing.
    assert client.get("/queue/?status=bogus&urgency=x&scope=zzz&page=abc").status_code == 200


def test_counts_per_status(specialist_user):
    ReferralFactory.create_batch(2)
    ReferralFactory(status="in_progress", first_contacted_at=timezone.now())
    ReferralFactory(status="closed", outcome="training")
    texas_referral()  # not counted: another region
    html = as_user(specialist_user).get("/queue/").content.decode()
    assert "New 2" in html and "In progress 1" in html and "Closed 1" in html


def test_pagination(specialist_user, settings):
    settings.RST_QUEUE_PAGE_SIZE = 3
    ReferralFactory.create_batch(7)
    client = as_user(specialist_user)
    first = client.get("/queue/?urgency=routine")
    assert len(listed(first)) == 3
    assert "Page 1 of 3" in first.content.decode()
    assert "urgency=routine&amp;page=2" in first.content.decode()
    assert len(listed(client.get("/queue/?urgency=routine&page=3"))) == 1


@pytest.mark.parametrize("role", ["specialist", "supervisor"])
def test_queue_query_count_does_not_grow(
    role, specialist_user, supervisor_user, django_assert_num_queries
):
    client = as_user(specialist_user if role == "specialist" else supervisor_user)
    ReferralFactory.create_batch(5)
    client.get("/queue/")  # warm the session
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        assert client.get("/queue/").status_code == 200
    Referral.objects.bulk_create([ReferralFactory.build() for _ in range(495)])
    with django_assert_num_queries(len(small)):
        response = client.get("/queue/")
    assert len(listed(response)) == 25


# One referral.


def test_detail_shows_everything_the_referrer_sent(client, form_data, specialist_user):
    client.post("/refer/", form_data)
    referral = Referral.objects.get()
    html = as_user(specialist_user).get(f"/queue/{referral.reference}/").content.decode()
    for expected in (
        "Jordan Caseworker",
        "Child welfare professional",
        "Hennepin County Child Protection",
        "jordan@example.org",
        "612-555-0100",
        "Minnesota (MN), Hennepin County",
        "JD, age 15",
        "Missing from care",
        "1234567",
        "seen with an older adult",
        "Case-based assistance developing trauma-informed",
        "auto-routed: MN → Region 3 → Stacy Schultz (0 open)",
        "Submitted",
        "Routed",
        "Acknowledge (first contact made)",
    ):
        assert expected in html, expected


def test_detail_marks_overdue(specialist_user):
    referral = ReferralFactory(first_contact_due_at=timezone.now() - timedelta(minutes=1))
    html = as_user(specialist_user).get(f"/queue/{referral.reference}/").content.decode()
    assert "First contact was due" in html and ">Overdue</span>" in html


def test_detail_query_count_does_not_grow_with_events(specialist_user, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from referrals.services import referral_add_note

    referral = ReferralFactory()
    client = as_user(specialist_user)
    referral_add_note(referral=referral, actor=specialist_user, text="first")
    client.get(referral.get_absolute_url())
    with CaptureQueriesContext(connection) as one:
        client.get(referral.get_absolute_url())
    for n in range(49):
        referral_add_note(referral=referral, actor=specialist_user, text=f"note {n}")
    with django_assert_num_queries(len(one)):
        response = client.get(referral.get_absolute_url())
    assert response.content.decode().count("note ") >= 49


# Actions through the page.


def test_acknowledge_note_close_as_a_specialist(specialist_user):
    referral = ReferralFactory(first_contact_due_at=timezone.now() - timedelta(hours=1))
    client = as_user(specialist_user)
    url = referral.get_absolute_url()

    contact = {"method": "phone", "contacted_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M")}
    response = client.post(url + "acknowledge/", contact, follow=True)
    assert "first contact with the referrer is recorded" in response.content.decode()
    assert ">Overdue</span>" not in response.content.decode()

    response = client.post(url + "note/", {"text": "Spoke with the caseworker."}, follow=True)
    assert "Note added." in response.content.decode()
    assert "Spoke with the caseworker." in response.content.decode()

    response = client.post(
        url + "close/", {"outcome": "connected", "note": "Linked to local CAC."}, follow=True
    )
    assert "Closed: Connected to resources." in response.content.decode()
    referral.refresh_from_db()
    assert referral.status == "closed"
    assert list(referral.events.values_list("kind", flat=True)) == [
        "acknowledged",
        "note",
        "closed",
    ]
    assert set(referral.events.values_list("actor", flat=True)) == {specialist_user.pk}


def test_refused_transition_is_a_message_not_an_error(specialist_user):
    referral = ReferralFactory(status="in_progress", first_contacted_at=timezone.now())
    client = as_user(specialist_user)
    response = client.post(
        referral.get_absolute_url() + "acknowledge/",
        {"method": "phone", "contacted_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M")},
    )
    # Post/redirect/get: the refusal is shown on the referral's own page.
    assert response.status_code == 302
    assert response["Location"] == referral.get_absolute_url()
    assert (
        "Only a new referral can be acknowledged; this one is In progress."
        in client.get(referral.get_absolute_url()).content.decode()
    )
    assert referral.events.count() == 0


def test_invalid_action_form_keeps_what_was_typed(specialist_user):
    referral = ReferralFactory()
    response = as_user(specialist_user).post(
        referral.get_absolute_url() + "close/",
        {"outcome": "", "note": "Half-written note"},
        follow=True,
    )
    assert response.redirect_chain[-1][0].startswith(referral.get_absolute_url())
    html = response.content.decode()
    assert "Choose the outcome the referral is closed with." in html
    assert "Half-written note" in html
    assert Referral.objects.get(pk=referral.pk).status == "new"


def test_contact_attempt_with_future_date_is_refused(specialist_user):
    referral = ReferralFactory()
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    response = as_user(specialist_user).post(
        referral.get_absolute_url() + "contact/",
        {"method": "phone", "outcome": "reached", "contact_date": tomorrow},
        follow=True,
    )
    assert response.redirect_chain[-1][0].startswith(referral.get_absolute_url())
    assert "The contact date cannot be in the future." in response.content.decode()
    assert referral.events.count() == 0


def test_transfer_out_of_my_region_returns_to_the_queue(specialist_user):
    referral = ReferralFactory()
    client = as_user(specialist_user)
    response = client.post(
        referral.get_absolute_url() + "transfer/",
        {"jurisdiction": "AZ", "reason": "Moved to Phoenix"},
    )
    assert response.status_code == 302 and response["Location"] == "/queue/"
    referral.refresh_from_db()
    assert referral.assigned_specialist.name == "Kyla Conlee"
    assert client.get(referral.get_absolute_url()).status_code == 404


def test_take_over_and_reopen(specialist_user, supervisor_user):
    colleague = SpecialistFactory(region=specialist_user.resource_specialist.region)
    referral = ReferralFactory(assigned_specialist=colleague)
    response = as_user(specialist_user).post(
        referral.get_absolute_url() + "take_over/", follow=True
    )
    assert "The referral is now assigned to you." in response.content.decode()
    referral.refresh_from_db()
    assert referral.assigned_specialist == ResourceSpecialist.objects.get(name="Stacy Schultz")

    closed = ReferralFactory(status="closed", outcome="training")
    refused = as_user(specialist_user).post(
        closed.get_absolute_url() + "reopen/", {"reason": "x"}, follow=True
    )
    assert "Only an RST supervisor can do this." in refused.content.decode()
    assert Referral.objects.get(pk=closed.pk).status == "closed"
    reopened = as_user(supervisor_user).post(
        closed.get_absolute_url() + "reopen/", {"reason": "New info"}
    )
    assert reopened.status_code == 302
    assert Referral.objects.get(pk=closed.pk).status == "new"  # never contacted


def test_actions_need_post_and_csrf(specialist_user):
    referral = ReferralFactory()
    client = as_user(specialist_user)
    assert client.get(referral.get_absolute_url() + "acknowledge/").status_code == 405
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(specialist_user)
    assert csrf_client.post(referral.get_absolute_url() + "acknowledge/").status_code == 403
    assert client.post(referral.get_absolute_url() + "explode/").status_code == 404
    assert Referral.objects.get(pk=referral.pk).status == "new"


def test_access_ends_when_the_group_or_the_specialist_is_removed(specialist_user):
    from django.contrib.auth.models import Group

    referral = ReferralFactory()
    assert as_user(specialist_user).get(referral.get_absolute_url()).status_code == 200

    specialist_user.groups.remove(Group.objects.get(name="Resource Specialists"))
    client = as_user(specialist_user)
    assert client.get("/queue/").status_code == 403
    assert client.get(referral.get_absolute_url()).status_code == 403

    specialist_user.groups.add(Group.objects.get(name="Resource Specialists"))
    ResourceSpecialist.objects.filter(user=specialist_user).update(is_active=False)
    assert as_user(specialist_user).get(referral.get_absolute_url()).status_code == 403


def test_a_specialist_moved_to_another_region_keeps_their_own_cases(specialist_user):
    from regions.models import Region

    mine = ReferralFactory()  # Minnesota, assigned to Stacy
    colleagues = ReferralFactory(
        assigned_specialist=SpecialistFactory(region=Region.objects.get(number=3))
    )
    ResourceSpecialist.objects.filter(user=specialist_user).update(
        region=Region.objects.get(number=4)
    )
    client = as_user(specialist_user)
    assert client.get(mine.get_absolute_url()).status_code == 200
    assert client.get(colleagues.get_absolute_url()).status_code == 404
    assert listed(client.get("/queue/?scope=mine")) == [mine.reference]
