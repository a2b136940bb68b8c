"""The public referral form. Field names are a contract (see DESIGN.md).

The form is derived from the Referral model: lengths, choices and the intake rules
(cleaning invisible characters; initials, phone, summary, dates: referrals/validators.py)
are the model's, so every entry point checks a referral the same way. The form adds
what people read (labels, hints, friendlier messages), the widgets, and the fields the
model does not have: consent, the honeypot and the one-time token.
"""

import hashlib
import json
import uuid
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.core import signing
from django.core.cache import caches
from django.db import DatabaseError
from django.forms.models import construct_instance
from django.forms.renderers import DjangoTemplates

from referrals.deadlines import first_contact_promise
from referrals.models import Referral, Service
from referrals.validators import (  # noqa: F401 - also re-exports the messages it shows
    CHILD_AGE_MAX,
    INITIALS_NOT_A_NAME,
    NCMEC_DIGITS_ONLY,
    PHONE_INVALID,
    SERVICES_REQUIRED,
    STATUS_DATE_IN_FUTURE,
    STATUS_DATE_TOO_OLD,
    SUMMARY_MAX,
    SUMMARY_MIN,
    SUMMARY_TOO_LONG,
    SUMMARY_TOO_SHORT,
    validate_status_date,
)
from regions.models import Jurisdiction

TOKEN_SALT = "referrals.form-token"

CONSENT_REQUIRED = (
    "Tick the box to confirm that you work on this case and share this information to "
    "ask RST for technical assistance."
)
TOKEN_EXPIRED = (
    "This form was open for a long time and has expired. Your answers are kept below: "
    "check them and send again."
)
TOKEN_INVALID = "This form could not be verified. Your answers are kept below: send again."

# Sections of the page, in order (the template lays them out): the contract's names.
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
# Answers in fields of the form's own (see ReferralForm); the others come from the model.
OWN_FIELDS = {"jurisdiction", "services", "consent"}


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


def public_choices() -> dict:
    """The jurisdiction and service choices, and each jurisdiction's time zone ("zones":
    code → IANA name), cached in this process for five minutes.

    Read from the database; if it cannot be reached, the last choices this process
    saw or, failing that, the reference fixtures: the form must still show the
    answers someone typed when the database is down.
    """
    local = caches["local"]
    choices = local.get("rst_public_choices")
    if choices is not None:
        return choices
    try:
        rows = list(Jurisdiction.objects.order_by("name").only("code", "name", "time_zone"))
        jurisdictions = [(j.code, str(j)) for j in rows]
        zones = {j.code: j.time_zone for j in rows}
        services = [(str(s.number), s.name) for s in Service.objects.order_by("number")]
    except DatabaseError:
        stale = local.get("rst_public_choices_stale")
        if stale is not None:
            return stale
        rows = sorted(_from_fixture("jurisdictions"), key=lambda row: row["name"])
        jurisdictions = [(row["pk"], f"{row['name']} ({row['pk']})") for row in rows]
        zones = {row["pk"]: row["time_zone"] for row in rows}
        services = [(str(row["number"]), row["name"]) for row in _from_fixture("services")]
        return {"jurisdiction": jurisdictions, "services": services, "zones": zones}
    choices = {"jurisdiction": jurisdictions, "services": services, "zones": zones}
    local.set("rst_public_choices", choices, 300)
    local.set("rst_public_choices_stale", choices, None)
    return choices


def jurisdiction_zone(code: str) -> ZoneInfo | None:
    """The time zone of the jurisdiction with this USPS code (no query), or None."""
    name = public_choices()["zones"].get(code)
    return ZoneInfo(name) if name else None


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


def _model_form_field(model_field, **kwargs):
    """The model field's own form field, with its choices as radio buttons want them.

    Without Django's blank "---------" choice: none ticked already says none was chosen.
    """
    if model_field.choices:
        kwargs["choices"] = model_field.get_choices(include_blank=False)
    return model_field.formfield(**kwargs)


