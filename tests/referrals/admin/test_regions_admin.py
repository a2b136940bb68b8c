"""The supervisor's admin for the jurisdiction mapping, regions and specialists."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from referrals.admin.regions import REROUTE_ACTION_LABEL, REROUTE_REASON
from referrals.models import Referral
from regions.models import Jurisdiction, Region, ResourceSpecialist
from tests.factories import ReferralFactory
from tests.helpers import as_user, page_text

pytestmark = pytest.mark.usefixtures("reference_data")

JURISDICTIONS = "/admin/regions/jurisdiction/"
SPECIALISTS = "/admin/regions/resourcespecialist/"


def region(number):
    return Region.objects.get(number=number)


def specialist(name):
    return ResourceSpecialist.objects.get(name=name)


def in_state(code, **kwargs):
    return ReferralFactory(jurisdiction=Jurisdiction.objects.get(code=code), **kwargs)


def closed_in(code):
    return in_state(
        code,
        status=Referral.Status.CLOSED,
        outcome=Referral.Outcome.CONNECTED,
        first_contacted_at=timezone.now(),
        closed_at=timezone.now(),
    )


def remap(client, code, region_number):
    """Save the jurisdiction's change form with a new region (None: unmapped)."""
    new_region = region(region_number).pk if region_number else ""
    return client.post(
        f"{JURISDICTIONS}{code}/change/", {"region": new_region, "_save": "Save"}, follow=True
    )


def reroute(client, *codes):
    return client.post(
        JURISDICTIONS,
        {"action": "reroute_open_referrals", "index": 0, "_selected_action": list(codes)},
        follow=True,
    )


@pytest.fixture
def minnesota_referrals():
    """Two open and one closed referral in Minnesota (Region 3), one open in Wisconsin."""
    return {
        "new": in_state("MN"),
        "acknowledged": in_state(
            "MN", status=Referral.Status.ACKNOWLEDGED, first_contacted_at=timezone.now()
        ),
        "closed": closed_in("MN"),
        "wisconsin": in_state("WI"),
    }


# Who gets in.


@pytest.mark.parametrize(
    "url", ["/admin/regions/region/", JURISDICTIONS, SPECIALISTS, f"{JURISDICTIONS}MN/change/"]
)
def test_only_supervisors_reach_the_regions_admin(specialist_user, supervisor_user, url):
    specialist_user.is_staff = True
    specialist_user.save(update_fields=["is_staff"])
    assert as_user(specialist_user).get(url).status_code == 403
    assert as_user(supervisor_user).get(url).status_code == 200


def test_regions_list_shows_the_mapping_and_specialists(supervisor_user):
    text = page_text(as_user(supervisor_user).get("/admin/regions/region/"))
    assert "Region 3 – Midwest IA IL IN KS MI MN MO ND NE OH SD WI Stacy Schultz" in text
    assert "Add region" not in text


# The jurisdiction → region mapping.


def test_changing_a_region_reports_affected_open_referrals_and_moves_none(
    supervisor_user, minnesota_referrals
):
    response = remap(as_user(supervisor_user), "MN", 4)
    text = page_text(response)
    assert response.status_code == 200
    assert (
        "Minnesota (MN) now routes to Region 4. 2 open referrals from MN are in another "
        "region and have not been moved. To route them again, select MN and run "
        f"“{REROUTE_ACTION_LABEL}”."
    ) in text
    assert Jurisdiction.objects.get(code="MN").region == region(4)
    for referral in minnesota_referrals.values():
        referral.refresh_from_db()
        assert referral.region == region(3)
        assert referral.events.count() == 0


def test_changing_something_else_or_nothing_says_nothing_about_referrals(
    supervisor_user, minnesota_referrals
):
    text = page_text(remap(as_user(supervisor_user), "MN", 3))
    assert "now routes to" not in text


def test_mapping_a_jurisdiction_with_no_open_referrals(supervisor_user, minnesota_referrals):
    text = page_text(remap(as_user(supervisor_user), "IA", 4))
    assert "Iowa (IA) now routes to Region 4. No open referral is affected." in text


def test_list_counts_open_referrals_not_in_the_jurisdictions_region(
    supervisor_user, minnesota_referrals
):
    client = as_user(supervisor_user)
    remap(client, "MN", 4)
    in_state("TX", region=region(3), assigned_specialist=specialist("Stacy Schultz"))
    response = client.get(JURISDICTIONS)
    counts = {j.code: j.open_outside_region for j in response.context["cl"].result_list}
    assert counts["MN"] == 2  # the closed one does not count
    assert counts["TX"] == 1  # reassigned by hand to another region's specialist
    assert counts["WI"] == 0
    assert sum(counts.values()) == 3
    assert "Open referrals not in this region" in page_text(response)


def test_reroute_action_moves_only_the_open_referrals_with_events(
    supervisor_user, minnesota_referrals
):
    client = as_user(supervisor_user)
    remap(client, "MN", 4)
    response = reroute(client, "MN", "WI")
    text = page_text(response)
    assert (
        "Re-routed 2 open referrals (MN: 2): 2 assigned to a specialist, 0 in supervisor intake."
    ) in text
    kyla = specialist("Kyla Conlee")
    for name in ["new", "acknowledged"]:
        referral = minnesota_referrals[name]
        referral.refresh_from_db()
        assert (referral.region, referral.assigned_specialist) == (region(4), kyla)
        assert referral.status == name  # routing does not touch the lifecycle
        event = referral.events.get()
        assert (event.kind, event.actor, event.specialist) == ("routed", supervisor_user, kyla)
        assert event.message.startswith(f"{REROUTE_REASON}: auto-routed: MN → Region 4 → Kyla")
    for name in ["closed", "wisconsin"]:
        referral = minnesota_referrals[name]
        referral.refresh_from_db()
        assert (referral.region, referral.assigned_specialist) == (
            region(3),
            specialist("Stacy Schultz"),
        )
        assert referral.events.count() == 0

    again = page_text(reroute(client, "MN"))
    assert "No open referral of the selected jurisdictions is outside its region." in again


