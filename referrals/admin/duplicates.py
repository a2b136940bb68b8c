"""Possible duplicates in the supervisor's admin: the pairs, a filter on the referral list,
and the actions that confirm or dismiss them (through referrals/duplicates.py).

Supervisors see every pair, including the ones that span regions, which no specialist
is shown.
"""

from django.contrib import admin
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils.html import format_html

from accounts.access import SupervisorOnlyAdminMixin
from referrals.duplicates import duplicate_confirm, duplicate_dismiss
from referrals.models import PossibleDuplicate

from .actions import apply_each


class PossibleDuplicateFilter(admin.SimpleListFilter):
    """Referrals in a possible-duplicate pair (either side), by the pair's status."""

    title = "possible duplicate"
    parameter_name = "duplicate"

    def lookups(self, request, model_admin):
        return PossibleDuplicate.Status.choices

    def queryset(self, request, queryset):
        if self.value() not in PossibleDuplicate.Status.values:
            return queryset
        pairs = PossibleDuplicate.objects.filter(status=self.value())
        return queryset.filter(
            Exists(pairs.filter(referral=OuterRef("pk")))
            | Exists(pairs.filter(duplicate_of=OuterRef("pk")))
        )


@admin.action(
    description="Confirm: close the newer referral as a duplicate of the older",
    permissions=["change"],
)
def confirm(modeladmin, request, queryset):
    apply_each(
        modeladmin,
        request,
        queryset.select_related("referral", "duplicate_of"),
        lambda flag: duplicate_confirm(flag=flag, actor=request.user),
        log="Confirmed as duplicates, newer referral closed",
        done="Confirmed as duplicates, newer referral closed: {count}",
        verb="confirmed",
        noun=("pair", "pairs"),
    )


@admin.action(description="Dismiss: not duplicates (never flagged again)", permissions=["change"])
def dismiss(modeladmin, request, queryset):
    apply_each(
        modeladmin,
        request,
        queryset.select_related("referral", "duplicate_of"),
        lambda flag: duplicate_dismiss(flag=flag, actor=request.user),
        log="Dismissed as not duplicates",
        done="Dismissed as not duplicates: {count}",
        verb="dismissed",
        noun=("pair", "pairs"),
    )


@admin.register(PossibleDuplicate)
class PossibleDuplicateAdmin(SupervisorOnlyAdminMixin, admin.ModelAdmin):
    """Every pair found, across regions. Changed by the actions only."""

    list_display = [
        "found_at",
        "newer",
        "older",
        "reason",
        "status",
        "resolved_by",
        "resolved_at",
    ]
    list_filter = ["status", "reason"]
    list_select_related = ["referral", "duplicate_of", "resolved_by"]
    search_fields = ["=referral__reference", "=duplicate_of__reference"]
    search_help_text = "Search by either referral's full reference."
    date_hierarchy = "found_at"
    list_per_page = 100
    actions = [confirm, dismiss]
    fields = [("newer", "older"), ("reason", "status", "found_at"), ("resolved_by", "resolved_at")]
    readonly_fields = [
        "newer",
        "older",
        "reason",
        "status",
        "found_at",
        "resolved_by",
        "resolved_at",
    ]

    def has_add_permission(self, request):
        return False  # pairs are found when a referral is created

    def has_delete_permission(self, request, obj=None):
        return False  # a dismissed pair is what keeps it from being flagged again

    def has_change_permission(self, request, obj=None):
        # The actions need change permission on the list; a pair's page is read-only.
        return obj is None and super().has_change_permission(request, obj)

    def _referral_link(self, referral):
        url = reverse("admin:referrals_referral_change", args=[referral.pk])
        return format_html(
            '<a href="{}">{}</a> ({})', url, referral.reference, referral.get_status_display()
        )

    @admin.display(description="newer referral", ordering="referral__submitted_at")
    def newer(self, flag):
        return self._referral_link(flag.referral)

    @admin.display(description="possible duplicate of", ordering="duplicate_of__submitted_at")
    def older(self, flag):
        return self._referral_link(flag.duplicate_of)
