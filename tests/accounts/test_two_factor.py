"""Second factors: enrolment with an authenticator app, login with a code, backup codes,
the supervisor's reset, one-time passwords, and how long a staff session lasts."""

import re
import time

import pyotp
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import sessions
from accounts.models import SecurityEvent
from tests.factories import UserFactory
from tests.helpers import as_user, page_text, totp_code, totp_device

pytestmark = pytest.mark.usefixtures("reference_data")

PASSWORD = "correct horse battery staple"
STAFF_LOGINS = "/admin/accounts/stafflogin/"


def log_in(client, user, password=PASSWORD):
    response = client.post("/accounts/login/", {"username": user.username, "password": password})
    assert response.status_code == 302, page_text(response)
    return response


def test_enrolment_with_an_authenticator_app(specialist_user):
    client = Client()
    log_in(client, specialist_user)
    response = client.get("/queue/")
    assert response["Location"] == "/accounts/security/enrol/?next=%2Fqueue%2F"
    page = client.get(response["Location"])
    assert "Set up your second factor" in page_text(page)
    assert 'src="data:image/svg+xml' in page.content.decode()  # the QR code
    secret = page.context["secret"].replace(" ", "")
    app = pyotp.TOTP(secret)  # what the phone's app computes from the QR code

    wrong = client.post(page.request["PATH_INFO"], {"code": "000000", "next": "/queue/"})
    assert wrong.status_code == 400
    assert "That code is not right" in page_text(wrong)

    time.sleep(1.1)  # after a wrong code django-otp makes the next try wait a second
    done = client.post("/accounts/security/enrol/", {"code": app.now(), "next": "/queue/"})
    assert done.status_code == 200
    codes = re.findall(r"<li><code>(\w+)</code></li>", done.content.decode())
    assert len(codes) == 10
    assert "Your backup codes" in page_text(done)
    assert TOTPDevice.objects.get(user=specialist_user).confirmed
    assert "Region 3 – Midwest" in page_text(client.get("/queue/"))


def test_login_with_a_code_from_the_app(specialist_user):
    device = totp_device(specialist_user)
    client = Client()
    log_in(client, specialist_user)
    verify = client.get("/queue/")["Location"]
    assert verify == "/accounts/security/verify/?next=%2Fqueue%2F"
    assert "Confirm it is you" in page_text(client.get(verify))
    wrong = client.post(verify, {"code": "123456", "next": "/queue/"})
    assert wrong.status_code == 400
    assert "That code is not right" in page_text(wrong)
    assert client.get("/queue/").status_code == 302
    time.sleep(1.1)  # django-otp makes each try after a wrong one wait longer (1 s, 2 s …)
    right = client.post(verify, {"code": totp_code(device), "next": "/queue/"})
    assert right["Location"] == "/queue/"
    assert client.get("/queue/").status_code == 200


def test_a_reused_code_is_refused(specialist_user):
    device = totp_device(specialist_user)
    code = totp_code(device)
    first = Client()
    log_in(first, specialist_user)
    assert first.post("/accounts/security/verify/", {"code": code})["Location"] == "/queue/"
    second = Client()
    log_in(second, specialist_user)
    assert second.post("/accounts/security/verify/", {"code": code}).status_code == 400


def test_a_backup_code_works_once(specialist_user):
    totp_device(specialist_user)
    client = as_user(specialist_user)
    page = client.post("/accounts/security/backup-codes/", {"next": "/queue/"})
    codes = re.findall(r"<li><code>(\w+)</code></li>", page.content.decode())
    assert len(codes) == 10

    first = Client()
    log_in(first, specialist_user)
    response = first.post("/accounts/security/verify/", {"code": codes[0].upper()})
    assert response["Location"] == "/queue/"
    assert "9 left" in page_text(first.get("/queue/"))
    again = Client()
    log_in(again, specialist_user)
    assert again.post("/accounts/security/verify/", {"code": codes[0]}).status_code == 400
    assert StaticToken.objects.filter(device__user=specialist_user).count() == 9


def test_new_backup_codes_replace_the_old_ones(specialist_user):
    client = as_user(specialist_user)
    old = re.findall(
        r"<li><code>(\w+)</code></li>",
        client.post("/accounts/security/backup-codes/").content.decode(),
    )
    new = re.findall(
        r"<li><code>(\w+)</code></li>",
        client.post("/accounts/security/backup-codes/").content.decode(),
    )
    assert set(StaticToken.objects.values_list("token", flat=True)) == set(new)
    assert not set(old) & set(new)


def test_an_enrolled_login_cannot_enrol_another_factor_without_the_first(specialist_user):
    totp_device(specialist_user)
    client = as_user(specialist_user, verified=False)
    response = client.get("/accounts/security/enrol/?next=/queue/")
    assert response["Location"] == "/accounts/security/verify/?next=%2Fqueue%2F"


