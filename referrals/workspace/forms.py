"""Forms of the specialist workspace: queue filters and the actions on a referral."""

import hashlib
from dataclasses import dataclass, replace
from urllib.parse import urlencode

from crispy_forms.templatetags.crispy_forms_filters import as_crispy_form
from django import forms
from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ValidationError
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
        self.supervisor = supervisor
        # The role's default scope first (selectors.default_scope).
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

    def count_links(self, counts: dict[str, int]) -> list["CountLink"]:
        """The counts above the queue (selectors.queue_counts), each a link to the queue
        filtered to what it counts, in this form's own query string.

        The counts cover everything the user may see, as the role's default view does, so
        each link is that view with one filter; the link to the view on screen is current.
        """
        links = [
            CountLink(Referral.Status(status).label, counts[status], {"status": status}, status)
            for status in Referral.Status.values
        ]
        links.append(CountLink("Overdue", counts["overdue"], {"overdue": "on"}, "overdue"))
        if self.supervisor:
            links.append(
                CountLink("Supervisor intake", counts["intake"], {"scope": Scope.INTAKE}, "intake")
            )
        shown = self._plain(self.filters())
        for link in links:
            filters = QueueFilterForm(link.data, supervisor=self.supervisor).filters()
            link.current = self._plain(filters) == shown
        return links

    def _plain(self, filters: QueueFilters) -> QueueFilters:
        # The role's default scope, named or not, is one view.
        return replace(filters, scope=filters.scope or self.fields["scope"].choices[0][0])


@dataclass
class CountLink:
    """A count above the queue, and the filter that lists what it counts."""

    label: str
    count: int
    data: dict[str, str]  # the filter form's data
    kind: str  # a Referral.Status value, "overdue" or "intake"
    current: bool = False

    @property
    def query(self) -> str:
        return urlencode(self.data)


class LongText(forms.CharField):
    """Free text whose limit comes from the services, checked on the server.

    No `maxlength` on the textarea: a browser would cut a pasted note at the limit
    without a word, and "Note added." would hide the loss. The page counts the
    characters as they are typed (static/js/workspace.js, `data-rst-limit`); a longer
    text is refused with its count and stays in the box.
    """

    def __init__(self, *, limit: int, rows: int, **kwargs):
        self.limit = limit
        kwargs.setdefault("help_text", f"Up to {limit:,} characters.")
        widget = forms.Textarea(attrs={"rows": rows, "data-rst-limit": limit})
        super().__init__(widget=widget, **kwargs)

    def to_python(self, value):
        # Browsers send each line break as CR LF but count it, as people do, as one.
        return super().to_python(value).replace("\r\n", "\n")

    def validate(self, value):
        super().validate(value)
        if len(value) > self.limit:
            raise ValidationError(
                services.TEXT_TOO_LONG.format(limit=self.limit, length=len(value)),
                code="max_length",
            )


class ActionForm(forms.Form):
    """An action form on the referral page. Its blank HTML is kept per `blank_variant`."""

    # A form whose blank HTML depends on the referral (and on data supervisors edit) is
    # kept per `referral_variant`, which reads that data fresh on every page view.
    needs_referral = False
    blank_cache_seconds = None  # None: settings.RST_BLANK_FORM_CACHE_SECONDS

    @classmethod
    def blank_variant(cls) -> str:
        """What the blank form's HTML depends on besides the release: today's date."""
        return timezone.localdate().isoformat()

    @classmethod
    def referral_variant(cls, referral) -> str | None:
        """For a form that `needs_referral`: everything its blank HTML depends on for this
        referral, read now (one small query), as a short fingerprint; None (the default)
        when there is none, and the form is rendered on every view."""
        return None


def _fingerprint(*parts) -> str:
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()


class ConfirmForm(ActionForm):
    """Actions that take no input (start, take over)."""


def _this_minute():
    return timezone.localtime().replace(second=0, microsecond=0)


