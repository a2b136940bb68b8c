"""The public referral form. Field names are a contract (see DESIGN.md)."""

import hashlib
import re
import uuid

from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Div, Field, Fieldset, Layout, Submit
from django import forms
from django.conf import settings
from django.core import signing
from django.core.validators import RegexValidator
from django.utils import timezone

from regions.models import Jurisdiction

from .models import Referral, Service

TOKEN_SALT = "referrals.form-token"

INITIALS_NOT_A_NAME = (
    "Enter only the child's initials: 2 or 3 letters, such as JD. Never a full name."
)
STATUS_DATE_IN_FUTURE = "This date cannot be in the future."
STATUS_DATE_TOO_OLD = "Check this date: it is more than 22 years ago."
NCMEC_DIGITS_ONLY = "An NCMEC case number has digits only (up to 12), for example 1234567."
PHONE_INVALID = "Enter a phone number we can call back, with 10 to 15 digits."
CONSENT_REQUIRED = (
    "Please confirm that you are a professional on this case and share this "
    "information to ask RST for technical assistance."
)
SUMMARY_TOO_SHORT = "Tell us a little more: at least 20 characters."
SUMMARY_TOO_LONG = "Keep the summary to 5,000 characters (it has {length:,})."
TOKEN_EXPIRED = (
    "This form was open for a long time and has expired. Your answers are kept below: "
    "check them and submit again."
)
TOKEN_INVALID = "This form could not be verified. Your answers are kept below: submit again."
SUMMARY_MIN, SUMMARY_MAX = 20, 5000


def new_form_token() -> str:
    """A signed, timestamped one-time token that identifies one filled-in form."""
    return signing.TimestampSigner(salt=TOKEN_SALT).sign(uuid.uuid4().hex)


def read_form_token(token: str) -> str:
    """Return the token's id, or raise ValidationError if it is forged or expired."""
    max_age = settings.RST_FORM_TOKEN_MAX_AGE_HOURS * 3600
    try:
        return signing.TimestampSigner(salt=TOKEN_SALT).unsign(token, max_age=max_age)
    except signing.SignatureExpired:
        raise forms.ValidationError(TOKEN_EXPIRED, code="token_expired") from None
    except signing.BadSignature:
        raise forms.ValidationError(TOKEN_INVALID, code="token_invalid") from None


class JurisdictionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} ({obj.code})"


