"""The supervisor keeps the directory in the admin; specialists only read it in /directory/."""

import pytest

from contacts.models import PartnerService
from tests.helpers import as_user, page_text

from .factories import OrganizationFactory, ServiceFactory

pytestmark = pytest.mark.usefixtures("reference_data")

SERVICES = "/admin/contacts/partnerservice/"


def service_form(organization, **changes):
    data = {
        "organization": organization.pk,
        "name": "Youth legal clinic",
        "description": "Free legal help for young survivors.",
        "status": "active",
        "topic_list": ["legal", "survivor-services"],
        "language_list": ["en", "es"],
        "website": "legal.example.org",
        "how_to_refer": "Call and ask for the youth attorney.",
        "areas-TOTAL_FORMS": "2",
        "areas-INITIAL_FORMS": "0",
        "areas-MIN_NUM_FORMS": "0",
        "areas-MAX_NUM_FORMS": "1000",
        "areas-0-jurisdiction": "MN",
        "areas-0-county": "Hennepin County",
        "areas-1-jurisdiction": "WI",
        "areas-1-county": "",
        "_save": "Save",
    }
    return {**data, **changes}


def test_a_supervisor_adds_a_service_with_topics_languages_and_areas(supervisor_user):
    organization = OrganizationFactory()
    client = as_user(supervisor_user)
    response = client.post(f"{SERVICES}add/", service_form(organization))
    assert response.status_code == 302, page_text(response)
    service = PartnerService.objects.get(name="Youth legal clinic")
    assert sorted(t.topic for t in service.topics.all()) == ["legal", "survivor-services"]
    assert sorted(lang.language for lang in service.languages.all()) == ["en", "es"]
    assert [str(area) for area in service.areas.all()] == [
        "Hennepin County, Minnesota",
        "Wisconsin",
    ]
    assert service.website == "https://legal.example.org"  # https assumed


def test_a_supervisor_changes_the_topics(supervisor_user):
    service = ServiceFactory(topics=["legal"], languages=["en"])
    client = as_user(supervisor_user)
    page = client.get(f"{SERVICES}{service.pk}/change/")
    assert page.status_code == 200
    data = service_form(
        service.organization, name=service.name, topic_list=["housing"], language_list=[]
    )
    data.update({"areas-TOTAL_FORMS": "0"})
    response = client.post(f"{SERVICES}{service.pk}/change/", data)
    assert response.status_code == 302, page_text(response)
    assert [t.topic for t in service.topics.all()] == ["housing"]
    assert not service.languages.exists()


def test_ages_in_the_wrong_order_are_refused(supervisor_user):
    organization = OrganizationFactory()
    response = as_user(supervisor_user).post(
        f"{SERVICES}add/", service_form(organization, minimum_age="18", maximum_age="12")
    )
    assert response.status_code == 200
    assert "The minimum age is above the maximum age." in page_text(response)
    assert not PartnerService.objects.exists()


def test_the_organization_page_lists_its_services(supervisor_user):
    service = ServiceFactory(name="Drop-in center")
    page = as_user(supervisor_user).get(
        f"/admin/contacts/partnerorganization/{service.organization.pk}/change/"
    )
    assert page.status_code == 200
    assert "Drop-in center" in page_text(page)
    assert f"/admin/contacts/partnerservice/add/?organization={service.organization.pk}" in (
        page.content.decode()
    )


def test_a_specialist_with_staff_status_cannot_use_the_directory_admin(specialist_user):
    service = ServiceFactory()
    specialist_user.is_staff = True
    specialist_user.save()
    client = as_user(specialist_user)
    for url in (SERVICES, f"{SERVICES}{service.pk}/change/", f"{SERVICES}add/"):
        assert client.get(url).status_code == 403, url
    # ... but reads it at /directory/.
    assert client.get(service.get_absolute_url()).status_code == 200
