"""The public referral form: a good submission lands and is routed; bad input writes nothing."""

import re
from datetime import timedelta

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone

from referrals.intake import forms as referral_forms
from referrals.models import Referral, ReferralEvent
from regions.models import ResourceSpecialist
from regions.reference import PROVISIONAL_REGIONS
from tests.clock import eastern, freeze
from tests.helpers import page_text

pytestmark = pytest.mark.usefixtures("reference_data")

REFER = "/refer/"


def submit(client, data):
    return client.post(REFER, data)


def test_form_page_shows_every_contract_field(client):
    response = client.get(REFER)
    assert response.status_code == 200
    html = response.content.decode()
    for name in (
        "referrer_name",
        "referrer_role",
        "agency",
        "referrer_email",
        "referrer_phone",
        "jurisdiction",
        "county",
        "child_initials",
        "child_age",
        "child_status",
        "status_date",
        "ncmec_case_number",
        "law_enforcement_involved",
        "services",
        "urgency",
        "summary",
        "consent",
        "submission_token",
        "csrfmiddlewaretoken",
    ):
        assert f'name="{name}"' in html, name
    for legend in ("About you", "The case", "The request"):
        assert legend in html
    assert "Northern Mariana Islands (MP)" in html
    assert "Case-based assistance developing trauma-informed" in html


def test_a_valid_referral_is_created_routed_and_confirmed(client, form_data, monkeypatch):
    # Tuesday 24 November 2026, 10:00 Eastern: the office is open.
    now = freeze(monkeypatch, eastern(2026, 11, 24, 10))
    response = submit(client, form_data)
    referral = Referral.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/refer/submitted/{referral.reference}/"
    assert referral.region.number == 3
    assert referral.assigned_specialist.name == "Stacy Schultz"
    assert referral.status == Referral.Status.NEW
    assert referral.child_initials == "JD"
    assert sorted(referral.services.values_list("number", flat=True)) == [2, 3]
    # One business day (8 office hours) later: Wednesday 10:00 Eastern.
    assert referral.submitted_at == now
    assert referral.first_contact_due_at == eastern(2026, 11, 25, 10)
    assert list(referral.events.values_list("kind", "message")) == [
        ("submitted", ""),
        ("routed", "auto-routed: MN → Region 3 → Stacy Schultz (0 open)"),
    ]

    page = client.get(response["Location"])
    text = page.content.decode()
    assert page.status_code == 200
    assert referral.reference in text
    assert "Region 3 – Midwest" in text
    assert "Stacy Schultz" in text and "SLSchultz@ncmec.org" in text and "612.757.6586" in text
    # A Minnesota case: Central time.
    assert (
        "will contact you within one business day, by Wednesday 25 November at 9:00 AM CST "
        "at the latest" in page_text(page)
    )
    assert "Sent Tuesday 24 November at 9:00 AM CST" in page_text(page)
    assert "office was closed" not in text


def test_reference_is_random_crockford_base32(client, form_data):
    submit(client, form_data)
    form_data["submission_token"] = referral_forms.new_form_token()
    submit(Client(), form_data)
    first, second = Referral.objects.values_list("reference", flat=True)
    for reference in (first, second):
        assert reference.startswith("RST-") and len(reference) == 12
        assert set(reference[4:]) <= set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
    assert first != second


def test_urgent_referral_is_due_in_four_business_hours(client, form_data, monkeypatch):
    # Tuesday 24 November 2026, 15:00 Eastern: two office hours left today, two tomorrow.
    freeze(monkeypatch, eastern(2026, 11, 24, 15))
    form_data["urgency"] = "urgent"
    response = submit(client, form_data)
    referral = Referral.objects.get()
    assert referral.first_contact_due_at == eastern(2026, 11, 25, 11)
    assert (
        "will contact you within 4 business hours (urgent referral), by Wednesday 25 November "
        "at 10:00 AM CST at the latest" in page_text(client.get(response["Location"]))
    )


