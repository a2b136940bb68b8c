"""The intake rules (referrals/validators.py): each one alone, then on the model and in
referral_create, so a referral made by any entry point obeys them."""

import uuid
from datetime import date, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from referrals.models import Notification, Referral, ReferralEvent, Service
from referrals.services import referral_create
from referrals.validators import (
    INITIALS_NOT_A_NAME,
    NCMEC_DIGITS_ONLY,
    PHONE_INVALID,
    SERVICES_REQUIRED,
    STATUS_DATE_IN_FUTURE,
    STATUS_DATE_TOO_OLD,
    SUMMARY_TOO_SHORT,
    clean_initials,
    clean_line,
    clean_paragraphs,
    validate_initials,
    validate_ncmec_case_number,
    validate_phone,
    validate_services,
    validate_status_date,
    validate_summary_length,
)
from regions.models import Jurisdiction
from tests.clock import EASTERN, GUAM, eastern, freeze
from tests.factories import ReferralFactory

SAMOA = ZoneInfo("Pacific/Pago_Pago")


def refused(validator, value) -> list[str]:
    """The messages `validator` gives for `value` (it must refuse it)."""
    with pytest.raises(ValidationError) as refusal:
        validator(value)
    return refusal.value.messages


# Cleaners.


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("  Jordan   Caseworker ", "Jordan Caseworker"),
        ("Jor\u200bdan", "Jordan"),  # zero-width space
        ("\ufeffHennepin\u2060", "Hennepin"),  # byte order mark, word joiner
        ("\u202eJordan", "Jordan"),  # right-to-left override
        ("Cafe\u0301", "Caf\u00e9"),  # NFC: e + combining acute accent is one letter
        ("Jordan\u00a0Caseworker", "Jordan Caseworker"),  # no-break space
        ("\u3164\u00a0\u200d", ""),  # a Hangul filler, a space and a joiner: nothing to see
        ("first\nsecond\tthird", "first second third"),
        ("nul\x00byte", "nulbyte"),
    ],
)
def test_clean_line_keeps_what_a_person_can_see(typed, kept):
    assert clean_line(typed) == kept


def test_clean_paragraphs_keeps_line_breaks_and_at_most_one_blank_line():
    typed = "  First line.\u200b \n\n\n\nSecond\tline.\r\n  Third  line.  \n\n"
    assert clean_paragraphs(typed) == "First line.\n\nSecond line.\nThird line."


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("jd", "JD"),
        ("j.d.", "JD"),
        (" J. D. R. ", "JDR"),
        ("j\u200bd", "JD"),
        ("Jane Doe", "JANEDOE"),
    ],
)
def test_clean_initials_drops_dots_and_spaces_and_capitalises(typed, kept):
    assert clean_initials(typed) == kept


# Validators.


@pytest.mark.parametrize("initials", ["JD", "JDR", "\u00c9O", "\u017dK"])
def test_initials_of_two_or_three_letters_pass(initials):
    validate_initials(initials)


@pytest.mark.parametrize("initials", ["J", "JANE", "JANEDOE", "J1", "J-D", "12", "J_D"])
def test_initials_that_are_not_two_or_three_letters_are_refused(initials):
    assert refused(validate_initials, initials) == [INITIALS_NOT_A_NAME]


@pytest.mark.parametrize(
    "phone",
    [
        "612-555-0100",
        "(612) 555.0100",
        "+1 612 555 0100 ext. 12",
        "6125550100 x12",
        "612 555 0100 extension 123456",
        "+44 20 7946 0958",
        "+1 612 555 0100 123 4",  # 15 digits
    ],
)
def test_phone_numbers_we_can_call_pass(phone):
    validate_phone(phone)


