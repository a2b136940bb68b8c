"""The staff search of the partner directory: filters, what a result shows, who may use it."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.roles import SPECIALISTS_GROUP
from contacts.models import PartnerService
from contacts.selectors import DirectoryFilters, directory_search
from tests.factories import UserFactory
from tests.helpers import as_user, page_text

from .factories import OrganizationFactory, ServiceFactory

pytestmark = pytest.mark.usefixtures("reference_data")

SEARCH = "/directory/"


def found(**filters) -> list[str]:
    return [s.name for s in directory_search(filters=DirectoryFilters(**filters))]


@pytest.fixture
def directory():
    """A national hotline, services in Minnesota (one county-wide), Wisconsin and Texas."""
    return {
        "national": ServiceFactory(name="National hotline", is_national=True, topics=["hotline"]),
        "mn": ServiceFactory(name="Minnesota shelter", areas=["MN"], topics=["housing"]),
        "hennepin": ServiceFactory(
            name="Hennepin legal clinic", areas=[("MN", "Hennepin County")], topics=["legal"]
        ),
        "wi": ServiceFactory(name="Wisconsin mentors", areas=["WI"], topics=["mentoring"]),
        "tx": ServiceFactory(
            name="Texas counseling", areas=["TX"], topics=["mental-health"], languages=["es"]
        ),
    }


def test_by_jurisdiction_includes_national_services_and_excludes_other_states(directory):
    names = found(jurisdiction="MN")
    assert set(names) == {"National hotline", "Minnesota shelter", "Hennepin legal clinic"}
    # The state's own services first, then the national ones.
    assert names[-1] == "National hotline"
    assert found(jurisdiction="WI") == ["Wisconsin mentors", "National hotline"]
    assert found(jurisdiction="GU") == ["National hotline"]


def test_without_a_jurisdiction_every_active_service_is_listed(directory):
    directory["wi"].status = PartnerService.Status.INACTIVE
    directory["wi"].save()
    assert len(found()) == 4
    assert "Wisconsin mentors" not in found(jurisdiction="WI")


def test_topic_filter(directory):
    assert found(topic="housing") == ["Minnesota shelter"]
    assert found(topic="housing", jurisdiction="WI") == []
    assert found(topic="hotline", jurisdiction="TX") == ["National hotline"]


def test_language_filter_includes_services_with_interpreters(directory):
    assert found(language="es") == ["Texas counseling"]
    directory["national"].interpretation = "Interpreters for other languages"
    directory["national"].save()
    assert set(found(language="es")) == {"Texas counseling", "National hotline"}
    assert found(language="so") == ["National hotline"]


def test_text_filter_matches_every_word_in_names_descriptions_and_organizations(directory):
    directory["tx"].organization.name = "Lone Star Youth Alliance"
    directory["tx"].organization.save()
    assert found(text="lone star") == ["Texas counseling"]
    assert found(text="shelter minnesota") == ["Minnesota shelter"]
    assert found(text="shelter texas") == []


def test_the_page_shows_what_a_specialist_passes_on(specialist_user, directory):
    service = ServiceFactory(
        name="Youth Recovery Program",
        organization=OrganizationFactory(name="North Star Survivor Network", phone="651-555-0199"),
        areas=[("MN", "Ramsey County"), "WI"],
        topics=["survivor-services", "mentoring"],
        languages=["en", "hmn"],
        minimum_age=12,
        maximum_age=21,
        how_to_refer="Call the intake line and ask for the youth advocate.",
        email="intake@northstar.example.org",
    )
    response = as_user(specialist_user).get(SEARCH, {"jurisdiction": "MN", "topic": "mentoring"})
    assert response.status_code == 200
    text = page_text(response)
    assert "1 service for Minnesota (MN)" in text
    assert "North Star Survivor Network" in text and "Youth Recovery Program" in text
    assert "651-555-0199" in text  # the organization's phone: the service has none of its own
    assert "intake@northstar.example.org" in text
    assert "Call the intake line and ask for the youth advocate." in text
    assert "Ramsey County, Minnesota; Wisconsin" in text
    assert "Ages 12–21" in text
    assert "English, Hmong" in text
    assert "Survivor services" in text and "Mentoring" in text
    assert f'href="{service.get_absolute_url()}"' in response.content.decode()


def test_a_bad_filter_value_is_ignored_not_an_error(specialist_user, directory):
    response = as_user(specialist_user).get(SEARCH, {"jurisdiction": "ZZ", "topic": "nope"})
    assert response.status_code == 200
    assert "5 services" in page_text(response)


def test_query_count_does_not_grow_with_results(
    specialist_user, directory, django_assert_num_queries
):
    client = as_user(specialist_user)
    params = {"jurisdiction": "MN", "q": "a"}
    with CaptureQueriesContext(connection) as few:
        client.get(SEARCH, params)
    for n in range(15):
        ServiceFactory(
            areas=["MN", ("MN", f"County {n}")], topics=["housing", "legal"], languages=["es"]
        )
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(SEARCH, params)
    assert "18 services" in page_text(response)


def test_results_are_paged(specialist_user):
    for _ in range(23):
        ServiceFactory(is_national=True)
    client = as_user(specialist_user)
    first = page_text(client.get(SEARCH, {"q": "Service"}))
    assert "23 services" in first and "Page 1 of 2" in first
    second = client.get(SEARCH, {"q": "Service", "page": 2})
    assert "Page 2 of 2" in page_text(second)


def test_one_service_page(supervisor_user, directory):
    client = as_user(supervisor_user)
    response = client.get(directory["hennepin"].get_absolute_url())
    assert response.status_code == 200
    assert "Hennepin County, Minnesota" in page_text(response)
    assert client.get("/directory/services/999999/").status_code == 404


# Who may use it.


def test_anonymous_visitors_are_sent_to_log_in(client, directory):
    for url in (SEARCH, directory["mn"].get_absolute_url()):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_a_login_without_a_staff_role_is_refused(directory):
    client = as_user(UserFactory())
    assert client.get(SEARCH).status_code == 403
    assert client.get(directory["mn"].get_absolute_url()).status_code == 403


def test_group_membership_alone_is_not_a_role(directory):
    user = UserFactory()
    user.groups.add(Group.objects.get(name=SPECIALISTS_GROUP))
    assert as_user(user).get(SEARCH).status_code == 403


@pytest.mark.parametrize("role", ["specialist_user", "supervisor_user"])
def test_staff_pages_are_never_cached(role, request, directory):
    client = as_user(request.getfixturevalue(role))
    for url in (SEARCH, directory["mn"].get_absolute_url()):
        response = client.get(url)
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"]


def test_only_reads(specialist_user):
    assert as_user(specialist_user).post(SEARCH).status_code == 405
