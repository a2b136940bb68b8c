"""Forms of the specialist workspace: queue filters and the actions on a referral."""

from django import forms
from django.utils import timezone

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


class ConfirmForm(forms.Form):
    """Actions that take no input (acknowledge, start, take over)."""


class NoteForm(forms.Form):
    text = forms.CharField(label="Note", widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)


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
    text = forms.CharField(
        label="What happened (optional)",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class CloseForm(forms.Form):
    outcome = forms.ChoiceField(
        choices=[("", "Choose the outcome…"), *Referral.Outcome.choices],
        error_messages={"required": "Choose the outcome the referral is closed with."},
    )
    note = forms.CharField(
        label="Closing note",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Write a closing note."},
    )


class ReopenForm(forms.Form):
    reason = forms.CharField(
        label="Why reopen", max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )


class TransferForm(forms.Form):
    jurisdiction = forms.ModelChoiceField(
        label="The case is now in",
        queryset=Jurisdiction.objects.select_related("region").order_by("name"),
        to_field_name="code",
        empty_label="Choose a state or territory…",
        error_messages={"invalid_choice": "Choose a U.S. state, DC or a territory."},
    )
    reason = forms.CharField(
        label="Why (for example: the child moved)",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Say why the referral is transferred."},
    )
