"""The public referral form. Field names are a contract (see DESIGN.md)."""

import hashlib
import json
import re
import unicodedata
import uuid

from django import forms
from django.conf import settings
from django.core import signing
from django.core.cache import caches
from django.core.validators import RegexValidator
from django.db import DatabaseError
from django.forms.renderers import DjangoTemplates
from django.utils import timezone

from referrals.models import Referral, Service
from regions.models import Jurisdiction

TOKEN_SALT = "referrals.form-token"

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
CONSENT_REQUIRED = (
    "Tick the box to confirm that you work on this case and share this information to "
    "ask RST for technical assistance."
)
SUMMARY_TOO_SHORT = "Tell us a little more about the case: at least 20 characters."
SUMMARY_TOO_LONG = "Keep the summary to 5,000 characters (it has {length:,})."
TOKEN_EXPIRED = (
    "This form was open for a long time and has expired. Your answers are kept below: "
    "check them and send again."
)
TOKEN_INVALID = "This form could not be verified. Your answers are kept below: send again."
SUMMARY_MIN, SUMMARY_MAX = 20, 5000

# Characters nobody can see: format characters (zero-width spaces and joiners, direction
# marks, the BOM), control characters, and the Unicode "blank" letters some keyboards make.
INVISIBLE = {"Cf", "Cc", "Co", "Cs", "Cn"}
BLANK_LOOKALIKES = "\u115f\u1160\u3164\uffa0\u2800"
PHONE_CHARACTERS = re.compile(
    r"\+?[0-9 ().\-]+(?:\s*(?:x|ext\.?|extension)\s*[0-9]{1,6})?", re.IGNORECASE
)


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


