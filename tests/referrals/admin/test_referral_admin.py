"""The supervisor's referral admin: who gets in, the list, the actions and the CSV export."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from referrals import lifecycle, services
from referrals.admin.actions import CSV_COLUMNS, REROUTE_REASON
from referrals.deadlines import first_contact_due
from referrals.models import Referral, ReferralEvent
from regions.models import Jurisdiction, ResourceSpecialist
from tests.factories import ReferralFactory, SpecialistFactory, UserFactory
from tests.helpers import as_user, page_text

pytestmark = pytest.mark.usefixtures("reference_data")

CHANGELIST = "/admin/referrals/referral/"


def listed(response):
    return {referral.reference for referral in response.context["cl"].result_list}


SPECIALISTS = {3: "Stacy Schultz", 4: "Kyla Conlee", 5: "Courtney Desilet"}


def specialist(region_number):
    """The real specialist of a region (tests may add others)."""
    return ResourceSpecialist.objects.get(name=SPECIALISTS[region_number])


def referral_in(code, **kwargs):
    return ReferralFactory(jurisdiction=Jurisdiction.objects.get(code=code), **kwargs)


def closed_referral(**kwargs):
    return ReferralFactory(
        status=Referral.Status.CLOSED,
        outcome=Referral.Outcome.CONNECTED,
        first_contacted_at=timezone.now(),
        closed_at=timezone.now(),
        **kwargs,
    )


def run_action(client, action, referrals, **data):
    """Choose an action for the selected rows in the list, as the action bar does."""
    return client.post(
        CHANGELIST,
        {"action": action, "index": 0, "_selected_action": [r.pk for r in referrals], **data},
    )


def apply_action(client, action, referrals, **data):
    """Submit an action's intermediate page, then show the list it redirects to."""
    return client.post(
        CHANGELIST,
        {"action": action, "apply": "1", "_selected_action": [r.pk for r in referrals], **data},
        follow=True,
    )


def kinds(referral):
    return list(referral.events.values_list("kind", flat=True))


# Who gets in.


@pytest.fixture
def staff_specialist(specialist_user):
    specialist_user.is_staff = True
    specialist_user.save(update_fields=["is_staff"])
    return specialist_user


def test_specialist_with_staff_status_is_refused(staff_specialist):
    referral = ReferralFactory()
    client = as_user(staff_specialist)
    for url in [
        CHANGELIST,
        f"{CHANGELIST}{referral.pk}/change/",
        f"{CHANGELIST}workload/",
        "/admin/referrals/referralevent/",
        "/admin/contacts/programcontact/",
        "/admin/contacts/partnerorganization/",
    ]:
        assert client.get(url).status_code == 403, url
    response = run_action(client, "reroute", [referral])
    assert response.status_code == 403
    assert referral.events.count() == 0
    index = client.get("/admin/")
    assert index.status_code == 200
    assert "Workload overview" not in page_text(index)
    assert "/admin/referrals/" not in index.content.decode()


def test_history_link_leads_to_the_event_history(supervisor_user):
    referral = ReferralFactory()
    response = as_user(supervisor_user).get(f"{CHANGELIST}{referral.pk}/history/")
    assert response.status_code == 302
    assert response["Location"] == f"{CHANGELIST}{referral.pk}/change/#events-group"


def test_anonymous_is_sent_to_the_admin_login(client):
    response = client.get(CHANGELIST)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_supervisor_and_superuser_see_the_list(supervisor_user):
    referral = ReferralFactory()
    superuser = UserFactory(is_staff=True, is_superuser=True)
    for user in [supervisor_user, superuser]:
        response = as_user(user).get(CHANGELIST)
        assert response.status_code == 200
        assert referral.reference in page_text(response)


def test_admin_index_links_the_supervisor_to_the_workload_overview(supervisor_user):
    response = as_user(supervisor_user).get("/admin/")
    assert "Workload overview" in page_text(response)
    assert f'href="{CHANGELIST}workload/"' in response.content.decode()


# The list.


