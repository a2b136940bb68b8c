"""Staff login, lockout, and the commands that make logins."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client

from accounts.roles import SPECIALISTS_GROUP
from regions.management.commands.create_demo_accounts import Command as DemoAccounts
from regions.models import ResourceSpecialist
from tests.factories import SpecialistFactory, UserFactory
from tests.helpers import as_user, totp_code, totp_device

pytestmark = pytest.mark.usefixtures("reference_data")

PASSWORD = "correct horse battery staple"
User = get_user_model()


def test_specialist_logs_in_through_the_form_and_lands_on_the_queue(specialist_user):
    client = Client()
    assert "Staff login" in client.get("/accounts/login/").content.decode()
    response = client.post(
        "/accounts/login/", {"username": specialist_user.username, "password": PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == "/queue/"
    # The second factor: the queue sends the login to it, and it leads back to the queue.
    code = totp_code(totp_device(specialist_user))
    verify = client.get("/queue/")
    assert verify["Location"] == "/accounts/security/verify/?next=%2Fqueue%2F"
    client.post(verify["Location"], {"code": code, "next": "/queue/"})
    assert "Region 3 – Midwest" in client.get("/queue/").content.decode()


def test_wrong_password_is_refused_with_a_message(specialist_user):
    response = Client().post(
        "/accounts/login/", {"username": specialist_user.username, "password": "wrong"}
    )
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_repeated_failed_logins_lock_the_account_out(specialist_user, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": specialist_user.username, "password": "no"})
    response = client.post(
        "/accounts/login/", {"username": specialist_user.username, "password": PASSWORD}
    )
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert client.get("/queue/").status_code == 302  # still not logged in


def test_logout_is_a_post(specialist_user):
    client = Client()
    client.force_login(specialist_user)
    assert client.get("/accounts/logout/").status_code == 405
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/queue/").status_code == 302


def test_password_change_needs_login_and_works(specialist_user):
    assert Client().get("/accounts/password_change/").status_code == 302
    client = as_user(specialist_user)
    response = client.post(
        "/accounts/password_change/",
        {
            "old_password": PASSWORD,
            "new_password1": "a much longer new passphrase",
            "new_password2": "a much longer new passphrase",
        },
    )
    assert response.status_code == 302
    specialist_user.refresh_from_db()
    assert specialist_user.check_password("a much longer new passphrase")


def test_specialist_login_command_creates_and_links(capsys):
    call_command("specialist_login", "slschultz@NCMEC.org")
    out = capsys.readouterr().out
    stacy = ResourceSpecialist.objects.select_related("user").get(name="Stacy Schultz")
    assert stacy.user.username == "slschultz"
    assert stacy.user.groups.filter(name=SPECIALISTS_GROUP).exists()
    assert "Stacy Schultz (Region 3) logs in as 'slschultz'." in out
    password = out.split("change it after logging in): ")[1].strip()
    assert stacy.user.check_password(password)
    # Running it again changes nothing and prints no new password.
    call_command("specialist_login", "SLSchultz@ncmec.org")
    assert "password" not in capsys.readouterr().out
    assert ResourceSpecialist.objects.get(pk=stacy.pk).user == stacy.user


def test_specialist_login_command_links_an_existing_user():
    user = UserFactory(username="kyla")
    call_command("specialist_login", "KBConlee@ncmec.org", username="kyla", link_existing=True)
    assert ResourceSpecialist.objects.get(name="Kyla Conlee").user == user


def test_specialist_login_command_errors_are_clear():
    with pytest.raises(CommandError, match="No Resource Specialist has the e-mail 'nobody@x.org'"):
        call_command("specialist_login", "nobody@x.org")
    call_command("specialist_login", "KBConlee@ncmec.org", username="kyla")
    with pytest.raises(CommandError, match="already linked to Kyla Conlee"):
        call_command("specialist_login", "SLSchultz@ncmec.org", username="kyla")
    with pytest.raises(CommandError, match="Kyla Conlee already has the login 'kyla'"):
        call_command("specialist_login", "KBConlee@ncmec.org", username="someone")


@pytest.fixture
def demo_database(monkeypatch):
    """Let create_demo_accounts run here even on PostgreSQL (a test database, not production)."""
    monkeypatch.setattr(DemoAccounts, "database_is_local", staticmethod(lambda: True))


def test_demo_accounts_print_passwords_once(capsys, demo_database):
    call_command("create_demo_accounts")
    first = capsys.readouterr().out
    assert "supervisor" in first and "slschultz" in first and "(unchanged)" not in first
    call_command("create_demo_accounts")
    assert first.count("(unchanged)") == 0
    assert capsys.readouterr().out.count("(unchanged)") == 6
    assert ResourceSpecialist.objects.filter(user__isnull=False).count() == 5
    assert (
        "Region 3 – Midwest"
        in as_user(User.objects.get(username="slschultz")).get("/queue/").content.decode()
    )


def test_specialist_login_refuses_bad_usernames_and_supervisor_logins(supervisor_user):
    with pytest.raises(CommandError, match="cannot be a username"):
        call_command("specialist_login", "SLSchultz@ncmec.org", username="bad name!/<>")
    with pytest.raises(CommandError, match="at most 150 characters"):
        call_command("specialist_login", "SLSchultz@ncmec.org", username="a" * 200)
    with pytest.raises(CommandError, match="is an RST supervisor login"):
        call_command("specialist_login", "SLSchultz@ncmec.org", username=supervisor_user.username)
    assert ResourceSpecialist.objects.get(name="Stacy Schultz").user is None


def test_demo_accounts_refuse_a_login_that_belongs_to_another_specialist(demo_database):
    SpecialistFactory(
        name="Another Butler",
        email="bbutler@other.org",
        region=ResourceSpecialist.objects.get(pk=1).region,
    )
    with pytest.raises(
        CommandError,
        match=re.escape(
            "The login 'bbutler' is already linked to Another Butler. Link Brittany Butler "
            "with manage.py specialist_login --username."
        ),
    ):
        call_command("create_demo_accounts")
    # All or nothing: no demo login is left behind.
    assert not User.objects.filter(username__in=["supervisor", "bbutler"]).exists()


def test_demo_accounts_are_never_made_on_any_database_but_sqlite(capsys, monkeypatch, is_postgres):
    users = User.objects.count()
    with monkeypatch.context() as patch:
        if not is_postgres:  # what the command sees on a production database
            patch.setattr(connection, "vendor", "postgresql")
            patch.setattr(connection, "display_name", "PostgreSQL")
        call_command("create_demo_accounts")  # no CommandError: exits 0
    assert capsys.readouterr().out == (
        "No demo accounts: they are only for a local SQLite database, and this one is "
        "PostgreSQL. Nothing was changed.\n"
    )
    assert User.objects.count() == users
    assert not ResourceSpecialist.objects.filter(user__isnull=False).exists()
