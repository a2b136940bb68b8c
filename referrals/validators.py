"""The intake rules for a referral's case fields: how its text is cleaned and checked.

The Referral model attaches these to its fields, so the public form, the admin, an
import and the shell all clean and check a referral the same way (`full_clean`, which
`referral_create` calls). The messages are the ones people read on the form; tests
check for them.
"""

import re
import unicodedata
from collections.abc import Callable, Iterable
from datetime import date, timedelta, tzinfo
from datetime import timezone as fixed_offset

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

INITIALS_NOT_A_NAME = (
    "Enter only the child's initials: 2 or 3 letters, such as JD. Never a full name."
)
STATUS_DATE_IN_FUTURE = "The date cannot be in the future. Enter today's date or an earlier one."
STATUS_DATE_TOO_OLD = "Check this date: it is more than 22 years ago."
NCMEC_DIGITS_ONLY = "An NCMEC case number has digits only (up to 12), for example 1234567."
PHONE_INVALID = (
    "Enter a phone number we can call back, with 10 to 15 digits, such as 612-555-0100 "
    "or +1 612 555 0100 ext. 12."
)
SUMMARY_TOO_SHORT = "Tell us a little more about the case: at least 20 characters."
SUMMARY_TOO_LONG = "Keep the summary to 5,000 characters (it has {length:,})."
SERVICES_REQUIRED = "Choose at least one service."

SUMMARY_MIN, SUMMARY_MAX = 20, 5000
CHILD_AGE_MAX = 21  # RST assists children and youth up to 21
STATUS_DATE_MAX_YEARS = 22
# The first zone on Earth to reach a new date (UTC+14): a date after its today has not
# begun anywhere yet.
EARLIEST_TODAY = fixed_offset(timedelta(hours=14))

# Characters nobody can see: format characters (zero-width spaces and joiners, direction
# marks, the BOM), control characters, and the Unicode "blank" letters some keyboards make.
INVISIBLE = {"Cf", "Cc", "Co", "Cs", "Cn"}
BLANK_LOOKALIKES = "\u115f\u1160\u3164\uffa0\u2800"
PHONE_CHARACTERS = re.compile(
    r"\+?[0-9 ().\-]+(?:\s*(?:x|ext\.?|extension)\s*[0-9]{1,6})?", re.IGNORECASE
)
PHONE_EXTENSION = re.compile(r"\s*(?:x|ext)", re.IGNORECASE)


# Cleaners: the text a person can actually see, which is what the rules measure.