def test_list_shows_the_review_columns_and_marks_overdue(supervisor_user):
    now = timezone.now()
    overdue = ReferralFactory(
        submitted_at=now - timedelta(hours=30), first_contact_due_at=now - timedelta(hours=6)
    )
    on_time = referral_in("TX")
    text = page_text(as_user(supervisor_user).get(CHANGELIST))
    for heading in ["Reference", "Region", "Specialist", "Status", "First contact due"]:
        assert heading in text
    rows = dict(re.findall(r"(RST-\w{8}) (.*?)(?= RST-| \d+ referrals? )", text))
    assert rows[overdue.reference].startswith("MN · Region 3 Stacy Schultz New")
    assert rows[overdue.reference].endswith("Yes")  # overdue
    assert rows[on_time.reference].startswith("TX · Region 4 Kyla Conlee New")
    assert rows[on_time.reference].endswith("No")
    assert "Add referral" not in text


@pytest.fixture
def mixed_referrals(supervisor_user):
    """Referrals across regions, statuses and states, by name."""
    now = timezone.now()
    referrals = {
        "overdue": ReferralFactory(
            submitted_at=now - timedelta(hours=30),
            first_contact_due_at=now - timedelta(hours=6),
            agency="Hennepin County Child Protection",
        ),
        "texas": referral_in("TX", urgency=Referral.Urgency.URGENT, referrer_email="cw@tx.example"),
        "intake": ReferralFactory(assigned_specialist=None),
        "closed": closed_referral(jurisdiction=Jurisdiction.objects.get(code="CA")),
        "reviewed": ReferralFactory(reviewed_at=now, reviewed_by=supervisor_user),
    }
    return {name: referral.reference for name, referral in referrals.items()}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("region__id__exact={region4}", {"texas"}),
        ("status=open", {"overdue", "texas", "intake", "reviewed"}),
        ("status=closed", {"closed"}),
        ("assigned_specialist__id__exact={stacy}", {"overdue", "reviewed"}),
        ("urgency__exact=urgent", {"texas"}),
        ("overdue=yes", {"overdue"}),
        ("overdue=no", {"texas", "intake", "closed", "reviewed"}),
        ("reviewed=yes", {"reviewed"}),
        ("reviewed=no", {"overdue", "texas", "intake", "closed"}),
        ("intake=yes", {"intake"}),
        ("q=hennepin", {"overdue"}),
        ("q=cw@tx.example", {"texas"}),
    ],
)
def test_filters_and_search_return_the_right_rows(
    supervisor_user, mixed_referrals, query, expected
):
    query = query.format(region4=specialist(4).region_id, stacy=specialist(3).pk)
    response = as_user(supervisor_user).get(f"{CHANGELIST}?{query}")
    assert response.status_code == 200
    assert listed(response) == {mixed_referrals[name] for name in expected}


def test_search_by_reference_finds_one_referral(supervisor_user, mixed_referrals):
    reference = mixed_referrals["closed"]
    for term in [reference, reference.lower(), reference[4:]]:
        response = as_user(supervisor_user).get(CHANGELIST, {"q": term})
        assert listed(response) == {reference}


def test_list_query_count_does_not_grow_with_the_number_of_referrals(
    supervisor_user, django_assert_num_queries
):
    mn = Jurisdiction.objects.select_related("region").get(code="MN")
    stacy = specialist(3)
    now = timezone.now()

    def add(n):
        batch = ReferralFactory.build_batch(
            n, jurisdiction=mn, region=mn.region, assigned_specialist=stacy
        )
        for i, referral in enumerate(batch):
            referral.submitted_at = now - timedelta(days=i % 400, hours=i % 24)
            referral.first_contact_due_at = first_contact_due(
                submitted_at=referral.submitted_at, urgency=referral.urgency
            )
        Referral.objects.bulk_create(batch)

    client = as_user(supervisor_user)
    url = f"{CHANGELIST}?status=open&q=Agency"
    add(10)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    add(990)
    with django_assert_num_queries(len(queries)):
        response = client.get(url)
    assert response.context["cl"].result_count == 1000


# One referral's page.


def test_referral_page_is_read_only_with_its_history(supervisor_user):
    referral = ReferralFactory(assigned_specialist=None)
    services.referral_reroute(referral=referral, actor=supervisor_user, reason="test")
    client = as_user(supervisor_user)
    url = f"{CHANGELIST}{referral.pk}/change/"
    response = client.get(url)
    text = page_text(response)
    assert response.status_code == 200
    assert "test: auto-routed: MN → Region 3 → Stacy Schultz (0 open)" in text
    assert "Samantha Sahl" in text
    assert 'name="_save"' not in response.content.decode()
    for button in ["Reassign…", "Send back to auto-routing", "Mark assignment reviewed…"]:
        assert button in response.content.decode()

    response = client.post(url, {"review_note": "edited", "assigned_specialist": ""})
    assert response.status_code == 403
    referral.refresh_from_db()
    assert referral.review_note == ""
    assert referral.events.count() == 1