@pytest.mark.parametrize(
    "phone",
    [
        "123",
        "555-0100",  # 7 digits
        "+1 612 555 0100 123 45",  # 16 digits
        "612-555-0100 ext. 1234567",  # an extension of 7 digits
        "612-555-0100; drop table",
        "<b>612-555-0100</b>",
        "612-555-0100 or 0101",
        "\u0666\u0661\u0662\u0665\u0665\u0665\u0660\u0661\u0660\u0660",  # Arabic-Indic digits
    ],
)
def test_phone_numbers_we_cannot_call_are_refused(phone):
    assert refused(validate_phone, phone) == [PHONE_INVALID]


@pytest.mark.parametrize("length", [20, 21, 4999, 5000])
def test_summaries_of_20_to_5000_characters_pass(length):
    validate_summary_length("x" * length)


def test_summaries_outside_20_to_5000_characters_are_refused():
    assert refused(validate_summary_length, "x" * 19) == [SUMMARY_TOO_SHORT]
    assert refused(validate_summary_length, "x" * 5001) == [
        "Keep the summary to 5,000 characters (it has 5,001)."
    ]


@pytest.mark.parametrize("number", ["1", "1234567", "123456789012"])
def test_ncmec_case_numbers_of_digits_pass(number):
    validate_ncmec_case_number(number)


@pytest.mark.parametrize(
    "number", ["12-AB", "1234567890123", "12 34", "\u0661\u0662\u0663", "1234567\n"]
)
def test_ncmec_case_numbers_that_are_not_just_digits_are_refused(number):
    assert refused(validate_ncmec_case_number, number) == [NCMEC_DIGITS_ONLY]


@pytest.mark.parametrize("zone", [EASTERN, GUAM, SAMOA])
def test_status_dates_from_today_back_22_years_pass(zone):
    today = timezone.localdate(timezone=zone)
    for status_date in (today, today - timedelta(days=400), date(today.year - 22, 1, 1)):
        validate_status_date(status_date, zone=zone)


@pytest.mark.parametrize("zone", [EASTERN, GUAM, SAMOA])
def test_status_dates_in_the_future_or_too_long_ago_are_refused(zone):
    today = timezone.localdate(timezone=zone)
    tomorrow = today + timedelta(days=1)
    assert refused(partial(validate_status_date, zone=zone), tomorrow) == [STATUS_DATE_IN_FUTURE]
    long_ago = date(today.year - 23, 12, 31)
    assert refused(partial(validate_status_date, zone=zone), long_ago) == [STATUS_DATE_TOO_OLD]


def test_today_is_the_cases(monkeypatch):
    """At 23:00 in New York it is already tomorrow in Guam, and still today in Samoa."""
    freeze(monkeypatch, eastern(2026, 11, 24, 23))
    guam_today = date(2026, 11, 25)
    validate_status_date(guam_today, zone=GUAM)
    assert refused(partial(validate_status_date, zone=EASTERN), guam_today) == [
        STATUS_DATE_IN_FUTURE
    ]
    freeze(monkeypatch, eastern(2026, 11, 25, 0, 30))
    assert refused(partial(validate_status_date, zone=SAMOA), date(2026, 11, 25)) == [
        STATUS_DATE_IN_FUTURE
    ]
    validate_status_date(date(2026, 11, 25), zone=EASTERN)


def test_without_a_zone_a_date_is_refused_once_it_has_begun_nowhere(monkeypatch):
    """The model field's own check knows no jurisdiction: it refuses only a date that is
    in the future everywhere (the form and referral_create check with the case's zone)."""
    # 23:00 Eastern is 04:00 UTC on the 25th: 18:00 on the 25th at UTC+14.
    freeze(monkeypatch, eastern(2026, 11, 24, 23))
    validate_status_date(date(2026, 11, 25))
    assert refused(validate_status_date, date(2026, 11, 26)) == [STATUS_DATE_IN_FUTURE]


def test_a_referral_asks_for_at_least_one_service():
    with pytest.raises(ValidationError) as refusal:
        validate_services([])
    assert refusal.value.message_dict == {"services": [SERVICES_REQUIRED]}