def test_supervisor_intake_confirmation_when_the_specialist_is_away(client, form_data):
    ResourceSpecialist.objects.filter(region__number=3).update(
        out_of_office_until=timezone.localdate() + timedelta(days=3)
    )
    response = submit(client, form_data)
    referral = Referral.objects.get()
    assert referral.assigned_specialist is None and referral.region.number == 3
    text = client.get(response["Location"]).content.decode()
    assert "went to the RST supervisor" in text


BAD_INPUT = [
    ("jurisdiction", "ZZ", "Choose a U.S. state, the District of Columbia or a territory."),
    ("jurisdiction", "", "Choose the state or territory of the case."),
    ("status_date", "2099-01-01", referral_forms.STATUS_DATE_IN_FUTURE),
    ("status_date", "1990-01-01", referral_forms.STATUS_DATE_TOO_OLD),
    ("status_date", "yesterday", "Enter a date such as 2026-11-24."),
    ("child_age", "40", "Enter an age from 0 to 21."),
    ("child_age", "-1", "Enter an age from 0 to 21."),
    ("child_initials", "Jane Doe", referral_forms.INITIALS_NOT_A_NAME),
    ("child_initials", "J", referral_forms.INITIALS_NOT_A_NAME),
    ("summary", "x" * 50_000, "Keep the summary to 5,000 characters (it has 50,000)."),
    ("summary", "too short", referral_forms.SUMMARY_TOO_SHORT),
    ("consent", "", referral_forms.CONSENT_REQUIRED),
    ("ncmec_case_number", "12-AB", referral_forms.NCMEC_DIGITS_ONLY),
    ("ncmec_case_number", "١٢٣", referral_forms.NCMEC_DIGITS_ONLY),  # Arabic-Indic digits
    ("referrer_email", "a" * 300 + "@example.org", "at most 254 characters"),
    ("referrer_email", "not-an-email", "Enter an e-mail address such as name@agency.gov."),
    ("referrer_phone", "123", referral_forms.PHONE_INVALID),
    ("referrer_phone", "612-555-0100 ext. 1234567", referral_forms.PHONE_INVALID),
    ("child_initials", "J.D.R.S.", referral_forms.INITIALS_NOT_A_NAME),
    ("services", [], "Choose at least one service."),
    ("services", ["9"], "Choose services from the list."),
    ("referrer_role", "detective", "Select a valid choice."),
    ("referrer_name", "\u200b\u200b\u200b", "Enter your name."),
    ("summary", "\u200b" * 40 + "help", referral_forms.SUMMARY_TOO_SHORT),
    ("summary", "\u200b\ufeff\u2060" * 30, "Write a short summary of the case and what you need."),
    ("agency", "\u3164\u00a0\u200d", "Enter your agency or organization."),
    ("referrer_phone", "<b>612-555-0100</b>", referral_forms.PHONE_INVALID),
    ("referrer_phone", "612-555-0100; drop table", referral_forms.PHONE_INVALID),
    ("child_age", "", "Enter the child's age in years, from 0 to 21."),
    ("child_status", "", "Choose whether the child is missing, recovered or at risk."),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_INPUT)
def test_bad_input_gets_a_message_keeps_answers_and_writes_nothing(
    client, form_data, field, value, message
):
    form_data[field] = value
    response = submit(client, form_data)
    assert response.status_code == 400
    assert Referral.objects.count() == 0
    assert ReferralEvent.objects.count() == 0
    form = response.context["form"]
    assert any(message in error for error in form.errors[field]), form.errors
    text = response.content.decode()
    assert "There is a problem" in text
    assert "<title>Error: Make a referral" in text
    # What the user typed elsewhere is still there.
    if field != "agency":
        assert 'value="Hennepin County Child Protection"' in text
    if field != "summary":
        assert "seen with an older adult" in text


def test_initials_with_dots_are_normalised(client, form_data):
    form_data["child_initials"] = "j.d."
    submit(client, form_data)
    assert Referral.objects.get().child_initials == "JD"