class ReferralForm(forms.ModelForm):
    # One renderer for the process: a class here would be instantiated for every form,
    # building a new template engine (and reading the field templates again) each time.
    default_renderer = PublicFormRenderer()

    # The case's place and the services asked for are relations on the model; these
    # choices still show (and keep the answers) while the database is down.
    jurisdiction = forms.ChoiceField(
        label="State or territory of the case",
        help_text="This decides which regional Resource Specialist receives the referral.",
        error_messages={
            "required": "Choose the state or territory of the case.",
            "invalid_choice": "Choose a U.S. state, the District of Columbia or a territory.",
        },
    )
    services = forms.MultipleChoiceField(
        label="What would help?",
        help_text="Choose one or more.",
        widget=CheckboxChoices,
        error_messages={
            "required": SERVICES_REQUIRED,
            "invalid_choice": "Choose services from the list.",
        },
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

    SECTIONS = SECTIONS  # (module level too, where Meta can read it)
    field_order = [name for names in SECTIONS.values() for name in names]

    class Meta:
        model = Referral
        fields = [name for names in SECTIONS.values() for name in names if name not in OWN_FIELDS]
        formfield_callback = _model_form_field
        labels = {
            "referrer_name": "Your name",
            "referrer_role": "Your role",
            "agency": "Agency or organization",
            "referrer_email": "E-mail",
            "referrer_phone": "Phone",
            "county": "County (optional)",
            "child_initials": "Child's initials",
            "child_age": "Child's age",
            "child_status": "The child is",
            "status_date": "Date missing or recovered",
            "ncmec_case_number": "NCMEC case number (optional)",
            "law_enforcement_involved": "Is law enforcement involved?",
            "urgency": "Urgency",
            "summary": "Summary of the case and what you need",
        }
        help_texts = {
            "agency": "Foster parents: the agency that placed the child or licenses your home.",
            "referrer_email": (
                "We e-mail you a copy of the confirmation. Your specialist may reply here."
            ),
            "referrer_phone": "A number where the specialist can reach you.",
            "child_initials": "2 or 3 letters. Please do not enter the child's name.",
            "status_date": (
                "The date the child went missing, or was recovered or returned to care."
            ),
            "summary": f"{SUMMARY_MIN} to {SUMMARY_MAX:,} characters. Use initials only; "
            "no names or addresses.",
        }
        widgets = {
            "referrer_name": forms.TextInput(attrs={"autocomplete": "name"}),
            "referrer_role": RadioChoices,
            "agency": forms.TextInput(attrs={"autocomplete": "organization"}),
            "referrer_email": forms.EmailInput(attrs={"autocomplete": "email"}),
            "referrer_phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
            "child_initials": forms.TextInput(attrs={"autocomplete": "off", "size": 4}),
            "child_age": forms.NumberInput(attrs={"inputmode": "numeric", "max": CHILD_AGE_MAX}),
            "child_status": RadioChoices,
            "status_date": forms.DateInput(attrs={"type": "date"}),
            "ncmec_case_number": forms.TextInput(attrs={"inputmode": "numeric"}),
            "law_enforcement_involved": RadioChoices,
            "urgency": RadioChoices,
            "summary": forms.Textarea(attrs={"rows": 6}),
        }
        error_messages = {
            "referrer_name": {"required": "Enter your name."},
            "referrer_role": {"required": "Choose your role."},
            "agency": {"required": "Enter your agency or organization."},
            "referrer_email": {
                "required": "Enter your e-mail address.",
                "invalid": "Enter an e-mail address such as name@agency.gov.",
            },
            "referrer_phone": {"required": "Enter a phone number where we can reach you."},
            "child_initials": {"required": "Enter the child's initials, such as JD."},
            "child_age": {
                "required": "Enter the child's age in years, from 0 to 21.",
                "invalid": "Enter the child's age in years as a number, from 0 to 21.",
                "min_value": "Enter an age from 0 to 21.",
                "max_value": "RST assists with children and youth up to age 21. Enter an age "
                "from 0 to 21.",
            },
            "child_status": {
                "required": "Choose whether the child is missing, recovered or at risk."
            },
            "status_date": {
                "required": "Enter the date the child went missing or was recovered.",
                "invalid": "Enter a date such as 2026-11-24.",
            },
            "law_enforcement_involved": {
                "required": "Say whether law enforcement is involved (or unknown)."
            },
            "urgency": {"required": "Choose routine or urgent."},
            "summary": {"required": "Write a short summary of the case and what you need."},
        }

    def __init__(self, *args, **kwargs):
        # A new referral is routine until the referrer says it is urgent.
        kwargs.setdefault("instance", Referral(urgency=Referral.Urgency.ROUTINE))
        super().__init__(*args, **kwargs)
        choices = public_choices()
        self.fields["jurisdiction"].choices = [("", "Choose…"), *choices["jurisdiction"]]
        self.fields["services"].choices = choices["services"]
        # From the same settings as the deadline itself (referrals/deadlines.py).
        self.fields["urgency"].help_text = (
            f"Urgent referrals are due for first contact {first_contact_promise('urgent')}; "
            f"routine {first_contact_promise('routine')}."
        )
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
        # Browsers must not cut an answer silently: the server says what is wrong with it.
        # (Initials are often typed with dots and spaces, which the rule then drops.)
        for name in ("child_initials", "summary"):
            self.fields[name].widget.attrs.pop("maxlength", None)
        self.token_id, self.token_browser = "", ""

    def clean_submission_token(self):
        token = self.cleaned_data["submission_token"]
        self.token_id, self.token_browser = read_form_token(token)
        return token

    def clean_jurisdiction(self):
        code = self.cleaned_data["jurisdiction"]
        try:
            return Jurisdiction.objects.select_related("region").get(code=code)
        except Jurisdiction.DoesNotExist:
            raise forms.ValidationError(
                self.fields["jurisdiction"].error_messages["invalid_choice"]
            ) from None

    def clean(self):
        """Check the status date against today where the case is (the chosen jurisdiction)."""
        cleaned_data = super().clean()
        jurisdiction = cleaned_data.get("jurisdiction")
        status_date = cleaned_data.get("status_date")
        if jurisdiction is not None and status_date is not None:
            try:
                validate_status_date(status_date, zone=jurisdiction.zone)
            except forms.ValidationError as error:
                self.add_error("status_date", error)
        return cleaned_data

    def clean_services(self):
        numbers = self.cleaned_data["services"]
        services = list(Service.objects.filter(number__in=numbers).order_by("number"))
        if len(services) != len(set(numbers)):
            raise forms.ValidationError(self.fields["services"].error_messages["invalid_choice"])
        return services

    def _post_clean(self):
        """Check the answers against the model's rules, as ModelForm does.

        Except the table's constraints: the database checks those when referral_create
        saves, and checking one here would cost a query on every submission.
        """
        exclude = self._get_validation_exclusions()
        try:
            self.instance = construct_instance(self, self.instance, self._meta.fields)
        except forms.ValidationError as error:
            self._update_errors(error)
        try:
            self.instance.full_clean(
                exclude=exclude, validate_unique=False, validate_constraints=False
            )
        except forms.ValidationError as error:
            self._update_errors(error)

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
        """The cleaned answers as `referral_create` takes them (all but the consent box)."""
        names = [name for names in self.SECTIONS.values() for name in names if name != "consent"]
        return {name: self.cleaned_data[name] for name in names}