def test_referral_cannot_be_deleted_in_the_admin(supervisor_user):
    referral = ReferralFactory()
    client = as_user(supervisor_user)
    assert client.get(f"{CHANGELIST}{referral.pk}/delete/").status_code == 403
    assert 'value="delete_selected"' not in client.get(CHANGELIST).content.decode()
    run_action(client, "delete_selected", [referral])
    assert Referral.objects.filter(pk=referral.pk).exists()


def test_buttons_on_the_referral_page_return_there(supervisor_user):
    referral = ReferralFactory(assigned_specialist=None)
    response = as_user(supervisor_user).post(
        CHANGELIST,
        {"action": "reroute", "_selected_action": referral.pk, "_from_change_page": "1"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == f"{CHANGELIST}{referral.pk}/change/"
    assert "Sent 1 referral back to auto-routing" in page_text(response)


# Reassign.


def test_reassign_offers_active_specialists_then_records_each_reassignment(supervisor_user):
    first, second = ReferralFactory(), ReferralFactory(assigned_specialist=None)
    inactive = SpecialistFactory(name="Gone Away", region=specialist(3).region, is_active=False)
    kyla = specialist(4)
    client = as_user(supervisor_user)

    page = run_action(client, "reassign", [first, second])
    assert page.status_code == 200
    text = page_text(page)
    assert "Kyla Conlee (0 open)" in text and "Stacy Schultz (1 open)" in text
    assert inactive.name not in text
    assert first.reference in text and second.reference in text

    response = apply_action(
        client, "reassign", [first, second], specialist=kyla.pk, note="Child moved to Texas"
    )
    assert "Reassigned 2 referrals to Kyla Conlee." in page_text(response)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.assigned_specialist, first.region) == (kyla, kyla.region)
    assert second.assigned_specialist == kyla
    event = first.events.get()
    assert (event.kind, event.actor, event.specialist) == ("reassigned", supervisor_user, kyla)
    assert event.message == (
        "reassigned by supervisor: Stacy Schultz → Kyla Conlee. Child moved to Texas"
    )
    assert second.events.get().message.startswith("reassigned by supervisor: intake → Kyla")


def test_reassign_refuses_an_inactive_specialist(supervisor_user):
    referral = ReferralFactory()
    inactive = SpecialistFactory(name="Gone Away", region=specialist(3).region, is_active=False)
    response = apply_action(
        as_user(supervisor_user), "reassign", [referral], specialist=inactive.pk
    )
    assert response.status_code == 200  # the page again, with the reason on the field
    assert services.REASSIGN_INACTIVE.format(name="Gone Away") in page_text(response)
    referral.refresh_from_db()
    assert referral.assigned_specialist == specialist(3)
    assert referral.events.count() == 0


def test_reassign_reports_refused_referrals_and_does_the_rest(supervisor_user):
    closed = closed_referral()
    already_kylas = referral_in("TX")
    movable = ReferralFactory()
    kyla = specialist(4)
    response = apply_action(
        as_user(supervisor_user), "reassign", [closed, already_kylas, movable], specialist=kyla.pk
    )
    text = page_text(response)
    assert response.status_code == 200
    assert "Reassigned 1 referral to Kyla Conlee." in text
    assert f"1 referral not reassigned ({closed.reference}): {lifecycle.ALREADY_CLOSED}" in text
    assert (
        f"1 referral not reassigned ({already_kylas.reference}): "
        + services.REASSIGN_SAME.format(name="Kyla Conlee")
    ) in text
    assert kinds(movable) == ["reassigned"]
    assert kinds(closed) == [] and kinds(already_kylas) == []


# Send back to auto-routing.


def test_reroute_routes_again_and_refuses_closed_referrals(supervisor_user):
    intake = ReferralFactory(assigned_specialist=None)
    closed = closed_referral(assigned_specialist=None)
    response = as_user(supervisor_user).post(
        CHANGELIST,
        {"action": "reroute", "index": 0, "_selected_action": [intake.pk, closed.pk]},
        follow=True,
    )
    text = page_text(response)
    assert (
        "Sent 1 referral back to auto-routing: 1 assigned to a specialist, 0 in supervisor intake."
    ) in text
    assert f"1 referral not re-routed ({closed.reference}): {lifecycle.ALREADY_CLOSED}" in text
    intake.refresh_from_db()
    assert intake.assigned_specialist == specialist(3)
    event = intake.events.get()
    assert (event.kind, event.actor) == ("routed", supervisor_user)
    assert event.message == f"{REROUTE_REASON}: auto-routed: MN → Region 3 → Stacy Schultz (0 open)"
    assert kinds(closed) == []


# Mark reviewed.


def test_mark_reviewed_records_who_when_and_the_note(supervisor_user):
    referrals = [ReferralFactory(), closed_referral()]
    client = as_user(supervisor_user)
    page = run_action(client, "mark_reviewed", referrals)
    assert page.status_code == 200
    assert "Review note (optional)" in page_text(page)

    before = timezone.now()
    response = apply_action(client, "mark_reviewed", referrals, note="Assignment is right.")
    assert "Marked 2 referrals reviewed." in page_text(response)
    for referral in referrals:
        referral.refresh_from_db()
        assert referral.reviewed_by == supervisor_user
        assert referral.reviewed_at >= before
        assert referral.review_note == "Assignment is right."
        event = referral.events.get()
        assert (event.kind, event.actor, event.message) == (
            ReferralEvent.Kind.REVIEWED,
            supervisor_user,
            "Assignment is right.",
        )
    assert listed(client.get(CHANGELIST, {"reviewed": "no"})) == set()


def test_mark_reviewed_without_a_note(supervisor_user):
    referral = ReferralFactory()
    apply_action(as_user(supervisor_user), "mark_reviewed", [referral], note="")
    referral.refresh_from_db()
    assert referral.reviewed_at is not None and referral.review_note == ""
    assert kinds(referral) == ["reviewed"]


# CSV export.


def test_csv_export_has_the_workload_columns_and_nothing_about_the_child(supervisor_user):
    now = timezone.now()
    overdue = ReferralFactory(
        child_initials="QZX",
        child_age=19,
        summary="Seen near the bus station with an older adult; very worried.",
        submitted_at=now - timedelta(hours=30),
        first_contact_due_at=now - timedelta(hours=6),
        agency="Ramsey County",
    )
    closed = closed_referral(
        jurisdiction=Jurisdiction.objects.get(code="CA"), reviewed_at=now, child_initials="QZX"
    )
    response = run_action(as_user(supervisor_user), "export_csv", [overdue, closed])
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    content = response.content.decode()
    rows = list(csv.reader(io.StringIO(content)))
    assert (
        rows[0]
        == CSV_COLUMNS
        == [
            "reference",
            "jurisdiction",
            "region",
            "specialist",
            "status",
            "urgency",
            "submitted",
            "first contact due",
            "first contacted",
            "overdue",
            "closed",
            "outcome",
            "reviewed",
        ]
    )
    by_reference = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert set(by_reference) == {overdue.reference, closed.reference}
    first = by_reference[overdue.reference]
    assert (first["jurisdiction"], first["region"], first["specialist"]) == (
        "MN",
        "Region 3",
        "Stacy Schultz",
    )
    assert (first["status"], first["overdue"], first["reviewed"]) == ("New", "yes", "")
    last = by_reference[closed.reference]
    assert (last["status"], last["outcome"], last["overdue"]) == (
        "Closed",
        "Connected to resources",
        "no",
    )
    assert last["closed"] and last["reviewed"]
    for secret in ["QZX", "bus station", "Ramsey", "alex@example.org", "Alex Referrer"]:
        assert secret not in content
    assert "19" not in {cell for row in rows for cell in row}  # the child's age


def test_applying_a_reassignment_does_not_count_every_workload(supervisor_user, monkeypatch):
    """The workload figures label the choices on the page; applying needs none of them."""
    from referrals.admin import forms as admin_forms

    referral = ReferralFactory()
    kyla = specialist(4)

    def not_needed(**kwargs):
        raise AssertionError("the workload aggregate ran while applying the action")

    monkeypatch.setattr(admin_forms, "specialist_workloads", not_needed)
    response = apply_action(as_user(supervisor_user), "reassign", [referral], specialist=kyla.pk)
    assert "Reassigned 1 referral to Kyla Conlee." in page_text(response)
