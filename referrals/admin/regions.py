"""The supervisor's admin for regions, the jurisdiction → region mapping and specialists.

Changing the mapping or a specialist's availability never moves referrals by itself:
the admin says how many open referrals are affected and offers to re-route them.
"""

from collections import Counter

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import RelatedFieldWidgetWrapper
from django.db.models import Count, Prefetch
from django.forms.models import ModelChoiceIterator
from django.utils.html import format_html

from accounts.access import SupervisorOnlyAdminMixin
from accounts.services import (
    linkable_logins,
    specialist_link_login,
    specialist_login_validate,
)
from referrals.models import Referral, open_q
from referrals.workload import open_referrals_outside_region, with_open_referrals_outside_region
from regions.models import Jurisdiction, Region, ResourceSpecialist

from .actions import reroute_and_report
from .referrals import changelist_url

REROUTE_REASON = "jurisdiction mapping changed"
REROUTE_ACTION_LABEL = "Re-route open referrals of the selected jurisdictions"


def _referrals(n: int) -> str:
    return f"{n} open referral" if n == 1 else f"{n} open referrals"


@admin.register(Region)
class RegionAdmin(SupervisorOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "jurisdiction_codes", "active_specialists"]
    fields = ["number", "name"]
    readonly_fields = ["number"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch("jurisdictions", queryset=Jurisdiction.objects.order_by("code")),
                Prefetch(
                    "specialists",
                    queryset=ResourceSpecialist.objects.filter(is_active=True).order_by("name"),
                    to_attr="active_specialist_list",
                ),
            )
        )

    def has_add_permission(self, request):
        return False  # the five regions come from fixtures/regions.json

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="jurisdictions")
    def jurisdiction_codes(self, region):
        return " ".join(jurisdiction.code for jurisdiction in region.jurisdictions.all())

    @admin.display(description="active specialists")
    def active_specialists(self, region):
        return ", ".join(specialist.name for specialist in region.active_specialist_list)