def test_the_answers_are_stored_as_the_model_cleans_them(client, form_data):
    form_data["referrer_name"] = " Jor\u200bdan  Case\u00adworker "
    form_data["summary"] = "\ufeff" + form_data["summary"] + "\n\n\n\nShe is 15.\u200b"
    submit(client, form_data)
    referral = Referral.objects.get()
    assert referral.referrer_name == "Jordan Caseworker"
    assert referral.summary.endswith("older adult.\n\nShe is 15.")


def test_the_form_takes_lengths_and_choices_from_the_model():
    form = referral_forms.ReferralForm()
    for name in referral_forms.ReferralForm._meta.fields:
        model_field = Referral._meta.get_field(name)
        field = form.fields[name]
        if model_field.choices:
            # Radio buttons: no blank "---------" choice.
            assert list(field.choices) == list(model_field.choices), name
        else:
            assert getattr(field, "max_length", None) == model_field.max_length, name


def test_blank_form_ticks_routine_and_lets_initials_be_typed_with_dots(client):
    html = client.get(REFER).content.decode()
    routine, urgent = re.findall(r'<input type="radio" name="urgency"[^>]*>', html)
    assert 'value="routine"' in routine and "checked" in routine
    assert "checked" not in urgent
    assert "---------" not in html
    initials = html.split('name="child_initials"')[1].split(">")[0]
    assert "maxlength" not in initials  # "J. D. R." is longer than the 3 letters kept
    assert 'max="21"' in html.split('name="child_age"')[1].split(">")[0]


def test_honeypot_silently_creates_nothing(client, form_data):
    form_data["leave_empty"] = "http://spam.example"
    response = submit(client, form_data)
    assert response.status_code == 200
    assert "Your submission has been received." in response.content.decode()
    assert Referral.objects.count() == 0


def test_double_submit_makes_one_referral(client, form_data):
    first = submit(client, form_data)
    second = submit(client, form_data)
    assert Referral.objects.count() == 1
    assert first["Location"] == second["Location"]


def test_replayed_token_from_another_browser_creates_nothing_and_reveals_nothing(client, form_data):
    submit(client, form_data)
    reference = Referral.objects.get().reference
    response = submit(Client(), form_data)
    assert response.status_code == 409
    assert "This form was already submitted" in response.content.decode()
    assert reference not in response.content.decode()
    assert Referral.objects.count() == 1


def test_forged_token_keeps_answers_and_gives_a_fresh_token(client, form_data):
    form_data["submission_token"] = "forged"
    response = submit(client, form_data)
    assert response.status_code == 400
    assert Referral.objects.count() == 0
    assert referral_forms.TOKEN_INVALID in response.content.decode()
    fresh = response.context["form"]["submission_token"].value()
    assert fresh != "forged"
    form_data["submission_token"] = fresh
    assert submit(client, form_data).status_code == 302
    assert Referral.objects.count() == 1


def test_expired_token_is_explained(client, form_data, settings, monkeypatch):
    stale = signing.TimestampSigner(salt=referral_forms.TOKEN_SALT)
    monkeypatch.setattr(
        stale, "timestamp", lambda: signing.b62_encode(int(timezone.now().timestamp()) - 90_000)
    )
    form_data["submission_token"] = stale.sign("0123456789abcdef")
    response = submit(client, form_data)
    assert response.status_code == 400
    assert "has expired" in response.content.decode()
    assert Referral.objects.count() == 0


def test_missing_token_is_refused(client, form_data):
    del form_data["submission_token"]
    response = submit(client, form_data)
    assert response.status_code == 400
    assert Referral.objects.count() == 0


def test_confirmation_page_is_only_for_the_submitting_session(client, form_data):
    response = submit(client, form_data)
    assert client.get(response["Location"]).status_code == 200
    assert Client().get(response["Location"]).status_code == 404


def test_unknown_reference_confirmation_is_404(client):
    assert client.get("/refer/submitted/RST-00000000/").status_code == 404


