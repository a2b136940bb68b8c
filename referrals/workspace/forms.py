"""Forms of the specialist workspace: queue filters and the actions on a referral."""

from crispy_forms.templatetags.crispy_forms_filters import as_crispy_form
from django import forms
from django.conf import settings
from django.core.cache import caches
from django.utils import timezone

from contacts.selectors import DirectoryFilters, directory_search
from referrals import services
from referrals.models import Referral, ReferralEvent
from referrals.selectors import QueueFilters, Scope
from regions.models import Jurisdiction


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(
        required=False,
        choices=[("open", "Open"), *Referral.Status.choices, ("all", "All")],
    )
    urgency = forms.ChoiceField(
        required=False, choices=[("", "Any urgency"), *Referral.Urgency.choices]
    )
    scope = forms.ChoiceField(required=False, label="Show")
    overdue = forms.BooleanField(required=False, label="Overdue first contact only")
    q = forms.CharField(
        required=False, max_length=100, label="Search", help_text="Reference or agency"
    )

    def __init__(self, *args, supervisor=False, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(Scope.REGION, "My region"), (Scope.MINE, "Assigned to me")]
        if supervisor:
            choices = [
                (Scope.ALL, "All regions"),
                (Scope.INTAKE, "Supervisor intake (unassigned)"),
                (Scope.MINE, "Assigned to me"),
            ]
        self.fields["scope"].choices = choices
        for field in self.fields.values():
            css = "form-check-input" if isinstance(field, forms.BooleanField) else "form-select"
            if isinstance(field, forms.CharField) and not isinstance(field, forms.ChoiceField):
                css = "form-control"
            field.widget.attrs["class"] = css

    def filters(self) -> QueueFilters:
        """The filters to apply; invalid values fall back to the defaults."""
        data = self.cleaned_data if self.is_valid() else {}
        return QueueFilters(
            status=data.get("status") or "open",
            urgency=data.get("urgency") or "",
            scope=data.get("scope") or "",
            overdue=bool(data.get("overdue")),
            search=data.get("q") or "",
        )


class LongText(forms.CharField):
    """Free text whose limit comes from the services, checked on the server.

    No `maxlength` on the textarea: a browser would cut a pasted note at the limit
    without a word, and "Note added." would hide the loss.
    """

    def __init__(self, *, limit: int, rows: int, **kwargs):
        super().__init__(max_length=limit, widget=forms.Textarea(attrs={"rows": rows}), **kwargs)
        self.error_messages["max_length"] = services.TEXT_TOO_LONG.replace(
            "{limit:,}", f"{limit:,}"
        ).replace("{length:,}", "%(show_value)s")

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        attrs.pop("maxlength", None)
        return attrs


class ConfirmForm(forms.Form):
    """Actions that take no input (acknowledge, start, take over)."""


class NoteForm(forms.Form):
    text = LongText(
        label="Note",
        limit=services.NOTE_MAX_LENGTH,
        rows=3,
        error_messages={"required": services.NOTE_EMPTY},
    )


class ContactForm(forms.Form):
    method = forms.ChoiceField(
        label="How", choices=ReferralEvent.ContactMethod.choices, widget=forms.RadioSelect
    )
    contact_date = forms.DateField(
        label="Date",
        initial=timezone.localdate,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter a date such as 2026-11-24."},
    )
    text = LongText(
        label="What happened (optional)", required=False, limit=services.NOTE_MAX_LENGTH, rows=2
    )


class CloseForm(forms.Form):
    outcome = forms.ChoiceField(
        choices=[("", "Choose the outcome…"), *Referral.Outcome.choices],
        error_messages={"required": services.CLOSE_NEEDS_OUTCOME},
    )
    note = LongText(
        label="Closing note",
        limit=services.NOTE_MAX_LENGTH,
        rows=3,
        error_messages={"required": services.CLOSE_NEEDS_NOTE},
    )


class ReopenForm(forms.Form):
    reason = LongText(
        label="Why reopen",
        limit=services.REASON_MAX_LENGTH,
        rows=2,
        error_messages={"required": services.REOPEN_NEEDS_REASON},
    )


class TransferForm(forms.Form):
    jurisdiction = forms.ModelChoiceField(
        label="The case is now in",
        queryset=Jurisdiction.objects.select_related("region").order_by("name"),
        to_field_name="code",
        empty_label="Choose a state or territory…",
        error_messages={"invalid_choice": "Choose a U.S. state, DC or a territory."},
    )
    reason = LongText(
        label="Why (for example: the child moved)",
        limit=services.REASON_MAX_LENGTH,
        rows=2,
        error_messages={"required": services.TRANSFER_NEEDS_REASON},
    )


def action_form_html(name: str, form_class, bound=None, *, referral=None) -> str:
    """The fields of the action form `name` as HTML (Bootstrap, through crispy).

    A blank form is the same for every referral and reader all day (its only changing
    value is the contact date's "today"), so it is rendered once per process, release
    and day into process-local memory: the referral page then costs no form rendering
    (which was most of its time) and no query for the transfer form's jurisdictions. A
    form sent back with errors (`bound`) is rendered each time.
    """
    if bound is not None:
        return as_crispy_form(bound)
    local = caches["local"]
    if getattr(form_class, "needs_referral", False):
        # Its choices come from the directory, which supervisors edit: always fresh.
        return as_crispy_form(form_class(auto_id=f"id_{name}_%s", referral=referral))
    day = timezone.localdate().isoformat()
    key = f"rst_action_form:{settings.RST_RELEASE}:{name}:{day}"
    html = local.get(key)
    if html is None:
        # Several action forms share one page: each has its own element ids.
        html = as_crispy_form(form_class(auto_id=f"id_{name}_%s"))
        local.set(key, html, settings.RST_BLANK_FORM_CACHE_SECONDS)
    return html


class ShareResourcesForm(forms.Form):
    """Directory services for the case's state (and national ones) to pass on."""

    needs_referral = True
    resources = forms.TypedMultipleChoiceField(
        label="Resources shared with the referrer",
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": services.RESOURCES_NONE_CHOSEN},
    )
    note = LongText(label="Note (optional)", required=False, limit=services.NOTE_MAX_LENGTH, rows=2)

    def __init__(self, *args, referral, **kwargs):
        super().__init__(*args, **kwargs)
        found = directory_search(filters=DirectoryFilters(jurisdiction=referral.jurisdiction_id))
        self.fields["resources"].choices = [
            (service.pk, f"{service.organization.name} – {service.name}") for service in found
        ]
        if not self.fields["resources"].choices:
            self.fields[
                "resources"
            ].help_text = f"The directory has no services for {referral.jurisdiction.name} yet."