def clean_text(value: str, *, multiline: bool = False) -> str:
    """NFC-normalise `value`, drop invisible characters, tidy white space.

    Single-line text has its white space collapsed to single spaces; multi-line text
    keeps its line breaks (at most one blank line in a row).
    """
    value = unicodedata.normalize("NFC", value)
    kept = []
    for character in value:
        if multiline and character in "\n\t":
            kept.append(character)
        elif character.isspace():
            kept.append(" ")
        elif unicodedata.category(character) in INVISIBLE or character in BLANK_LOOKALIKES:
            continue
        else:
            kept.append(character)
    value = "".join(kept)
    if not multiline:
        return " ".join(value.split())
    lines = [" ".join(line.split()) for line in value.replace("\t", " ").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def clean_line(value: str) -> str:
    """Single-line text as `clean_text` leaves it."""
    return clean_text(value)


def clean_paragraphs(value: str) -> str:
    """Multi-line text as `clean_text` leaves it (line breaks kept)."""
    return clean_text(value, multiline=True)


def clean_initials(value: str) -> str:
    """Initials without the spaces and dots people type between them, in capitals."""
    return re.sub(r"[\s.]", "", clean_text(value)).upper()


# Validators: each raises ValidationError with its message and a code of its own (a form
# maps its friendlier messages by code, so a shared code such as "invalid" would be lost).


def validate_initials(value: str) -> None:
    """2 or 3 letters: initials, never a name."""
    if not re.fullmatch(r"[^\W\d_]{2,3}", value):
        raise ValidationError(INITIALS_NOT_A_NAME, code="initials_not_a_name")


def validate_phone(value: str) -> None:
    """The characters phone numbers are written with, and 10 to 15 digits before any extension."""
    if not PHONE_CHARACTERS.fullmatch(value):
        raise ValidationError(PHONE_INVALID, code="phone_invalid")
    number = PHONE_EXTENSION.split(value)[0]
    if not 10 <= len(re.sub(r"[^0-9]", "", number)) <= 15:
        raise ValidationError(PHONE_INVALID, code="phone_invalid")


def validate_summary_length(value: str) -> None:
    """From SUMMARY_MIN to SUMMARY_MAX characters (measure the cleaned text)."""
    if len(value) < SUMMARY_MIN:
        raise ValidationError(SUMMARY_TOO_SHORT, code="summary_too_short")
    if len(value) > SUMMARY_MAX:
        raise ValidationError(SUMMARY_TOO_LONG.format(length=len(value)), code="summary_too_long")


def validate_ncmec_case_number(value: str) -> None:
    """ASCII digits only, up to 12 of them."""
    if not re.fullmatch(r"[0-9]{1,12}", value):
        raise ValidationError(NCMEC_DIGITS_ONLY, code="ncmec_digits_only")


def case_today(zone: tzinfo | None = None) -> date:
    """Today's date where the case is (`zone`, the jurisdiction's), or in TIME_ZONE."""
    return timezone.localdate(timezone=zone)


def validate_status_date(value: date, *, zone: tzinfo | None = None) -> None:
    """Not in the future where the case is, and not more than STATUS_DATE_MAX_YEARS years back.

    `zone` is the case's jurisdiction's (Guam's today starts 15 hours before New York's).
    Without one, as the model field's own check that knows no jurisdiction, a date is
    refused only once it is in the future everywhere; the public form and referral_create
    then check it again with the jurisdiction's zone.
    """
    today = case_today(zone or EARLIEST_TODAY)
    if value > today:
        raise ValidationError(STATUS_DATE_IN_FUTURE, code="status_date_in_future")
    if value.year < today.year - STATUS_DATE_MAX_YEARS:
        raise ValidationError(STATUS_DATE_TOO_OLD, code="status_date_too_old")


def validate_services(services: Iterable) -> None:
    """At least one service (a many-to-many relation, which `full_clean` does not see)."""
    if not list(services):
        raise ValidationError({"services": ValidationError(SERVICES_REQUIRED, code="required")})


# Fields that clean their text before checking it, in `full_clean` and in a ModelForm.


class CleanedFormField(forms.CharField):
    """A form field that cleans the text (`cleaner`) before any rule measures it."""

    def __init__(self, *, cleaner: Callable[[str], str] = clean_line, **kwargs):
        self.cleaner = cleaner
        super().__init__(**kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        return self.cleaner(value) if value else value


class CleanedFieldMixin:
    """Clean the text with `cleaner` before validating it, and say each message once.

    Only `full_clean` and forms clean: a value saved without them is stored as given,
    and lookups are never rewritten. Messages given in `error_messages` belong to the
    rule, so the field's form field shows them too.
    """

    default_cleaner: Callable[[str], str] = staticmethod(clean_line)
    non_db_attrs = (*models.Field.non_db_attrs, "cleaner")

    def __init__(self, *args, cleaner: Callable[[str], str] | None = None, **kwargs):
        self.cleaner = cleaner or self.default_cleaner
        self.rule_messages = dict(kwargs.get("error_messages") or {})
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if self.cleaner is not self.default_cleaner:
            kwargs["cleaner"] = self.cleaner
        return name, path, args, kwargs

    def clean(self, value, model_instance):
        value = self.to_python(value)
        return super().clean(self.cleaner(value) if value else value, model_instance)

    def run_validators(self, value):
        try:
            super().run_validators(value)
        except ValidationError as error:
            # Two checks of one rule (its pattern and the column's length) give one message.
            by_message = {}
            for item in error.error_list:
                by_message.setdefault(next(iter(item)), item)
            raise ValidationError(list(by_message.values())) from None

    def formfield(self, **kwargs):
        error_messages = {**self.rule_messages, **(kwargs.pop("error_messages", None) or {})}
        return super().formfield(
            **{
                "form_class": CleanedFormField,
                "cleaner": self.cleaner,
                "error_messages": error_messages,
                **kwargs,
            }
        )


class CleanedCharField(CleanedFieldMixin, models.CharField):
    """A CharField whose text is cleaned (single line by default) before it is checked."""


class CleanedTextField(CleanedFieldMixin, models.TextField):
    """A TextField whose text is cleaned (line breaks kept) before it is checked."""

    default_cleaner = staticmethod(clean_paragraphs)
