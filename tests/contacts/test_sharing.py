"""What a referral-side caller uses to share directory services on a referral."""

import pytest

from contacts.models import PartnerService
from contacts.selectors import directory_services_by_ids, shared_resource

from .factories import OrganizationFactory, ServiceFactory

pytestmark = pytest.mark.usefixtures("reference_data")


def test_services_by_ids_keep_the_order_given_and_leave_out_unknown_and_inactive():
    first, second = ServiceFactory(), ServiceFactory()
    closed = ServiceFactory(status=PartnerService.Status.INACTIVE)
    picked = directory_services_by_ids(ids=[second.pk, 999999, first.pk, closed.pk, second.pk])
    assert picked == [second, first]
    assert directory_services_by_ids(ids=[closed.pk], active_only=False) == [closed]


def test_services_by_ids_cost_a_fixed_number_of_queries(django_assert_num_queries):
    services = [ServiceFactory(areas=["MN"], languages=["es"]) for _ in range(5)]
    with django_assert_num_queries(4):  # services with organizations, topics, languages, areas
        picked = directory_services_by_ids(ids=[s.pk for s in services])
        for service in picked:
            [str(a) for a in service.areas.all()]
            list(service.topics.all()), list(service.languages.all())


def test_a_shared_resource_records_how_to_reach_it_as_of_now():
    service = ServiceFactory(
        name="Youth line",
        organization=OrganizationFactory(
            name="North Star", website="https://ns.example.org", phone="612-555-0100"
        ),
        phone="",
        how_to_refer="Call and ask for the youth advocate.",
    )
    record = shared_resource(service)
    assert record == {
        "service_id": service.pk,
        "uid": str(service.uid),
        "organization": "North Star",
        "service": "Youth line",
        "phone": "612-555-0100",  # the organization's, the service has none of its own
        "website": "https://ns.example.org",
        "email": "",
        "how_to_refer": "Call and ask for the youth advocate.",
    }