class AcknowledgeForm(ActionForm):
    """First contact with the referrer: how and when it was made."""

    blank_cache_seconds = 60

    method = forms.ChoiceField(
        label="How",
        choices=ReferralEvent.ContactMethod.choices,
        widget=forms.RadioSelect,
        error_messages={"required": services.CONTACT_NEEDS_METHOD},
    )
    contacted_at = forms.DateTimeField(
        label="When",
        initial=_this_minute,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages={
            "required": "Enter when first contact was made.",
            "invalid": "Enter a date and time such as 2026-11-24 10:30.",
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        zone = timezone.localtime().strftime("%Z")
        self.fields["contacted_at"].help_text = f"Your time ({zone}). Not in the future."

    @classmethod
    def blank_variant(cls) -> str:
        # "Now" is the default: the blank form changes every minute.
        return _this_minute().isoformat()


class NoteForm(ActionForm):
    text = LongText(
        label="Note",
        limit=services.NOTE_MAX_LENGTH,
        rows=3,
        error_messages={"required": services.NOTE_EMPTY},
    )


class ContactForm(ActionForm):
    method = forms.ChoiceField(
        label="How",
        choices=ReferralEvent.ContactMethod.choices,
        widget=forms.RadioSelect,
        error_messages={"required": services.CONTACT_NEEDS_METHOD},
    )
    outcome = forms.ChoiceField(
        label="Outcome",
        choices=ReferralEvent.ContactOutcome.choices,
        widget=forms.RadioSelect,
        error_messages={"required": services.CONTACT_NEEDS_OUTCOME},
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


# DUPLICATE is the outcome of confirming a possible duplicate, never chosen by hand.
CLOSING_OUTCOMES = [
    (value, label)
    for value, label in Referral.Outcome.choices
    if value != Referral.Outcome.DUPLICATE
]


class CloseForm(ActionForm):
    outcome = forms.ChoiceField(
        choices=[("", "Choose the outcome…"), *CLOSING_OUTCOMES],
        error_messages={"required": services.CLOSE_NEEDS_OUTCOME},
    )
    note = LongText(
        label="Closing note",
        limit=services.NOTE_MAX_LENGTH,
        rows=3,
        error_messages={"required": services.CLOSE_NEEDS_NOTE},
    )


class ReopenForm(ActionForm):
    reason = LongText(
        label="Why reopen",
        limit=services.REASON_MAX_LENGTH,
        rows=2,
        error_messages={"required": services.REOPEN_NEEDS_REASON},
    )


def jurisdiction_label(jurisdiction: Jurisdiction) -> str:
    """ "Ohio (OH) — Region 3": where the referral would go."""
    region = f"Region {jurisdiction.region.number}" if jurisdiction.region else "no region"
    return f"{jurisdiction.name} ({jurisdiction.code}) — {region}"


class JurisdictionSelect(forms.Select):
    """Each option says its region (`data-region`), for the note on where the case goes."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        jurisdiction = getattr(value, "instance", None)
        if jurisdiction is not None:
            region = jurisdiction.region
            option["attrs"]["data-region"] = region.number if region else ""
            option["attrs"]["data-region-label"] = str(region) if region else ""
        return option


class TransferForm(ActionForm):
    """Another state or territory for the case: the referral is routed again for it."""

    needs_referral = True
    jurisdiction = forms.ModelChoiceField(
        label="The case is now in",
        queryset=Jurisdiction.objects.select_related("region").order_by("name"),
        to_field_name="code",
        empty_label="Choose a state or territory…",
        widget=JurisdictionSelect,
        error_messages={
            "required": "Choose the state or territory the case is now in.",
            "invalid_choice": "Choose a U.S. state, DC or a territory other than the current one.",
        },
    )
    reason = LongText(
        label="Why (for example: the child moved)",
        limit=services.REASON_MAX_LENGTH,
        rows=2,
        error_messages={"required": services.TRANSFER_NEEDS_REASON},
    )

    def __init__(self, *args, referral, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["jurisdiction"]
        # Only the others: transferring to where the case already is changes nothing.
        field.queryset = field.queryset.exclude(code=referral.jurisdiction_id)
        field.label_from_instance = jurisdiction_label
        # The page's note on where the referral goes (static/js/workspace.js) reads this.
        field.widget.attrs["data-rst-transfer"] = ""

    @classmethod
    def referral_variant(cls, referral) -> str:
        # The options: every other jurisdiction with its label and region (number, name),
        # so a supervisor's change to the jurisdiction-to-region mapping shows at once.
        mapping = Jurisdiction.objects.order_by("name", "code").values_list(
            "code", "name", "region__number", "region__name"
        )
        return f"{referral.jurisdiction_id}:{_fingerprint(list(mapping))}"


def action_form_html(name: str, form_class, bound=None, *, referral=None) -> str:
    """The fields of the action form `name` as HTML (Bootstrap, through crispy).

    A blank form is the same for every referral and reader for a while (its only
    changing values are "today" or "now" in the reader's zone: `blank_variant`), so it
    is rendered once per process, release, zone and variant into process-local memory:
    the referral page then costs little form rendering (which was most of its time). A
    form that depends on the referral is kept per `referral_variant` (the data it shows,
    read on every view, so edits show at once); one sent back with errors (`bound`) is
    rendered each time. The one-time tokens are never in this HTML: the page adds a
    fresh one to each form (`{% action_token %}`).
    """
    if bound is not None:
        return as_crispy_form(bound)
    local = caches["local"]
    if form_class.needs_referral:
        # Choices from data supervisors edit (the directory, the regions): the key is a
        # fingerprint of that data read now, so an edit shows on the next page view.
        variant = form_class.referral_variant(referral)
        if variant is None:
            return as_crispy_form(form_class(auto_id=f"id_{name}_%s", referral=referral))
        key = f"rst_action_form:{settings.RST_RELEASE}:{name}:referral:{variant}"
        extra = {"referral": referral}
    else:
        zone = timezone.get_current_timezone_name()
        variant = form_class.blank_variant()
        key = f"rst_action_form:{settings.RST_RELEASE}:{name}:{zone}:{variant}"
        extra = {}
    html = local.get(key)
    if html is None:
        # Several action forms share one page: each has its own element ids.
        html = as_crispy_form(form_class(auto_id=f"id_{name}_%s", **extra))
        seconds = form_class.blank_cache_seconds or settings.RST_BLANK_FORM_CACHE_SECONDS
        local.set(key, html, seconds)
    return html


class ShareResourcesForm(ActionForm):
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
        self.fields["resources"].choices = resource_choices(referral)
        if not self.fields["resources"].choices:
            self.fields[
                "resources"
            ].help_text = f"The directory has no services for {referral.jurisdiction.name} yet."

    @classmethod
    def referral_variant(cls, referral) -> str:
        # The choices themselves (one query): the blank form shows nothing else that
        # changes, besides the jurisdiction's name when there are none.
        choices = resource_choices(referral)
        empty = "" if choices else referral.jurisdiction.name
        return f"{referral.jurisdiction_id}:{_fingerprint(choices, empty)}"


def resource_choices(referral) -> list[tuple[int, str]]:
    """The directory's services for the referral's jurisdiction, as (pk, label) choices:
    only the names (no prefetching of the details a directory search shows)."""
    found = directory_search(filters=DirectoryFilters(jurisdiction=referral.jurisdiction_id))
    return [
        (pk, f"{organization} – {name}")
        for pk, organization, name in found.prefetch_related(None).values_list(
            "pk", "organization__name", "name"
        )
    ]