class CleanTextField(forms.CharField):
    """A CharField that measures and checks the text a person can actually see."""

    def __init__(self, *, multiline=False, **kwargs):
        self.multiline = multiline
        super().__init__(**kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        return clean_text(value, multiline=self.multiline) if value else value


class ChoicesWidgetMixin:
    """Radio buttons and checkboxes laid out the Bootstrap way, grouped in a fieldset."""

    template_name = "referrals/intake/forms/choices.html"
    option_template_name = "referrals/intake/forms/choice_option.html"


class RadioChoices(ChoicesWidgetMixin, forms.RadioSelect):
    pass


class CheckboxChoices(ChoicesWidgetMixin, forms.CheckboxSelectMultiple):
    pass


class PublicFormRenderer(DjangoTemplates):
    """Each field as label, hint, error and input, tied together for screen readers."""

    field_template_name = "referrals/intake/forms/field.html"


def _from_fixture(name: str) -> list[dict]:
    with open(settings.BASE_DIR / "fixtures" / f"{name}.json", encoding="utf-8") as fixture:
        return [row["fields"] | {"pk": row["pk"]} for row in json.load(fixture)]


def public_choices() -> dict[str, list[tuple[str, str]]]:
    """The jurisdiction and service choices, cached in this process for five minutes.

    Read from the database; if it cannot be reached, the last choices this process
    saw or, failing that, the reference fixtures: the form must still show the
    answers someone typed when the database is down.
    """
    local = caches["local"]
    choices = local.get("rst_public_choices")
    if choices is not None:
        return choices
    try:
        jurisdictions = [
            (j.code, str(j)) for j in Jurisdiction.objects.order_by("name").only("code", "name")
        ]
        services = [(str(s.number), s.name) for s in Service.objects.order_by("number")]
    except DatabaseError:
        stale = local.get("rst_public_choices_stale")
        if stale is not None:
            return stale
        jurisdictions = [
            (row["pk"], f"{row['name']} ({row['pk']})")
            for row in sorted(_from_fixture("jurisdictions"), key=lambda row: row["name"])
        ]
        services = [(str(row["number"]), row["name"]) for row in _from_fixture("services")]
        return {"jurisdiction": jurisdictions, "services": services}
    choices = {"jurisdiction": jurisdictions, "services": services}
    local.set("rst_public_choices", choices, 300)
    local.set("rst_public_choices_stale", choices, None)
    return choices


def browser_tag(csrf_secret: str) -> str:
    """A short digest of the browser's CSRF secret: binds a form token to one browser."""
    return hashlib.sha256(f"{TOKEN_SALT}:{csrf_secret}".encode()).hexdigest()[:16]


def new_form_token(*, browser: str = "") -> str:
    """A signed, timestamped one-time token that identifies one filled-in form."""
    return signing.TimestampSigner(salt=TOKEN_SALT).sign(f"{uuid.uuid4().hex}.{browser}")


def read_form_token(token: str) -> tuple[str, str]:
    """Return the token's (id, browser tag), or raise ValidationError if forged or expired."""
    max_age = settings.RST_FORM_TOKEN_MAX_AGE_HOURS * 3600
    try:
        value = signing.TimestampSigner(salt=TOKEN_SALT).unsign(token, max_age=max_age)
    except signing.SignatureExpired:
        raise forms.ValidationError(TOKEN_EXPIRED, code="token_expired") from None
    except signing.BadSignature:
        raise forms.ValidationError(TOKEN_INVALID, code="token_invalid") from None
    token_id, _, browser = value.partition(".")
    return token_id, browser


class ReferralForm(forms.Form):
    default_renderer = PublicFormRenderer

    # About you.
    referrer_name = CleanTextField(
        label="Your name",
        max_length=120,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        error_messages={"required": "Enter your name."},
    )
    referrer_role = forms.ChoiceField(
        label="Your role",
        choices=Referral.ReferrerRole.choices,
        widget=RadioChoices,
        error_messages={"required": "Choose your role."},
    )
    agency = CleanTextField(
        label="Agency or organization",
        max_length=200,
        help_text="Foster parents: the agency that placed the child or licenses your home.",
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
        error_messages={"required": "Enter your agency or organization."},
    )
    referrer_email = forms.EmailField(
        label="E-mail",
        max_length=254,
        help_text="We e-mail you a copy of the confirmation. Your specialist may reply here.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={
            "required": "Enter your e-mail address.",
            "invalid": "Enter an e-mail address such as name@agency.gov.",
        },
    )
    referrer_phone = CleanTextField(
        label="Phone",
        max_length=30,
        help_text="A number where the specialist can reach you.",
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
        error_messages={"required": "Enter a phone number where we can reach you."},
    )

    # The case.
    jurisdiction = forms.ChoiceField(
        label="State or territory of the case",
        help_text="This decides which regional Resource Specialist receives the referral.",
        error_messages={
            "required": "Choose the state or territory of the case.",
            "invalid_choice": "Choose a U.S. state, the District of Columbia or a territory.",
        },
    )
    county = CleanTextField(label="County (optional)", max_length=100, required=False)
    child_initials = CleanTextField(
        label="Child's initials",
        max_length=12,
        help_text="2 or 3 letters. Please do not enter the child's name.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "size": 4}),
        error_messages={"required": "Enter the child's initials, such as JD."},
    )
    child_age = forms.IntegerField(
        label="Child's age",
        min_value=0,
        max_value=21,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        error_messages={
            "required": "Enter the child's age in years, from 0 to 21.",
            "invalid": "Enter the child's age in years as a number, from 0 to 21.",
            "min_value": "Enter an age from 0 to 21.",
            "max_value": "RST assists with children and youth up to age 21. Enter an age from 0 to 21.",  # noqa: E501
        },
    )
    child_status = forms.ChoiceField(
        label="The child is",
        choices=Referral.ChildStatus.choices,
        widget=RadioChoices,
        error_messages={"required": "Choose whether the child is missing, recovered or at risk."},
    )
    status_date = forms.DateField(
        label="Date missing or recovered",
        help_text="The date the child went missing, or was recovered or returned to care.",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={
            "required": "Enter the date the child went missing or was recovered.",
            "invalid": "Enter a date such as 2026-11-24.",
        },
    )
    ncmec_case_number = CleanTextField(
        label="NCMEC case number (optional)",
        max_length=12,
        required=False,
        validators=[RegexValidator(r"^[0-9]{1,12}$", NCMEC_DIGITS_ONLY)],
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
        error_messages={"max_length": NCMEC_DIGITS_ONLY},
    )
    law_enforcement_involved = forms.ChoiceField(
        label="Is law enforcement involved?",
        choices=Referral.LawEnforcement.choices,
        widget=RadioChoices,
        error_messages={"required": "Say whether law enforcement is involved (or unknown)."},
    )

    # The request.
    services = forms.MultipleChoiceField(
        label="What would help?",
        help_text="Choose one or more.",
        widget=CheckboxChoices,
        error_messages={
            "required": "Choose at least one service.",
            "invalid_choice": "Choose services from the list.",
        },
    )
    urgency = forms.ChoiceField(
        label="Urgency",
        choices=Referral.Urgency.choices,
        widget=RadioChoices,
        initial=Referral.Urgency.ROUTINE,
        help_text="Urgent referrals are due for first contact within 4 hours; routine within "
        "one business day.",
        error_messages={"required": "Choose routine or urgent."},
    )
    summary = CleanTextField(
        multiline=True,
        label="Summary of the case and what you need",
        help_text="20 to 5,000 characters. Use initials only; no names or addresses.",
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={"required": "Write a short summary of the case and what you need."},
    )
    consent = forms.BooleanField(
        label="I work on this case (as a professional, or as the child's foster parent), and I "
        "share this information with RST to ask for technical assistance.",
        error_messages={"required": CONSENT_REQUIRED},
    )

    # Bots fill every field; people never see this one.
    # Named so that browsers and password managers have nothing to autofill into it.
    leave_empty = forms.CharField(
        required=False,
        label="Leave this field empty",
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )
    submission_token = forms.CharField(
        widget=forms.HiddenInput, error_messages={"required": TOKEN_INVALID}
    )

    # Sections of the page, in order (the template lays them out).
    SECTIONS = {
        "About you": [
            "referrer_name",
            "referrer_role",
            "agency",
            "referrer_email",
            "referrer_phone",
        ],
        "The case": [
            "jurisdiction",
            "county",
            "child_initials",
            "child_age",
            "child_status",
            "status_date",
            "ncmec_case_number",
            "law_enforcement_involved",
        ],
        "The request": ["services", "urgency", "summary", "consent"],
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = public_choices()
        self.fields["jurisdiction"].choices = [("", "Choose…"), *choices["jurisdiction"]]
        self.fields["services"].choices = choices["services"]
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, ChoicesWidgetMixin | forms.HiddenInput):
                continue
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = css
        # Browsers must not cut a long answer silently: the server says how long it is.
        self.fields["summary"].widget.attrs.pop("maxlength", None)
        self.token_id, self.token_browser = "", ""

    def clean_submission_token(self):
        token = self.cleaned_data["submission_token"]
        self.token_id, self.token_browser = read_form_token(token)
        return token

    def clean_referrer_email(self):
        return self.cleaned_data["referrer_email"].strip()

    def clean_referrer_phone(self):
        phone = self.cleaned_data["referrer_phone"]
        if not PHONE_CHARACTERS.fullmatch(phone):
            raise forms.ValidationError(PHONE_INVALID)
        number = re.split(r"(?i)\s*(?:x|ext)", phone)[0]
        if not 10 <= len(re.sub(r"\D", "", number)) <= 15:
            raise forms.ValidationError(PHONE_INVALID)
        return phone

    def clean_jurisdiction(self):
        code = self.cleaned_data["jurisdiction"]
        try:
            return Jurisdiction.objects.select_related("region").get(code=code)
        except Jurisdiction.DoesNotExist:
            raise forms.ValidationError(
                self.fields["jurisdiction"].error_messages["invalid_choice"]
            ) from None

    def clean_services(self):
        numbers = self.cleaned_data["services"]
        services = list(Service.objects.filter(number__in=numbers).order_by("number"))
        if len(services) != len(set(numbers)):
            raise forms.ValidationError(self.fields["services"].error_messages["invalid_choice"])
        return services

    def clean_child_initials(self):
        initials = re.sub(r"[\s.]", "", self.cleaned_data["child_initials"])
        if not re.fullmatch(r"[^\W\d_]{2,3}", initials):
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
        summary = self.cleaned_data["summary"]
        if len(summary) < SUMMARY_MIN:
            raise forms.ValidationError(SUMMARY_TOO_SHORT)
        if len(summary) > SUMMARY_MAX:
            raise forms.ValidationError(SUMMARY_TOO_LONG.format(length=len(summary)))
        return summary

    @property
    def is_bot(self) -> bool:
        return bool(self.data.get("leave_empty"))

    def sections(self):
        """(legend, bound fields) for each section of the page."""
        return [(legend, [self[name] for name in names]) for legend, names in self.SECTIONS.items()]

    def error_summary(self):
        """(field id, message) for each error, in the order the fields appear on the page."""
        summary = []
        for names in self.SECTIONS.values():
            for name in names:
                bound = self[name]
                target = bound.auto_id
                if bound.field.widget.use_fieldset:
                    target = f"{bound.auto_id}_0"
                summary.extend((target, message) for message in bound.errors)
        return summary

    def keep_answers_without_checking(self):
        """Show the answers as sent and check nothing (the database cannot be reached)."""
        self._errors = forms.utils.ErrorDict()
        self.cleaned_data = {}

    def answers_fingerprint(self) -> str:
        """A digest of the answers: the same case sent twice gives the same value."""
        data = self.cleaned_data
        answers = [
            str(data.get(name))
            for names in self.SECTIONS.values()
            for name in names
            if name not in ("consent", "services")
        ]
        answers.append(",".join(str(s.number) for s in data.get("services", [])))
        return hashlib.sha256("\x1f".join(answers).encode()).hexdigest()

    def referral_details(self) -> dict:
        """The cleaned answers as `referral_create` takes them."""
        data = self.cleaned_data
        return {
            name: data[name]
            for names in self.SECTIONS.values()
            for name in names
            if name not in ("consent", "services")
        }
