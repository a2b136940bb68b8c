"""Forms for the intermediate pages of the referral admin's actions."""

from itertools import groupby

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.formats import date_format

from referrals import services
from referrals.workload import specialist_workloads
from regions.models import ResourceSpecialist


def _specialist_label(specialist: ResourceSpecialist, *, now) -> str:
    label = f"{specialist.name} ({specialist.open_count} open"
    # Out of office until their own midnight (their time zone), as routing sees it.
    if specialist.is_active and not specialist.is_available(now=now):
        label += f", out of office until {date_format(specialist.out_of_office_until, 'M j')}"
    return label + ")"


class ReassignForm(forms.Form):
    specialist = forms.ModelChoiceField(
        label="Assign to",
        queryset=ResourceSpecialist.objects.select_related("region"),
        help_text="Active Resource Specialists, by region, with their open referrals.",
    )
    note = forms.CharField(
        label="Note (optional)",
        required=False,
        max_length=services.NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Recorded in each referral's history with the reassignment.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Offer active specialists only; the queryset stays unfiltered so that a stale
        # page naming a since-deactivated specialist gets the service's own message.
        # A callable: the workload figures are counted only if the page is shown, not
        # when the action is applied.
        self.fields["specialist"].choices = self._specialist_choices

    @staticmethod
    def _specialist_choices():
        now = timezone.now()
        active = specialist_workloads(now=now).filter(is_active=True)
        return [("", "---------")] + [
            (str(region), [(s.pk, _specialist_label(s, now=now)) for s in specialists])
            for region, specialists in groupby(active, key=lambda s: s.region)
        ]

    def clean_specialist(self):
        specialist = self.cleaned_data["specialist"]
        if not specialist.is_active:
            raise ValidationError(services.REASSIGN_INACTIVE.format(name=specialist.name))
        return specialist


class ReviewForm(forms.Form):
    note = forms.CharField(
        label="Review note (optional)",
        required=False,
        max_length=services.NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Recorded on each referral and in its history.",
    )