def test_unmapping_a_jurisdiction_sends_its_open_referrals_to_supervisor_intake(
    supervisor_user, minnesota_referrals
):
    client = as_user(supervisor_user)
    text = page_text(remap(client, "MN", None))
    assert (
        "Minnesota (MN) now routes to supervisor intake (no region). 2 open referrals from MN"
        in text
    )
    text = page_text(reroute(client, "MN"))
    assert "Re-routed 2 open referrals (MN: 2): 0 assigned to a specialist, 2 in" in text
    referral = minnesota_referrals["new"]
    referral.refresh_from_db()
    assert (referral.region, referral.assigned_specialist) == (None, None)
    assert referral.events.get().message == (
        f"{REROUTE_REASON}: supervisor intake: MN is not mapped to a region"
    )


def test_mapping_can_be_edited_in_the_list(supervisor_user, minnesota_referrals):
    client = as_user(supervisor_user)
    formset = client.get(JURISDICTIONS).context["cl"].formset
    data = {
        "form-TOTAL_FORMS": str(formset.total_form_count()),
        "form-INITIAL_FORMS": str(formset.initial_form_count()),
        "_save": "Save",
    }
    for i, form in enumerate(formset.forms):
        data[f"form-{i}-code"] = form.instance.code
        region_id = form.instance.region_id
        if form.instance.code == "MN":
            region_id = region(5).pk
        data[f"form-{i}-region"] = region_id or ""
    text = page_text(client.post(JURISDICTIONS, data, follow=True))
    assert "Minnesota (MN) now routes to Region 5. 2 open referrals from MN" in text
    assert Jurisdiction.objects.get(code="MN").region == region(5)
    assert Jurisdiction.objects.get(code="WI").region == region(3)


def test_jurisdiction_list_query_count_is_fixed(supervisor_user, django_assert_num_queries):
    client = as_user(supervisor_user)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(JURISDICTIONS).status_code == 200
    for code in ["MN", "TX", "CA", "NY"]:
        ReferralFactory.create_batch(5, jurisdiction=Jurisdiction.objects.get(code=code))
    with django_assert_num_queries(len(queries)):
        assert client.get(JURISDICTIONS).status_code == 200


# Specialists' availability.


def test_supervisor_marks_a_specialist_out_of_office_and_is_told_about_their_cases(
    supervisor_user,
):
    stacy = specialist("Stacy Schultz")
    in_state("MN")
    back = timezone.localdate() + timedelta(days=7)
    response = as_user(supervisor_user).post(
        f"{SPECIALISTS}{stacy.pk}/change/",
        {
            "name": stacy.name,
            "region": stacy.region_id,
            "email": stacy.email,
            "phone": stacy.phone,
            "is_active": "on",
            "out_of_office_until": back.isoformat(),
            "user": "",
            "_save": "Save",
        },
        follow=True,
    )
    text = page_text(response)
    assert "Stacy Schultz is not taking new referrals but still has 1 open referral" in text
    stacy.refresh_from_db()
    assert stacy.out_of_office_until == back
    assert not stacy.is_available()
    listed = {s.name: (s.open_count, s.available_now) for s in response.context["cl"].result_list}
    assert listed["Stacy Schultz"] == (1, False)
    assert listed["Kyla Conlee"] == (0, True)


def test_moving_a_specialist_to_another_region_warns_about_their_open_cases(supervisor_user):
    stacy = specialist("Stacy Schultz")
    in_state("MN")
    response = as_user(supervisor_user).post(
        f"{SPECIALISTS}{stacy.pk}/change/",
        {
            "name": stacy.name,
            "region": Region.objects.get(number=4).pk,
            "email": stacy.email,
            "phone": stacy.phone,
            "is_active": "on",
            "out_of_office_until": "",
            "user": "",
            "_save": "Save",
        },
        follow=True,
    )
    assert (
        "Stacy Schultz moved to another region but still has 1 open referral in the old one"
        in page_text(response)
    )


def test_specialists_cannot_be_deleted_but_supervisors_can_add_one(supervisor_user):
    client = as_user(supervisor_user)
    stacy = specialist("Stacy Schultz")
    assert client.get(f"{SPECIALISTS}{stacy.pk}/delete/").status_code == 403
    assert client.get(f"{SPECIALISTS}add/").status_code == 200


def test_linking_a_login_in_the_admin_gives_the_specialist_role(supervisor_user):
    from django.contrib.auth.models import Group

    from tests.factories import UserFactory

    login = UserFactory(username="kyla")
    kyla = specialist("Kyla Conlee")
    response = as_user(supervisor_user).post(
        f"{SPECIALISTS}{kyla.pk}/change/",
        {
            "name": kyla.name,
            "region": kyla.region_id,
            "email": kyla.email,
            "phone": kyla.phone,
            "is_active": "on",
            "out_of_office_until": "",
            "user": login.pk,
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    assert login.groups.filter(name="Resource Specialists").exists()
    assert as_user(login).get("/queue/").status_code == 200
    assert not Group.objects.get(name="RST Supervisors").user_set.filter(pk=login.pk).exists()