@admin.register(Jurisdiction)
class JurisdictionAdmin(SupervisorOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["name", "code", "kind", "region", "open_outside_region"]
    list_editable = ["region"]
    list_filter = ["region", "kind"]
    list_per_page = 100  # all 56 on one page, to confirm the mapping at a glance
    search_fields = ["name", "code"]
    fields = ["code", "name", "kind", "region"]
    readonly_fields = ["code", "name", "kind"]
    actions = ["reroute_open_referrals"]

    def get_queryset(self, request):
        return with_open_referrals_outside_region(
            jurisdictions=super().get_queryset(request).select_related("region")
        )

    def has_add_permission(self, request):
        return False  # the 56 jurisdictions come from the `us` package via fixtures

    def has_delete_permission(self, request, obj=None):
        return False

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "region" and isinstance(field.widget, RelatedFieldWidgetWrapper):
            # A plain select: the list shows 56 of them, edit/view icons beside each crowd it.
            field.widget = field.widget.widget
        return field

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "region":
            # The editable list has one region select per row: read the regions once
            # per request rather than once per row.
            if not hasattr(request, "_rst_region_choices"):
                request._rst_region_choices = list(field.choices)
            field.choices = request._rst_region_choices
        return field

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "region" in form.changed_data:
            self._report_affected(request, obj)

    def _report_affected(self, request, jurisdiction):
        affected = open_referrals_outside_region(jurisdictions=[jurisdiction]).count()
        region = (
            jurisdiction.region.label if jurisdiction.region else "supervisor intake (no region)"
        )
        if not affected:
            self.message_user(
                request,
                f"{jurisdiction} now routes to {region}. No open referral is affected.",
                level=messages.INFO,
            )
            return
        self.message_user(
            request,
            f"{jurisdiction} now routes to {region}. {_referrals(affected)} from "
            f"{jurisdiction.code} {'is' if affected == 1 else 'are'} in another region and "
            f"{'has' if affected == 1 else 'have'} not been moved. To route them again, select "
            f"{jurisdiction.code} and run “{REROUTE_ACTION_LABEL}”.",
            level=messages.WARNING,
        )

    @admin.display(description="open referrals not in this region")
    def open_outside_region(self, jurisdiction):
        count = jurisdiction.open_outside_region
        if not count:
            return "0"
        return format_html('<strong class="rst-flag">{}</strong>', count)

    @admin.action(description=REROUTE_ACTION_LABEL, permissions=["change"])
    def reroute_open_referrals(self, request, queryset):
        referrals = list(
            open_referrals_outside_region(jurisdictions=queryset).order_by("jurisdiction", "pk")
        )
        if not referrals:
            self.message_user(
                request,
                "No open referral of the selected jurisdictions is outside its region.",
                level=messages.INFO,
            )
            return

        def lead(done):
            per_jurisdiction = Counter(referral.jurisdiction_id for referral in done)
            breakdown = ", ".join(f"{code}: {n}" for code, n in per_jurisdiction.items())
            return f"Re-routed {_referrals(len(done))} ({breakdown})"

        reroute_and_report(self, request, referrals, reason=REROUTE_REASON, lead=lead)


class LinkableLoginIterator(ModelChoiceIterator):
    def __init__(self, field):
        super().__init__(field)
        self.queryset = linkable_logins()


class LinkableLoginField(forms.ModelChoiceField):
    """Offers only logins that may work as a specialist (no superusers, no supervisors).

    Any login still validates, so that one posted anyway (a stale page, a crafted form)
    gets the service's own refusal on the field rather than "not a valid choice".
    """

    iterator = LinkableLoginIterator


class ResourceSpecialistForm(forms.ModelForm):
    def clean_user(self):
        user = self.cleaned_data["user"]
        if user is not None and "user" in self.changed_data:
            # The service's own refusals, shown on the field instead of an error page.
            specialist_login_validate(specialist=self.instance, user=user)
        return user


@admin.register(ResourceSpecialist)
class ResourceSpecialistAdmin(SupervisorOnlyAdminMixin, admin.ModelAdmin):
    form = ResourceSpecialistForm
    list_display = [
        "name",
        "region_label",
        "is_active",
        "out_of_office_until",
        "available",
        "open_referrals",
    ]
    list_editable = ["is_active", "out_of_office_until"]
    list_filter = ["region", "is_active"]
    search_fields = ["name", "email"]
    fields = [
        "name",
        "region",
        ("email", "phone"),
        ("is_active", "out_of_office_until"),
        "user",
        "last_assigned_at",
    ]
    readonly_fields = ["last_assigned_at"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("region", "user")
            .with_availability()
            .annotate(open_count=Count("referrals", filter=open_q("referrals__")))
        )

    def has_delete_permission(self, request, obj=None):
        return False  # their referrals keep pointing at them; deactivate instead

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["form_class"] = LinkableLoginField
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if obj.user is not None and "user" in form.changed_data:
            # The link alone gives no access: the role is the link plus the group.
            specialist_link_login(specialist=obj, user=obj.user)
        if not change:
            return
        availability = {"is_active", "out_of_office_until"}
        if availability & set(form.changed_data) and not obj.is_available():
            self._report_open_referrals(
                request,
                obj,
                Referral.objects.open().filter(assigned_specialist=obj),
                "{} is not taking new referrals but still has {}. "
                "Reassign them if they should not wait.",
            )
        if "region" in form.changed_data:
            self._report_open_referrals(
                request,
                obj,
                Referral.objects.open().filter(assigned_specialist=obj).exclude(region=obj.region),
                "{} moved to another region but still has {} in the old one. They can still "
                "open them; reassign them or send them back to auto-routing.",
            )

    def _report_open_referrals(self, request, specialist, referrals, message):
        count = referrals.count()
        if not count:
            return
        self.message_user(
            request,
            format_html(
                message,
                specialist.name,
                format_html(
                    '<a href="{}">{}</a>',
                    changelist_url(specialist=specialist.pk, status="open"),
                    _referrals(count),
                ),
            ),
            level=messages.WARNING,
        )

    @admin.display(description="region", ordering="region__number")
    def region_label(self, specialist):
        return specialist.region.label

    @admin.display(description="takes new referrals", boolean=True)
    def available(self, specialist):
        return specialist.available_now

    @admin.display(description="open referrals", ordering="open_count")
    def open_referrals(self, specialist):
        return specialist.open_count