def test_rate_limit_keeps_the_answers(client, form_data, settings):
    settings.RST_REFERRAL_RATE_LIMIT = "2/h"
    for initials in ("AB", "CD"):
        form_data["submission_token"] = referral_forms.new_form_token()
        form_data["child_initials"] = initials
        assert submit(client, form_data).status_code == 302
    form_data["submission_token"] = referral_forms.new_form_token()
    form_data["child_initials"] = "EF"
    response = submit(client, form_data)
    assert response.status_code == 429
    assert "wait a few minutes" in response.content.decode()
    assert "seen with an older adult" in response.content.decode()
    assert Referral.objects.count() == 2


def test_get_and_post_only(client):
    assert client.put(REFER).status_code == 405


def test_csrf_is_enforced(form_data):
    csrf_client = Client(enforce_csrf_checks=True)
    assert csrf_client.post(REFER, form_data).status_code == 403
    assert Referral.objects.count() == 0


def test_form_page_query_count(client, django_assert_num_queries, django_assert_max_num_queries):
    # At most the jurisdiction and service choices; then everything comes from the
    # process's own cache, warm or cold.
    with django_assert_max_num_queries(2):
        first = client.get(REFER)
    with django_assert_num_queries(0):
        second = client.get(REFER)
    tokens = [r.context["form"]["submission_token"].value() for r in (first, second)]
    assert tokens[0] != tokens[1]
    for response, token in zip((first, second), tokens, strict=True):
        html = response.content.decode()
        assert f'value="{token}"' in html
        assert 'name="csrfmiddlewaretoken"' in html
        assert "Northern Mariana Islands (MP)" in html


def test_submission_query_count_does_not_grow(client, form_data, django_assert_max_num_queries):
    from tests.factories import ReferralFactory

    ReferralFactory.create_batch(30)
    with django_assert_max_num_queries(24) as captured:
        assert submit(client, form_data).status_code == 302
    small = len(captured)
    ReferralFactory.create_batch(60)
    form_data["submission_token"] = referral_forms.new_form_token()
    form_data["child_initials"] = "KL"
    # Another child's case number too: the same one would be a possible duplicate.
    form_data["ncmec_case_number"] = "7654321"
    with django_assert_max_num_queries(small):
        assert submit(client, form_data).status_code == 302


def test_confirmation_page_query_count(client, form_data, django_assert_num_queries):
    location = submit(client, form_data)["Location"]
    # The session; the referral with its region, specialist and receipt status; the
    # first view also saves the session, its status link taken out (shown once).
    with django_assert_num_queries(5):
        client.get(location)
    with django_assert_num_queries(2):
        client.get(location)


def test_no_child_details_in_logs(client, form_data, caplog):
    caplog.set_level("DEBUG")
    submit(client, form_data)
    logged = caplog.text
    assert "JD" not in logged.replace("JSON", "")
    assert "older adult" not in logged
    assert Referral.objects.get().reference in logged


GARBAGE = ["\x00", "ä" * 300, "<script>alert(1)</script>", "1e9", "-0", "[]", "%00", " "]


@pytest.mark.parametrize("value", GARBAGE)
def test_no_field_value_causes_a_server_error(client, form_data, value, settings):
    settings.RST_REFERRAL_RATE_LIMIT = "1000/h"
    for field in form_data:
        if field in ("submission_token", "leave_empty"):
            continue
        data = {**form_data, field: value}
        response = client.post(REFER, data)
        assert response.status_code in (302, 400), (field, value, response.status_code)
        if response.status_code == 400:
            assert "<script>alert(1)</script>" not in response.content.decode()


@pytest.mark.parametrize(
    ("code", "specialist"),
    [
        (code, name)
        for number, name in enumerate(
            [
                "Brittany Butler",
                "Teresa Musick",
                "Stacy Schultz",
                "Kyla Conlee",
                "Courtney Desilet",
            ],
            start=1,
        )
        for code in PROVISIONAL_REGIONS[number][1].split()
    ],
)
def test_a_referral_from_each_jurisdiction_lands_with_its_specialist(
    client, form_data, code, specialist
):
    form_data["jurisdiction"] = code
    confirmation = client.get(submit(client, form_data)["Location"])
    referral = Referral.objects.get()
    assert referral.jurisdiction_id == code
    assert referral.assigned_specialist.name == specialist
    assert specialist in confirmation.content.decode()
