"""The referral form the way people use it: several browsers, a warm cache, Back, faults."""

import logging
from unittest import mock
from urllib.parse import urlencode

import pytest
from django.core.cache import caches
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError
from django.test import Client
from django.utils import timezone

from referrals.intake import forms as referral_forms
from referrals.intake import views as referral_views
from referrals.models import Notification, Referral, ReferralEvent
from tests.helpers import browser_post, page_text

pytestmark = pytest.mark.usefixtures("reference_data")

REFER = "/refer/"


@pytest.fixture
def answers(form_data):
    """What a person types and ticks (the page supplies the hidden inputs)."""
    return {k: v for k, v in form_data.items() if k not in ("submission_token", "leave_empty")}


def browser() -> Client:
    """A browser of its own: its own cookies, and CSRF checked as in production."""
    return Client(enforce_csrf_checks=True)


def send(client, page, answers):
    data = urlencode(browser_post(page.content.decode(), answers))
    return client.post(REFER, data, content_type="application/x-www-form-urlencoded")


def test_several_browsers_on_a_warm_shared_cache_all_get_their_referral_in(answers):
    """Everyone loads the form before anyone sends it; each posts every hidden input."""
    browsers = [browser() for _ in range(4)]
    pages = [b.get(REFER) for b in browsers]
    for page in pages:
        html = page.content.decode()
        assert html.count('name="csrfmiddlewaretoken"') == 1
        assert html.count('name="submission_token"') == 1
    csrf_tokens = {p.context["csrf_token"] for p in pages}
    assert len(csrf_tokens) == 4  # per visitor, never cached

    locations = []
    for number, (client, page) in enumerate(zip(browsers, pages, strict=True)):
        response = send(client, page, {**answers, "child_initials": "ABCD"[number] + "Z"})
        assert response.status_code == 302, page_text(response)[:300]
        locations.append(response["Location"])
    assert Referral.objects.count() == 4
    for client, location in zip(browsers, locations, strict=True):
        confirmation = client.get(location)
        assert confirmation.status_code == 200
        assert "Referral received" in page_text(confirmation)


def test_the_cached_fields_hold_nothing_of_one_visitor(client, settings):
    client.get(REFER)
    key = f"rst_blank_referral_fields:{settings.RST_RELEASE}:"
    cached = caches["local"].get(key)
    assert cached and 'name="referrer_name"' in cached
    assert "csrfmiddlewaretoken" not in cached
    assert "submission_token" not in cached


def test_a_new_release_never_serves_the_old_form(client, settings, monkeypatch):
    settings.RST_RELEASE = "release-1"
    assert "Your name" in page_text(client.get(REFER))
    monkeypatch.setattr(
        referral_forms.ReferralForm.base_fields["referrer_name"], "label", "Full name"
    )
    assert "Full name" not in page_text(client.get(REFER))  # same release: cached
    settings.RST_RELEASE = "release-2"
    assert "Full name" in page_text(client.get(REFER))


def test_back_button_and_send_again_lands_on_the_first_confirmation(answers):
    person = browser()
    first_page = person.get(REFER)
    first = send(person, first_page, answers)
    # Back, then the page is loaded again (a new form token) and sent with the same answers.
    second = send(person, person.get(REFER), answers)
    assert Referral.objects.count() == 1
    assert second["Location"] == first["Location"]
    page = person.get(second["Location"])
    reference = Referral.objects.get().reference
    assert "You already sent a referral with these answers at" in page_text(page)
    assert reference in page_text(page)


def test_double_click_lands_on_the_confirmation_even_before_the_session_knows(answers):
    """The second click's request can read the session before the first one saved it."""
    person = browser()
    page = person.get(REFER)
    first = send(person, page, answers)
    session = person.session
    session[referral_views.SESSION_KEY] = []
    session[referral_views.RECENT_KEY] = []
    session.save()
    second = send(person, page, answers)
    assert second.status_code == 302
    assert second["Location"] == first["Location"]
    assert Referral.objects.count() == 1
    assert person.get(second["Location"]).status_code == 200


def test_the_same_form_sent_from_another_browser_reveals_nothing(answers):
    person, other = browser(), browser()
    page = person.get(REFER)
    send(person, page, answers)
    data = browser_post(page.content.decode(), answers)
    other.get(REFER)  # the other browser's own CSRF cookie
    csrf = other.cookies["csrftoken"].value
    data = [(k, csrf if k == "csrfmiddlewaretoken" else v) for k, v in data]
    response = other.post(REFER, urlencode(data), content_type="application/x-www-form-urlencoded")
    assert response.status_code == 409
    assert Referral.objects.get().reference not in response.content.decode()


def test_a_different_child_with_other_answers_is_a_new_referral(answers):
    person = browser()
    send(person, person.get(REFER), answers)
    send(person, person.get(REFER), {**answers, "child_initials": "QR"})
    assert Referral.objects.count() == 2


def test_rate_limit_cache_down_still_accepts_the_referral(answers, settings, caplog):
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6390/0",  # nothing listens here
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        },
    }
    person = browser()
    page = person.get(REFER)
    assert page.status_code == 200  # the blank form does not need Redis
    with caplog.at_level(logging.ERROR):
        response = send(person, page, answers)
    assert response.status_code == 302
    assert Referral.objects.count() == 1
    assert "rate limit could not be checked" in caplog.text
    assert "older adult" not in caplog.text


def _assert_answers_kept(response, answers):
    text = response.content.decode()
    assert 'value="Hennepin County Child Protection"' in text
    assert 'value="jordan@example.org"' in text
    assert answers["summary"] in text
    assert 'value="MN" selected' in text
    assert "Your referral was not sent" in page_text(response)
    assert "RecoveryServices@NCMEC.ORG" in text and "571.215.8540" in text
    assert "<title>Error: Make a referral" in text