# On the model: full_clean cleans and checks, whoever calls it.

with_reference_data = pytest.mark.usefixtures("reference_data")


@with_reference_data
def test_full_clean_stores_the_cleaned_text():
    referral = ReferralFactory.build(
        referrer_name="  Jordan\u200b  Caseworker ",
        agency="Hennepin\u00a0County",
        referrer_phone=" 612-555-0100\u200e",
        county="\ufeffHennepin",
        child_initials="j. d.",
        ncmec_case_number=" 1234567 ",
        summary="Missing\u200b since Friday;\n\n\n\nseen with an older adult.",
    )
    referral.full_clean()
    assert referral.referrer_name == "Jordan Caseworker"
    assert referral.agency == "Hennepin County"
    assert referral.referrer_phone == "612-555-0100"
    assert referral.county == "Hennepin"
    assert referral.child_initials == "JD"
    assert referral.ncmec_case_number == "1234567"
    assert referral.summary == "Missing since Friday;\n\nseen with an older adult."


@with_reference_data
def test_full_clean_names_every_broken_rule_once():
    referral = ReferralFactory.build(
        child_initials="Jane Doe",
        referrer_phone="123",
        summary="\u200b" * 40 + "help",
        ncmec_case_number="12-AB-34-5678-90",
        # In the future everywhere (the model alone knows no jurisdiction: see below).
        status_date=timezone.localdate() + timedelta(days=2),
        child_age=22,
        referrer_name="\u200b\u200b",
    )
    with pytest.raises(ValidationError) as refusal:
        referral.full_clean()
    errors = refusal.value.message_dict
    assert errors["child_initials"] == [INITIALS_NOT_A_NAME]  # too long and not letters: once
    assert errors["referrer_phone"] == [PHONE_INVALID]
    assert errors["summary"] == [SUMMARY_TOO_SHORT]
    assert errors["ncmec_case_number"] == [NCMEC_DIGITS_ONLY]
    assert errors["status_date"] == [STATUS_DATE_IN_FUTURE]
    assert errors["child_age"] == ["Ensure this value is less than or equal to 21."]
    assert errors["referrer_name"] == ["This field cannot be blank."]


@with_reference_data
def test_saving_without_full_clean_stores_the_value_as_given():
    """Cleaning happens in full_clean and forms, never in save() or in lookups."""
    referral = ReferralFactory(agency="Agency\u200b 7")
    assert Referral.objects.get(pk=referral.pk).agency == "Agency\u200b 7"
    assert not Referral.objects.filter(agency="Agency 7").exists()


# The factories' referrals obey the rules they are used to test.


@with_reference_data
def test_factory_referrals_obey_the_intake_rules():
    ReferralFactory().full_clean()
    ReferralFactory(urgency=Referral.Urgency.URGENT).full_clean()


@with_reference_data
def test_factory_referrals_are_due_by_the_first_contact_rule(monkeypatch):
    # Tuesday 24 November 2026, 10:00 Eastern: one business day and 4 business hours on.
    now = freeze(monkeypatch, eastern(2026, 11, 24, 10))
    routine = ReferralFactory(submitted_at=now)
    urgent = ReferralFactory(submitted_at=now, urgency=Referral.Urgency.URGENT)
    assert routine.first_contact_due_at == eastern(2026, 11, 25, 10)
    assert urgent.first_contact_due_at == eastern(2026, 11, 24, 14)


# referral_create: what the form, an import or the shell calls.