def test_the_security_page_lists_the_factors(specialist_user):
    client = as_user(specialist_user)
    text = page_text(client.get("/accounts/security/"))
    assert "Authenticator app Test authenticator" in text
    assert "0 unused backup codes" in text


# The supervisor's reset.


def _reset(client, users):
    return client.post(
        STAFF_LOGINS,
        {"action": "reset_two_factor", "_selected_action": [user.pk for user in users]},
    )


def test_a_supervisor_resets_a_lost_second_factor(supervisor_user, specialist_user):
    specialist_client = as_user(specialist_user)
    assert specialist_client.get("/queue/").status_code == 200
    supervisor = as_user(supervisor_user)
    listing = supervisor.get(STAFF_LOGINS)
    assert listing.status_code == 200
    assert specialist_user.username in page_text(listing)

    response = _reset(supervisor, [specialist_user])
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=specialist_user).exists()
    event = SecurityEvent.objects.get()
    assert (event.kind, event.actor, event.subject) == (
        "two_factor_reset",
        supervisor_user,
        specialist_user,
    )
    assert event.ip_address == "127.0.0.1"
    # The specialist's session lost its second factor with the device: enrol again.
    assert specialist_client.get("/queue/")["Location"].startswith("/accounts/security/enrol/")


def test_a_supervisor_cannot_reset_a_superuser(supervisor_user):
    superuser = UserFactory(is_superuser=True, is_staff=True)
    totp_device(superuser)
    _reset(as_user(supervisor_user), [superuser])
    assert TOTPDevice.objects.filter(user=superuser).exists()
    assert not SecurityEvent.objects.exists()


def test_specialists_cannot_reset_anyone(specialist_user, supervisor_user):
    totp_device(supervisor_user)
    response = _reset(as_user(specialist_user), [supervisor_user])
    assert response.status_code in (302, 403)
    assert TOTPDevice.objects.filter(user=supervisor_user).exists()


def test_the_security_log_is_read_only_even_for_superusers(supervisor_user, specialist_user):
    _reset(as_user(supervisor_user), [specialist_user])
    event = SecurityEvent.objects.get()
    superuser = as_user(UserFactory(is_superuser=True, is_staff=True))
    page = superuser.get(f"/admin/accounts/securityevent/{event.pk}/change/")
    assert page.status_code == 200
    assert "Save" not in page_text(page)
    assert superuser.post(f"/admin/accounts/securityevent/{event.pk}/delete/").status_code == 403
    assert SecurityEvent.objects.count() == 1


# One-time passwords.


def test_a_one_time_password_must_be_replaced_at_first_login(capsys):
    call_command("specialist_login", "SLSchultz@ncmec.org")
    password = capsys.readouterr().out.split("change it after logging in): ")[1].strip()
    user = get_user_model().objects.get(username="slschultz")
    totp_device(user)
    client = Client()
    log_in(client, user, password)
    client.post("/accounts/security/verify/", {"code": totp_code(totp_device(user))})
    response = client.get("/queue/")
    assert response["Location"] == "/accounts/password_change/?next=%2Fqueue%2F"
    assert "Choose your own password" in page_text(client.get(response["Location"]))
    changed = client.post(
        "/accounts/password_change/",
        {
            "old_password": password,
            "new_password1": "a much longer new passphrase",
            "new_password2": "a much longer new passphrase",
        },
    )
    assert changed.status_code == 302
    assert client.get("/queue/").status_code == 200
    # The next login is not asked again.
    again = Client()
    log_in(again, user, "a much longer new passphrase")
    again.post("/accounts/security/verify/", {"code": totp_code(totp_device(user))})
    assert again.get("/queue/").status_code == 200


# Session length.


def _age_session(client, *, idle_seconds=0, since_login_seconds=0):
    session = client.session
    now = int(time.time())
    session[sessions.SEEN_AT] = now - idle_seconds
    session[sessions.SIGNED_IN_AT] = now - max(since_login_seconds, idle_seconds)
    session.save()


def test_a_staff_session_ends_after_the_idle_timeout(settings, specialist_user):
    client = as_user(specialist_user)
    _age_session(client, idle_seconds=29 * 60)
    assert client.get("/queue/").status_code == 200
    _age_session(client, idle_seconds=settings.RST_STAFF_IDLE_MINUTES * 60 + 5)
    response = client.get("/queue/")
    assert response["Location"] == "/accounts/login/?next=/queue/"
    assert "logged out after 30 minutes without activity" in page_text(
        client.get(response["Location"])
    )
    assert client.get("/queue/").status_code == 302  # logged out for good


def test_a_busy_staff_session_still_ends_after_eight_hours(specialist_user):
    client = as_user(specialist_user)
    _age_session(client, idle_seconds=60, since_login_seconds=8 * 3600 - 60)
    assert client.get("/queue/").status_code == 200
    _age_session(client, idle_seconds=60, since_login_seconds=8 * 3600 + 1)
    assert client.get("/queue/").status_code == 302
