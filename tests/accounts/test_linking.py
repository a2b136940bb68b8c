"""Logins are linked to a specialist only on purpose; "view on site" keeps the queue's scope."""

import pytest
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError, call_command

from accounts.roles import SPECIALISTS_GROUP, SUPERVISORS_GROUP
from referrals.models import Referral
from regions.models import Jurisdiction, ResourceSpecialist
from tests.factories import ReferralFactory, UserFactory
from tests.helpers import as_user

pytestmark = pytest.mark.usefixtures("reference_data")


def kyla():
    return ResourceSpecialist.objects.get(name="Kyla Conlee")


def test_an_existing_account_with_another_e_mail_is_not_linked():
    stranger = UserFactory(username="kbconlee", email="someone.else@example.org")
    with pytest.raises(CommandError, match="already exists, with the e-mail") as error:
        call_command("specialist_login", "KBConlee@ncmec.org")
    assert "--link-existing" in str(error.value)
    assert kyla().user is None
    assert not stranger.groups.filter(name=SPECIALISTS_GROUP).exists()


def test_link_existing_links_it_and_says_so(capsys):
    account = UserFactory(username="kbconlee", email="kyla.home@example.org")
    call_command("specialist_login", "KBConlee@ncmec.org", link_existing=True)
    out = capsys.readouterr().out
    assert "Linked the existing account 'kbconlee' (kyla.home@example.org)" in out
    assert "password" not in out.replace("its password is unchanged", "")
    assert kyla().user == account


def test_an_existing_account_with_the_specialists_e_mail_is_linked(capsys):
    account = UserFactory(username="kbconlee", email="kbconlee@NCMEC.org")
    call_command("specialist_login", "KBConlee@ncmec.org")
    assert "Linked the existing account 'kbconlee'" in capsys.readouterr().out
    assert kyla().user == account


@pytest.mark.parametrize("kind", ["superuser", "supervisor"])
def test_a_superuser_or_supervisor_is_never_linked(kind):
    account = UserFactory(
        username="kbconlee", email="KBConlee@ncmec.org", is_superuser=kind == "superuser"
    )
    if kind == "supervisor":
        account.groups.add(Group.objects.get(name=SUPERVISORS_GROUP))
    for flags in ({}, {"link_existing": True}):
        with pytest.raises(CommandError, match="is an? (RST supervisor|superuser) login"):
            call_command("specialist_login", "KBConlee@ncmec.org", **flags)
    assert kyla().user is None


def test_a_new_login_is_created_and_said_so(capsys):
    call_command("specialist_login", "KBConlee@ncmec.org")
    out = capsys.readouterr().out
    assert "Created the login 'kbconlee'." in out
    assert kyla().user.email == "KBConlee@ncmec.org"


def test_the_admin_offers_only_logins_that_may_be_specialists(supervisor_user):
    plain = UserFactory(username="plain.login")
    UserFactory(username="the.superuser", is_superuser=True, is_staff=True)
    deputy = UserFactory(username="deputy.supervisor")
    deputy.groups.add(Group.objects.get(name=SUPERVISORS_GROUP))
    page = as_user(supervisor_user).get(f"/admin/regions/resourcespecialist/{kyla().pk}/change/")
    choices = {label for _, label in page.context["adminform"].form.fields["user"].choices}
    assert plain.username in choices
    assert "the.superuser" not in choices
    assert "deputy.supervisor" not in choices
    assert supervisor_user.username not in choices


def _view_on_site(referral):
    content_type = ContentType.objects.get_for_model(Referral)
    return f"/admin/r/{content_type.pk}/{referral.pk}/"


def test_view_on_site_keeps_the_queues_scope(supervisor_user, specialist_user):
    referral = ReferralFactory(jurisdiction=Jurisdiction.objects.get(code="TX"))
    # Staff status but neither role: the redirect must not give away the reference.
    nobody = as_user(UserFactory(is_staff=True))
    response = nobody.get(_view_on_site(referral))
    assert response.status_code == 404
    assert referral.reference not in response.content.decode()
    # A specialist of another region (given staff status) is refused the same way.
    specialist_user.is_staff = True
    specialist_user.save()
    assert as_user(specialist_user).get(_view_on_site(referral)).status_code == 404
    # A supervisor may open it.
    response = as_user(supervisor_user).get(_view_on_site(referral))
    assert response.status_code == 302
    assert response["Location"].endswith(f"/queue/{referral.reference}/")
    assert as_user(supervisor_user).get("/admin/r/1/not-a-number/").status_code == 404
