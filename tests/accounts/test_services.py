"""specialist_link_login: the one rule for a specialist's login, and each entry point using it."""

import re

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from accounts import services
from accounts.roles import SPECIALISTS_GROUP, SUPERVISORS_GROUP
from accounts.services import specialist_link_login
from regions.models import ResourceSpecialist
from tests.factories import UserFactory
from tests.helpers import as_user, page_text

pytestmark = pytest.mark.usefixtures("reference_data")

SPECIALISTS = "/admin/regions/resourcespecialist/"


def specialist(name):
    return ResourceSpecialist.objects.get(name=name)


def is_specialist(user) -> bool:
    return user.groups.filter(name=SPECIALISTS_GROUP).exists()


def _in_group(user, name):
    user.groups.add(Group.objects.get(name=name))
    return user


def test_linking_gives_the_login_its_region_queue():
    login = UserFactory(username="stacy")
    specialist_link_login(specialist=specialist("Stacy Schultz"), user=login)
    assert specialist("Stacy Schultz").user == login
    assert is_specialist(login)
    assert "Region 3 – Midwest" in page_text(as_user(login).get("/queue/"))
    # Linking again changes nothing.
    specialist_link_login(specialist=specialist("Stacy Schultz"), user=login)
    assert login.groups.count() == 1


@pytest.mark.parametrize(
    "make_login, message",
    [
        (lambda: UserFactory(username="root", is_superuser=True), services.SUPERUSER_LOGIN),
        (
            lambda: _in_group(UserFactory(username="samantha"), SUPERVISORS_GROUP),
            services.SUPERVISOR_LOGIN,
        ),
        # An inactive supervisor login is still one: it may be reactivated.
        (
            lambda: _in_group(UserFactory(username="samantha", is_active=False), SUPERVISORS_GROUP),
            services.SUPERVISOR_LOGIN,
        ),
    ],
)
def test_supervisor_and_superuser_logins_are_refused(make_login, message):
    login = make_login()
    with pytest.raises(ValidationError) as refused:
        specialist_link_login(specialist=specialist("Stacy Schultz"), user=login)
    assert refused.value.messages == [message.format(username=login.username)]
    assert specialist("Stacy Schultz").user is None
    assert not is_specialist(login)


def test_a_login_linked_to_another_specialist_is_refused():
    login = UserFactory(username="kyla")
    specialist_link_login(specialist=specialist("Kyla Conlee"), user=login)
    with pytest.raises(ValidationError) as refused:
        specialist_link_login(specialist=specialist("Stacy Schultz"), user=login)
    assert refused.value.messages == [
        services.LOGIN_OF_ANOTHER_SPECIALIST.format(username="kyla", other="Kyla Conlee")
    ]
    assert specialist("Stacy Schultz").user is None
    assert specialist("Kyla Conlee").user == login


def test_the_link_and_the_group_are_written_together_or_not_at_all():
    Group.objects.filter(name=SPECIALISTS_GROUP).delete()
    login = UserFactory(username="stacy")
    with pytest.raises(Group.DoesNotExist):
        specialist_link_login(specialist=specialist("Stacy Schultz"), user=login)
    assert specialist("Stacy Schultz").user is None


# Every entry point uses it: the admin and both commands.


def post_specialist(client, specialist, login):
    return client.post(
        f"{SPECIALISTS}{specialist.pk}/change/",
        {
            "name": specialist.name,
            "region": specialist.region_id,
            "email": specialist.email,
            "phone": specialist.phone,
            "is_active": "on",
            "out_of_office_until": "",
            "user": login.pk,
            "_save": "Save",
        },
    )


def test_the_admin_refuses_a_supervisor_login_on_the_field(supervisor_user):
    other_supervisor = _in_group(UserFactory(username="deputy"), SUPERVISORS_GROUP)
    response = post_specialist(
        as_user(supervisor_user), specialist("Kyla Conlee"), other_supervisor
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["user"] == [
        services.SUPERVISOR_LOGIN.format(username="deputy")
    ]
    assert specialist("Kyla Conlee").user is None
    assert not is_specialist(other_supervisor)


def test_the_admin_refuses_a_login_linked_to_another_specialist(supervisor_user):
    login = UserFactory(username="kyla")
    specialist_link_login(specialist=specialist("Kyla Conlee"), user=login)
    response = post_specialist(as_user(supervisor_user), specialist("Stacy Schultz"), login)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["user"] == [
        services.LOGIN_OF_ANOTHER_SPECIALIST.format(username="kyla", other="Kyla Conlee")
    ]
    assert specialist("Stacy Schultz").user is None


def test_the_specialist_login_command_refuses_a_superuser():
    UserFactory(username="root", is_superuser=True, is_staff=True)
    with pytest.raises(
        CommandError,
        match=re.escape(
            services.SUPERUSER_LOGIN.format(username="root") + " Choose another with --username."
        ),
    ):
        call_command("specialist_login", "SLSchultz@ncmec.org", username="root")
    assert specialist("Stacy Schultz").user is None
