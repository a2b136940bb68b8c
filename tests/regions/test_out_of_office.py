"""Out of office ends at the specialist's own midnight, in the zone of their login's profile.

Two moments where the office's date (New York) and the specialist's differ:
- 03:00 UTC on Thursday 26 November 2026: 22:00 Wednesday in New York, 13:00 Thursday
  on Guam. A Guam specialist back from Wednesday is back; the office's date says not yet.
- 06:00 UTC on Thursday 26 November 2026: 01:00 Thursday in New York, 20:00 Wednesday in
  Honolulu. A Hawaii specialist away through Wednesday is still away; the office's date
  says back.
"""

from datetime import UTC, date, datetime

import pytest
from django.db import transaction

from accounts.models import StaffProfile
from accounts.services import specialist_link_login
from referrals.routing import route_jurisdiction
from regions.models import Jurisdiction, Region, ResourceSpecialist, takes_referrals
from tests.clock import freeze
from tests.factories import SpecialistFactory, UserFactory

pytestmark = pytest.mark.usefixtures("reference_data")

WEDNESDAY = date(2026, 11, 25)
THURSDAY = date(2026, 11, 26)
GUAM_THURSDAY_NY_WEDNESDAY = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
HAWAII_WEDNESDAY_NY_THURSDAY = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)


def route(code):
    with transaction.atomic():
        return route_jurisdiction(jurisdiction=Jurisdiction.objects.get(code=code))


def living_in(specialist, time_zone):
    """Give `specialist` a login whose profile says it works in `time_zone`."""
    user = UserFactory()
    specialist_link_login(specialist=specialist, user=user)
    StaffProfile.objects.create(user=user, time_zone=time_zone)
    return specialist


@pytest.fixture
def courtney():
    """Region 5's specialist (Guam, Hawaii …), the region's only one."""
    return ResourceSpecialist.objects.get(region__number=5)


def test_a_guam_specialist_is_back_on_her_thursday_while_new_york_is_still_on_wednesday(
    monkeypatch, courtney
):
    freeze(monkeypatch, GUAM_THURSDAY_NY_WEDNESDAY)
    living_in(courtney, "Pacific/Guam")
    ResourceSpecialist.objects.filter(pk=courtney.pk).update(out_of_office_until=WEDNESDAY)

    decision = route("GU")

    assert decision.specialist == courtney
    assert decision.reason == f"auto-routed: GU → Region 5 → {courtney.name} (0 open)"


def test_the_same_specialist_in_the_office_zone_is_still_away(monkeypatch, courtney):
    """The control: without a zone of her own, the office's Wednesday keeps her away."""
    freeze(monkeypatch, GUAM_THURSDAY_NY_WEDNESDAY)
    ResourceSpecialist.objects.filter(pk=courtney.pk).update(out_of_office_until=WEDNESDAY)

    decision = route("GU")

    assert decision.is_supervisor_intake
    assert decision.reason == "supervisor intake: GU → Region 5: no Resource Specialist available"


def test_a_hawaii_specialist_is_still_away_on_her_wednesday_evening(monkeypatch, courtney):
    freeze(monkeypatch, HAWAII_WEDNESDAY_NY_THURSDAY)
    living_in(courtney, "Pacific/Honolulu")
    ResourceSpecialist.objects.filter(pk=courtney.pk).update(out_of_office_until=WEDNESDAY)

    assert route("HI").is_supervisor_intake
    # Past her midnight she is back.
    freeze(monkeypatch, datetime(2026, 11, 26, 10, 0, tzinfo=UTC))  # 00:00 Thursday, Honolulu
    assert route("HI").specialist == courtney


def test_each_specialist_of_a_region_is_judged_by_their_own_date(monkeypatch, courtney):
    """Two specialists away through Wednesday: only the one whose Thursday has begun."""
    freeze(monkeypatch, GUAM_THURSDAY_NY_WEDNESDAY)
    region = Region.objects.get(number=5)
    in_guam = living_in(SpecialistFactory(region=region, name="In Guam"), "Pacific/Guam")
    in_new_york = living_in(
        SpecialistFactory(region=region, name="In New York"), "America/New_York"
    )
    ResourceSpecialist.objects.filter(region=region).update(out_of_office_until=WEDNESDAY)
    ResourceSpecialist.objects.filter(pk=courtney.pk).update(is_active=False)

    assert route("CA").specialist == in_guam
    in_guam.refresh_from_db()
    in_new_york.refresh_from_db()
    assert (in_guam.is_available(), in_new_york.is_available()) == (True, False)


def test_availability_in_the_admin_list_and_routing_agree(monkeypatch, courtney, supervisor_user):
    from tests.helpers import as_user

    freeze(monkeypatch, GUAM_THURSDAY_NY_WEDNESDAY)
    living_in(courtney, "Pacific/Guam")
    ResourceSpecialist.objects.filter(pk=courtney.pk).update(out_of_office_until=WEDNESDAY)
    response = as_user(supervisor_user).get(
        "/admin/regions/resourcespecialist/", {"region__id__exact": courtney.region_id}
    )
    listed = {s.name: s.available_now for s in response.context["cl"].result_list}
    assert listed == {courtney.name: True}


def test_routing_reads_the_zones_in_its_one_locking_query(
    monkeypatch, courtney, django_assert_num_queries
):
    freeze(monkeypatch, GUAM_THURSDAY_NY_WEDNESDAY)
    living_in(courtney, "Pacific/Guam")
    living_in(SpecialistFactory(region=courtney.region), "Pacific/Honolulu")
    jurisdiction = Jurisdiction.objects.select_related("region").get(code="GU")
    with transaction.atomic(), django_assert_num_queries(1):
        route_jurisdiction(jurisdiction=jurisdiction)


@pytest.mark.parametrize(
    ("out_of_office_until", "today", "expected"),
    [
        (None, THURSDAY, True),
        (WEDNESDAY, THURSDAY, True),
        (THURSDAY, THURSDAY, False),  # the last day away is a day away
        (date(2026, 11, 30), THURSDAY, False),
    ],
)
def test_the_rule(out_of_office_until, today, expected):
    assert (
        takes_referrals(is_active=True, out_of_office_until=out_of_office_until, today=today)
        is expected
    )
    assert not takes_referrals(is_active=False, out_of_office_until=None, today=today)