class ReferralForm(forms.Form):
    # About you.
    referrer_name = forms.CharField(label="Your name", max_length=120)
    referrer_role = forms.ChoiceField(
        label="Your role", choices=Referral.ReferrerRole.choices, widget=forms.RadioSelect
    )
    agency = forms.CharField(label="Agency or organization", max_length=200)
    referrer_email = forms.EmailField(
        label="Your work e-mail",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    referrer_phone = forms.CharField(
        label="Your phone",
        max_length=30,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )

    # The case.
    jurisdiction = JurisdictionChoiceField(
        label="State or territory of the case",
        queryset=Jurisdiction.objects.select_related("region").order_by("name"),
        to_field_name="code",
        empty_label="Choose…",
        help_text="This decides which regional Resource Specialist receives the referral.",
        error_messages={
            "invalid_choice": "Choose a U.S. state, the District of Columbia or a territory."
        },
    )
    county = forms.CharField(label="County (optional)", max_length=100, required=False)
    child_initials = forms.CharField(
        label="Child's initials",
        max_length=12,
        help_text="2 or 3 letters. Please do not enter the child's name.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "size": 4}),
    )
    child_age = forms.IntegerField(
        label="Child's age",
        min_value=0,
        max_value=21,
        error_messages={
            "min_value": "Enter an age from 0 to 21.",
            "max_value": "RST assists with children and youth up to age 21. Enter an age from 0 to 21.",  # noqa: E501
        },
    )
    child_status = forms.ChoiceField(
        label="The child is", choices=Referral.ChildStatus.choices, widget=forms.RadioSelect
    )
    status_date = forms.DateField(
        label="Date missing or recovered",
        help_text="The date the child went missing, or was recovered or returned to care.",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter a date such as 2026-11-24."},
    )
    ncmec_case_number = forms.CharField(
        label="NCMEC case number (optional)",
        max_length=12,
        required=False,
        validators=[RegexValidator(r"^[0-9]{1,12}$", NCMEC_DIGITS_ONLY)],
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    law_enforcement_involved = forms.ChoiceField(
        label="Is law enforcement involved?",
        choices=Referral.LawEnforcement.choices,
        widget=forms.RadioSelect,
    )

    # The request.
    services = forms.ModelMultipleChoiceField(
        label="What would help?",
        queryset=Service.objects.order_by("number"),
        to_field_name="number",
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one service."},
    )
    urgency = forms.ChoiceField(
        label="Urgency",
        choices=Referral.Urgency.choices,
        widget=forms.RadioSelect,
        initial=Referral.Urgency.ROUTINE,
        help_text="Urgent referrals are due for first contact within 4 hours; routine within "
        "one business day.",
    )
    summary = forms.CharField(
        label="Summary of the case and what you need",
        help_text="20 to 5,000 characters. Use initials only; no names or addresses.",
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    consent = forms.BooleanField(
        label="I am a professional working on this case, and I share this information with "
        "RST to request technical assistance.",
        error_messages={"required": CONSENT_REQUIRED},
    )

    # Bots fill every field; people never see this one.
    # Named so that browsers and password managers have nothing to autofill into it.
    leave_empty = forms.CharField(required=False, label="Leave this field empty")
    submission_token = forms.CharField(
        widget=forms.HiddenInput, error_messages={"required": TOKEN_INVALID}
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["leave_empty"].widget.attrs.update({"tabindex": "-1", "autocomplete": "off"})
        self.helper = FormHelper()
        # The template writes the <form> tag, CSRF and token: the rest can be cached.
        self.helper.form_tag = False
        self.helper.layout = Layout(
            Fieldset(
                "About you",
                "referrer_name",
                "referrer_role",
                "agency",
                Div(
                    Div("referrer_email", css_class="col-md-7"),
                    Div("referrer_phone", css_class="col-md-5"),
                    css_class="row",
                ),
            ),
            Fieldset(
                "The case",
                Div(
                    Div("jurisdiction", css_class="col-md-7"),
                    Div("county", css_class="col-md-5"),
                    css_class="row",
                ),
                Div(
                    Div("child_initials", css_class="col-6 col-md-4"),
                    Div("child_age", css_class="col-6 col-md-3"),
                    css_class="row",
                ),
                "child_status",
                Div(
                    Div("status_date", css_class="col-md-6"),
                    Div("ncmec_case_number", css_class="col-md-6"),
                    css_class="row",
                ),
                "law_enforcement_involved",
            ),
            Fieldset("The request", "services", "urgency", "summary", "consent"),
            Div(Field("leave_empty"), css_class="rst-hp", aria_hidden="true"),
            HTML(
                '<p class="small text-body-secondary">Only RST staff can read what you send. '
                "You will get a reference number straight away.</p>"
            ),
            Submit("submit", "Send referral", css_class="btn-lg"),
        )

    def clean_submission_token(self):
        token = self.cleaned_data["submission_token"]
        self.token_id = read_form_token(token)
        return token

    def clean_referrer_phone(self):
        phone = self.cleaned_data["referrer_phone"].strip()
        if not 10 <= len(re.sub(r"\D", "", phone)) <= 15:
            raise forms.ValidationError(PHONE_INVALID)
        return phone

    def clean_child_initials(self):
        initials = re.sub(r"[\s.]", "", self.cleaned_data["child_initials"])
        if not re.fullmatch(r"[A-Za-z]{2,3}", initials):
            raise forms.ValidationError(INITIALS_NOT_A_NAME)
        return initials.upper()

    def clean_status_date(self):
        status_date = self.cleaned_data["status_date"]
        today = timezone.localdate()
        if status_date > today:
            raise forms.ValidationError(STATUS_DATE_IN_FUTURE)
        if status_date.year < today.year - 22:
            raise forms.ValidationError(STATUS_DATE_TOO_OLD)
        return status_date

    def clean_summary(self):
        summary = self.cleaned_data["summary"].strip()
        if len(summary) < SUMMARY_MIN:
            raise forms.ValidationError(SUMMARY_TOO_SHORT)
        if len(summary) > SUMMARY_MAX:
            raise forms.ValidationError(SUMMARY_TOO_LONG.format(length=len(summary)))
        return summary

    @property
    def cache_version(self) -> str:
        """Part of the blank form's cache key: a deploy that changes the fields renews it."""
        return hashlib.sha1(",".join(self.fields).encode(), usedforsecurity=False).hexdigest()[:12]

    @property
    def is_bot(self) -> bool:
        return bool(self.data.get("leave_empty"))

    def referral_details(self) -> dict:
        """The cleaned answers as `referral_create` takes them."""
        data = self.cleaned_data
        return {
            name: data[name]
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
                "urgency",
                "summary",
            )
        }