def answers(**changes) -> dict:
    """A complete, valid set of referral_create's arguments for a case in Minnesota."""
    return {
        "submission_token": uuid.uuid4().hex,
        "referrer_name": "Jordan Caseworker",
        "referrer_role": Referral.ReferrerRole.CHILD_WELFARE,
        "agency": "Hennepin County Child Protection",
        "referrer_email": "jordan@example.org",
        "referrer_phone": "612-555-0100",
        "jurisdiction": Jurisdiction.objects.get(code="MN"),
        "county": "Hennepin",
        "child_initials": "JD",
        "child_age": 15,
        "child_status": Referral.ChildStatus.MISSING,
        "status_date": timezone.localdate() - timedelta(days=2),
        "ncmec_case_number": "",
        "law_enforcement_involved": Referral.LawEnforcement.UNKNOWN,
        "services": list(Service.objects.filter(number__in=[2, 3])),
        "urgency": Referral.Urgency.ROUTINE,
        "summary": "Youth missing from placement since Friday; seen with an older adult.",
        **changes,
    }


def assert_nothing_written():
    assert Referral.objects.count() == 0
    assert ReferralEvent.objects.count() == 0
    assert Notification.objects.count() == 0
    assert DBTaskResult.objects.count() == 0


BAD_ANSWERS = [
    ("child_initials", "Jane Doe", INITIALS_NOT_A_NAME),
    ("child_initials", "J", INITIALS_NOT_A_NAME),
    ("referrer_phone", "612-555-0100; drop table", PHONE_INVALID),
    ("summary", "\u200b" * 40 + "help", SUMMARY_TOO_SHORT),
    ("summary", "x" * 5001, "Keep the summary to 5,000 characters (it has 5,001)."),
    ("ncmec_case_number", "\u0661\u0662\u0663", NCMEC_DIGITS_ONLY),
    ("status_date", date(2099, 1, 1), STATUS_DATE_IN_FUTURE),
    ("status_date", date(1990, 1, 1), STATUS_DATE_TOO_OLD),
    ("child_age", 22, "Ensure this value is less than or equal to 21."),
    ("referrer_role", "detective", "Value 'detective' is not a valid choice."),
    ("urgency", "whenever", "Value 'whenever' is not a valid choice."),
    ("referrer_email", "not-an-email", "Enter a valid email address."),
    ("agency", "\u3164\u00a0\u200d", "This field cannot be blank."),
    ("jurisdiction", None, "This field cannot be null."),
    ("services", [], SERVICES_REQUIRED),
]


@with_reference_data
@pytest.mark.parametrize(("field", "value", "message"), BAD_ANSWERS)
def test_referral_create_refuses_bad_answers_naming_the_field_and_writes_nothing(
    field, value, message
):
    with pytest.raises(ValidationError) as refusal:
        referral_create(**answers(**{field: value}))
    assert refusal.value.message_dict == {field: [message]}
    assert_nothing_written()


@with_reference_data
def test_referral_create_names_every_bad_field_at_once():
    bad = answers(child_initials="Jane Doe", referrer_phone="123", services=[])
    with pytest.raises(ValidationError) as refusal:
        referral_create(**bad)
    assert set(refusal.value.message_dict) == {"child_initials", "referrer_phone", "services"}
    assert_nothing_written()


@with_reference_data
def test_referral_create_stores_the_cleaned_answers():
    referral, created = referral_create(
        **answers(
            referrer_name="Jor\u200bdan  Case\u00adworker",
            child_initials="j.d.",
            summary="\ufeffYouth missing since Friday;\n\n\n\nseen with an older adult.\u200b",
        )
    )
    assert created
    referral.refresh_from_db()
    assert referral.referrer_name == "Jordan Caseworker"
    assert referral.child_initials == "JD"
    assert referral.summary == "Youth missing since Friday;\n\nseen with an older adult."
    assert sorted(referral.services.values_list("number", flat=True)) == [2, 3]


@with_reference_data
def test_referral_create_takes_each_case_field_by_name():
    with pytest.raises(TypeError, match="unexpected keyword argument 'child_name'"):
        referral_create(**answers(child_name="Jane Doe"))
    with pytest.raises(TypeError, match="missing 1 required keyword-only argument: 'summary'"):
        referral_create(**{k: v for k, v in answers().items() if k != "summary"})
    assert_nothing_written()