def test_database_down_while_saving_gives_503_and_keeps_every_answer(answers, caplog):
    person = browser()
    page = person.get(REFER)
    with mock.patch.object(
        referral_views, "referral_create", side_effect=OperationalError("connection refused")
    ):
        response = send(person, page, answers)
    assert response.status_code == 503
    _assert_answers_kept(response, answers)
    assert Referral.objects.count() == 0
    # The same page sent again once the database is back makes exactly one referral.
    retried = send(person, response, answers)
    assert retried.status_code == 302
    assert Referral.objects.count() == 1
    assert "database is unavailable" in caplog.text


def test_database_down_while_checking_the_answers_gives_503(answers):
    person = browser()
    page = person.get(REFER)
    with mock.patch.object(
        referral_forms.Jurisdiction.objects, "select_related", side_effect=OperationalError
    ):
        response = send(person, page, answers)
    assert response.status_code == 503
    _assert_answers_kept(response, answers)


def test_database_down_with_a_cold_process_cache_still_shows_the_answers(answers):
    person = browser()
    page = person.get(REFER)
    caches["local"].clear()
    with (
        mock.patch.object(referral_views, "referral_create", side_effect=OperationalError),
        mock.patch.object(referral_forms.Service.objects, "order_by", side_effect=OperationalError),
    ):
        response = send(person, page, answers)
    assert response.status_code == 503
    _assert_answers_kept(response, answers)
    assert "Case-based assistance developing trauma-informed" in response.content.decode()


def test_an_unexpected_error_keeps_the_answers_and_logs_no_child_details(answers, caplog):
    person = browser()
    page = person.get(REFER)
    boom = RuntimeError(f"row contains {answers['summary']}")
    with mock.patch.object(referral_views, "referral_create", side_effect=boom):
        response = send(person, page, answers)
    assert response.status_code == 500
    _assert_answers_kept(response, answers)
    assert "RuntimeError" in caplog.text
    assert "older adult" not in caplog.text


def test_a_file_upload_is_refused_with_the_answers_kept(client, form_data):
    upload = SimpleUploadedFile("photo.jpg", b"\xff\xd8" + b"0" * 1000, "image/jpeg")
    response = client.post(REFER, {**form_data, "attachment": upload})
    assert response.status_code == 400
    assert referral_views.FILES_REFUSED in page_text(response)
    assert 'value="Hennepin County Child Protection"' in response.content.decode()
    assert Referral.objects.count() == 0


def test_a_huge_body_is_refused_before_it_is_read(client, form_data):
    form_data["summary"] = "x" * (20 * 1024 * 1024)
    response = client.post(REFER, form_data)
    assert response.status_code == 413
    assert "That was too much to send" in page_text(response)
    assert Referral.objects.count() == 0


def test_errors_are_summarised_linked_and_tied_to_their_inputs(client, form_data):
    for name in ("referrer_name", "child_status", "services", "consent"):
        form_data.pop(name)
    response = client.post(REFER, form_data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "<title>Error: Make a referral" in html
    assert 'id="error-summary"' in html and "There is a problem" in html
    summary = html.split('id="error-summary"')[1].split("</div>")[0]
    links = [
        ('href="#id_referrer_name"', "Enter your name."),
        ('href="#id_child_status_0"', "Choose whether the child is missing, recovered or at risk."),
        ('href="#id_services_0"', "Choose at least one service."),
        ('href="#id_consent"', referral_forms.CONSENT_REQUIRED),
    ]
    for href, message in links:
        assert href in summary and message in summary.replace("&#x27;", "'")
    # Each link's target exists, and each error is read out with its input or group.
    for target in ("id_referrer_name", "id_child_status_0", "id_services_0", "id_consent"):
        assert f'id="{target}"' in html
    assert 'aria-describedby="id_referrer_name_error"' in html
    assert 'aria-describedby="id_child_status_error"' in html  # on the radio group's fieldset
    assert 'aria-describedby="id_services_helptext id_services_error"' in html
    assert 'aria-describedby="id_consent_error"' in html
    assert "This field is required" not in html


def test_the_finder_opens_the_form_with_its_jurisdiction(client):
    finder = client.get("/specialists/?jurisdiction=MN").content.decode()
    assert 'href="/refer/?jurisdiction=MN"' in finder
    form = client.get("/refer/?jurisdiction=MN").content.decode()
    assert '<option value="MN" selected>' in form
    plain = client.get("/refer/").content.decode()
    assert '<option value="MN" selected>' not in plain
    assert client.get("/refer/?jurisdiction=<b>").status_code == 200


def test_wording_fits_foster_parents(client):
    text = page_text(client.get(REFER))
    assert "work e-mail" not in text
    assert "as the child's foster parent" in text
    assert "the agency that placed the child or licenses your home" in text


def test_no_unexpected_events_or_rows_after_faults(answers):
    person = browser()
    page = person.get(REFER)
    with mock.patch.object(referral_views, "referral_create", side_effect=OperationalError):
        send(person, page, answers)
    assert ReferralEvent.objects.count() == 0


def test_the_confirmation_says_where_the_copy_was_emailed(answers):
    person = browser()
    location = send(person, person.get(REFER), answers)["Location"]
    text = page_text(person.get(location))
    assert "We are e-mailing a copy of this confirmation to jordan@example.org" in text
    Notification.objects.update(status=Notification.Status.SENT, sent_at=timezone.now())
    text = page_text(person.get(location))
    assert "We have e-mailed a copy of this confirmation to jordan@example.org" in text
    Notification.objects.update(status=Notification.Status.SKIPPED, sent_at=None)
    text = page_text(person.get(location))
    assert "We could not e-mail a copy of this confirmation to jordan@example.org" in text
