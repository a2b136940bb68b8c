"""The supervisor's review of referrals in the Django admin.

Referrals are read-only here: every change (reassign, re-route, review) is an action
that calls a service in referrals/services.py, so it lands in the referral's history.
The e-mail notices the portal owes are listed too; a failed one can be resent.
"""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from accounts.access import SupervisorOnlyAdminMixin
from referrals import lifecycle
from referrals.audit import referral_access_record, referral_viewers
from referrals.deadlines import time_left
from referrals.models import Notification, Referral, ReferralAccess, ReferralEvent, overdue_q
from referrals.notifications import notification_mark_handled, notification_resend
from referrals.workload import workload_overview

from . import actions as admin_actions
from .duplicates import PossibleDuplicateFilter


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("open", "Open (not closed)"), *Referral.Status.choices]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.open()
        if self.value() in Referral.Status.values:
            return queryset.filter(status=self.value())
        return queryset


class OverdueFilter(admin.SimpleListFilter):
    title = "first contact overdue"
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", "Overdue"), ("no", "Not overdue")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.overdue()
        if self.value() == "no":
            return queryset.exclude(overdue_q(now=timezone.now()))
        return queryset


class ReviewedFilter(admin.SimpleListFilter):
    title = "assignment reviewed"
    parameter_name = "reviewed"

    def lookups(self, request, model_admin):
        return [("yes", "Reviewed"), ("no", "Not reviewed")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(reviewed_at__isnull=self.value() == "no")
        return queryset


class SupervisorIntakeFilter(admin.SimpleListFilter):
    title = "supervisor intake"
    parameter_name = "intake"

    def lookups(self, request, model_admin):
        return [("yes", "In supervisor intake (open, no specialist)")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.supervisor_intake()
        return queryset


class ReadOnlyInline(SupervisorOnlyAdminMixin, admin.TabularInline):
    """Rows written by the services only: shown, never added, changed or deleted here."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReferralEventInline(ReadOnlyInline):
    """The referral's history: append-only, so nothing here can be added or changed."""

    model = ReferralEvent
    fk_name = "referral"
    fields = ["created_at", "kind", "by", "message", "region", "specialist", "contact"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False
    verbose_name = "history event"
    verbose_name_plural = "history"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor", "region", "specialist")

    @admin.display(description="by")
    def by(self, event):
        return event.actor_label

    @admin.display(description="contact")
    def contact(self, event):
        if not event.contact_method:
            return ""
        return f"{event.get_contact_method_display()}, {event.contact_date or ''}".rstrip(", ")


class NotificationInline(ReadOnlyInline):
    """The e-mails this referral called for, and whether each went (resend from the list)."""

    model = Notification
    fields = ["created_at", "kind", "recipient", "status_label", "attempts", "sent_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name = "e-mail notice"
    verbose_name_plural = "e-mail notices"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("referral", "specialist")

    @admin.display(description="to")
    def recipient(self, notification):
        return notification.recipient_label

    @admin.display(description="status")
    def status_label(self, notification):
        return notice_status(notification)


def notice_status(notification: Notification) -> str:
    """The status with its reason: why it failed or was not sent, when it is tried next."""
    label = notification.get_status_display()
    if notification.status == Notification.Status.FAILED:
        return f"{label}: {notification.last_error}"
    if notification.status == Notification.Status.SKIPPED:
        return f"{label}: {notification.skip_reason}"
    if notification.status == Notification.Status.PENDING and notification.next_attempt_at:
        when = timezone.localtime(notification.next_attempt_at)
        return f"{label}: next attempt {when:%Y-%m-%d %H:%M:%S %Z} ({notification.last_error})"
    return label


def _local_time(value, *, short: bool = False) -> str:
    """A time in the reader's zone (the active one) with its abbreviation, as the admin
    writes times ("Nov. 26, 2026, 2 p.m. CST"), in a <time> element with the instant.
    `short` leaves out the year when it is this year's (for the list's narrow column)."""
    if value is None:
        return "—"
    local = timezone.localtime(value)
    this_year = short and local.year == timezone.localdate().year
    return format_html(
        '<time datetime="{}">{}</time>',
        value.isoformat(),
        date_format(local, "N j, P T" if this_year else "DATETIME_FORMAT"),
    )


def _related_filter(field_name: str) -> str:
    """The parameter Django's RelatedFieldListFilter uses for a foreign key."""
    field = Referral._meta.get_field(field_name)
    return f"{field_name}__{field.target_field.name}__exact"


# Friendly names → the list filters' own parameters: rename a filter and links follow.
CHANGELIST_FILTERS = {
    "status": StatusFilter.parameter_name,
    "overdue": OverdueFilter.parameter_name,
    "reviewed": ReviewedFilter.parameter_name,
    "intake": SupervisorIntakeFilter.parameter_name,
    "region": _related_filter("region"),
    "no_region": "region__isnull",
    "specialist": _related_filter("assigned_specialist"),
}


def changelist_url(**filters) -> str:
    """The admin's referral list with these filters, e.g. changelist_url(status="open")."""
    query = urlencode({CHANGELIST_FILTERS[name]: value for name, value in filters.items()})
    url = reverse("admin:referrals_referral_changelist")
    return f"{url}?{query}" if query else url


@admin.register(Referral)
class ReferralAdmin(SupervisorOnlyAdminMixin, admin.ModelAdmin):
    # What a supervisor reviews, in columns that fit a 1,366 px screen beside the filters:
    # the jurisdiction sits with the region, the urgency with the status.
    list_display = [
        "reference",
        "region_label",
        "specialist",
        "status_label",
        "due",
        "overdue_marker",
        "reviewed",
    ]
    # Overdue first, then by due time: awaiting first contact (stage 0, by due time, so the
    # overdue ones lead), then contacted and open, then closed. The queue's own order, read
    # from its indexes (referral_queue_all, and _region/_spec under those filters).
    ordering = ["queue_stage", "first_contact_due_at", "id"]
    list_filter = [
        "region",
        StatusFilter,
        "assigned_specialist",
        "urgency",
        OverdueFilter,
        ReviewedFilter,
        SupervisorIntakeFilter,
        PossibleDuplicateFilter,
        # Fixed ranges (today, past 7 days …) rather than a date hierarchy, whose links
        # cost a scan and sort of every referral on each page (a quarter second at 200k).
        "submitted_at",
    ]
    search_fields = ["reference", "agency", "referrer_email"]
    search_help_text = "Search by reference, agency or referrer e-mail."
    list_per_page = 50
    # One count (the filtered rows), not a second of the whole table on every page.
    show_full_result_count = False
    actions = [
        admin_actions.reassign,
        admin_actions.reroute,
        admin_actions.mark_reviewed,
        admin_actions.export_csv,
    ]
    inlines = [ReferralEventInline, NotificationInline]
    fieldsets = [
        (
            "Routing and lifecycle",
            {
                "fields": [
                    ("reference", "status", "urgency"),
                    ("jurisdiction", "region", "assigned_specialist"),
                    ("assigned_at", "routing_reason"),
                    ("submitted_at", "first_contact_due_at", "overdue_detail"),
                    ("first_contacted_at", "closed_at"),
                    ("outcome", "closing_note"),
                ]
            },
        ),
        ("Supervisor review", {"fields": [("reviewed_at", "reviewed_by"), "review_note"]}),
        (
            "Referrer",
            {
                "fields": [
                    ("referrer_name", "referrer_role"),
                    "agency",
                    ("referrer_email", "referrer_phone"),
                    "consent_at",
                ]
            },
        ),
        (
            "The case",
            {
                "fields": [
                    ("county", "ncmec_case_number", "law_enforcement_involved"),
                    ("child_initials", "child_age"),
                    ("child_status", "status_date"),
                    "services",
                    "summary",
                ],
            },
        ),
        ("Access audit", {"fields": ["viewed_by"]}),
    ]
    readonly_fields = [
        name
        for _, options in fieldsets
        for line in options["fields"]
        for name in (line if isinstance(line, tuple) else (line,))
    ]

    def get_urls(self):
        # Before the default URLs, whose "<object_id>/" would swallow "workload/".
        workload = path(
            "workload/",
            self.admin_site.admin_view(self.workload_view),
            name="referrals_referral_workload",
        )
        return [workload, *super().get_urls()]

    def has_add_permission(self, request):
        return False  # referrals come from the public form only

    def has_delete_permission(self, request, obj=None):
        return False  # referrals are kept; closing is the end of the lifecycle

    def has_change_permission(self, request, obj=None):
        # The actions need change permission on the list; one referral's page never
        # saves (it shows read-only details and buttons for the actions instead).
        return obj is None and super().has_change_permission(request, obj)

    def get_queryset(self, request):
        # Here rather than list_select_related, which the change list ignores once the
        # queryset has any select_related of its own.
        return (
            super()
            .get_queryset(request)
            .select_related("jurisdiction", "region", "assigned_specialist", "reviewed_by")
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "changelist_url": reverse("admin:referrals_referral_changelist"),
            "from_change_page_name": admin_actions.FROM_CHANGE_PAGE,
        }
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            # The page showed the case: a read for the access audit.
            referral_access_record(
                request=request, kind=ReferralAccess.Kind.ADMIN, referral_id=unquote(object_id)
            )
        return response

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        # The buttons offered are the ones the lifecycle allows (the services decide).
        context["allowed_actions"] = lifecycle.actions_allowed(obj) if obj else set()
        return super().render_change_form(request, context, add, change, form_url, obj)

    def history_view(self, request, object_id, extra_context=None):
        # Django's change log stays empty (actions go through services, not the form);
        # the referral's real history is the event inline on its page.
        return HttpResponseRedirect(
            reverse("admin:referrals_referral_change", args=[object_id]) + "#events-group"
        )

    def workload_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "Workload overview",
            "opts": self.model._meta,
            "overview": workload_overview(),
            "statuses": Referral.Status.choices,
            "changelist_url": reverse("admin:referrals_referral_changelist"),
            "failed_notices_url": reverse("admin:referrals_notification_changelist")
            + f"?status__exact={Notification.Status.FAILED}",
        }
        return TemplateResponse(request, "admin/referrals/referral/workload.html", context)

    @admin.display(description="region", ordering="region__number")
    def region_label(self, referral):
        region = referral.region.label if referral.region else "no region"
        return format_html(
            '<abbr title="{}">{}</abbr> · {}',
            referral.jurisdiction.name,
            referral.jurisdiction_id,
            region,
        )

    @admin.display(description="specialist", ordering="assigned_specialist__name")
    def specialist(self, referral):
        if referral.assigned_specialist:
            return referral.assigned_specialist.name
        return "Supervisor intake" if referral.is_open else "—"

    @admin.display(description="status", ordering="status")
    def status_label(self, referral):
        if not referral.is_urgent:
            return referral.get_status_display()
        return format_html(
            '{} <span class="rst-urgent">{}</span>',
            referral.get_status_display(),
            referral.get_urgency_display(),
        )

    @admin.display(description="first contact due", ordering="first_contact_due_at")
    def due(self, referral):
        """The due time in the reader's zone, with its abbreviation; time left while new."""
        when = _local_time(referral.first_contact_due_at, short=True)
        if referral.status != Referral.Status.NEW:
            return when
        return format_html(
            '{}<br><span class="rst-time-left">{}</span>',
            when,
            time_left(referral.first_contact_due_at),
        )

    @admin.display(description="overdue")
    def overdue_marker(self, referral):
        if not referral.is_overdue(now=timezone.now()):
            return "No"
        return format_html('<strong class="rst-flag">{}</strong>', "Yes")

    @admin.display(description="overdue")
    def overdue_detail(self, referral):
        """Overdue, yes or no, with the due time it is measured against."""
        due = _local_time(referral.first_contact_due_at)
        if referral.is_overdue(now=timezone.now()):
            return format_html(
                '<strong class="rst-flag">{}</strong>: first contact was due {} ({})',
                "Yes",
                due,
                time_left(referral.first_contact_due_at),
            )
        if referral.first_contacted_at:
            return format_html(
                "No: first contact made {} (due {})",
                _local_time(referral.first_contacted_at),
                due,
            )
        if referral.status == Referral.Status.CLOSED:
            return format_html("No: closed (first contact was due {})", due)
        return format_html(
            "No: first contact due {} ({})", due, time_left(referral.first_contact_due_at)
        )

    @admin.display(description="reviewed", boolean=True, ordering="reviewed_at")
    def reviewed(self, referral):
        return referral.reviewed_at is not None

    @admin.display(description="viewed by")
    def viewed_by(self, referral):
        viewers = referral_viewers(referral=referral)
        if not viewers:
            return "Nobody yet."
        return format_html(
            '<table id="viewed-by"><thead><tr><th scope="col">who</th><th scope="col">views'
            '</th><th scope="col">last</th></tr></thead><tbody>{}</tbody></table>',
            format_html_join(
                "",
                "<tr><td>{} {} ({})</td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        viewer["user__first_name"],
                        viewer["user__last_name"],
                        viewer["user__username"],
                        viewer["views"],
                        f"{timezone.localtime(viewer['last_viewed_at']):%Y-%m-%d %H:%M %Z}",
                    )
                    for viewer in viewers
                ),
            ),
        )


@admin.register(ReferralEvent)
class ReferralEventAdmin(SupervisorOnlyAdminMixin, admin.ModelAdmin):
    """Every referral's history in one place. Append-only: nothing is edited here."""

    list_display = ["created_at", "referral", "kind", "by", "region", "specialist", "message"]
    list_filter = ["kind", "region"]
    list_select_related = ["referral", "actor", "region", "specialist"]
    search_fields = ["=referral__reference"]
    search_help_text = "Search by the referral's full reference."
    date_hierarchy = "created_at"
    list_per_page = 100

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="by", ordering="actor__username")
    def by(self, event):
        return event.actor_label


@admin.action(description="Resend selected failed notices", permissions=["change"])
def resend(modeladmin, request, queryset):
    admin_actions.apply_each(
        modeladmin,
        request,
        queryset.select_related("referral"),
        lambda notification: notification_resend(notification=notification, actor=request.user),
        log="Resent: a fresh set of attempts.",
        done="Queued {count} again",
        verb="resent",
        noun=("notice", "notices"),
    )


@admin.action(
    description="Mark selected failed notices handled (told another way)", permissions=["change"]
)
def mark_handled(modeladmin, request, queryset):
    admin_actions.apply_each(
        modeladmin,
        request,
        queryset.select_related("referral"),
        lambda notification: notification_mark_handled(
            notification=notification, actor=request.user
        ),
        log="Marked handled: told another way.",
        done="Marked {count} handled",
        verb="marked handled",
        noun=("notice", "notices"),
    )


@admin.register(Notification)
class NotificationAdmin(SupervisorOnlyAdminMixin, admin.ModelAdmin):
    """Every e-mail the portal owes, and how it went. Failed ones can be resent."""

    list_display = [
        "created_at",
        "referral_link",
        "kind",
        "recipient",
        "status_label",
        "attempts",
        "sent_at",
    ]
    list_filter = ["status", "kind", "referral__urgency"]
    list_select_related = ["referral", "specialist"]
    search_fields = ["=referral__reference"]
    search_help_text = "Search by the referral's full reference."
    date_hierarchy = "created_at"
    list_per_page = 100
    actions = [resend, mark_handled]
    fields = [
        ("referral_link", "kind", "recipient"),
        ("status_label", "priority"),
        ("attempts", "created_at", "last_attempt_at", "next_attempt_at", "sent_at"),
        "last_error",
        "skip_reason",
        ("resends", "resent_at", "resent_by"),
    ]
    readonly_fields = [
        name for line in fields for name in (line if isinstance(line, tuple) else (line,))
    ]

    def has_add_permission(self, request):
        return False  # notices come from referral changes only

    def has_delete_permission(self, request, obj=None):
        return False  # the ledger is kept: it is how a supervisor knows who was told

    def has_change_permission(self, request, obj=None):
        # The resend action needs change permission on the list; a notice's own page
        # is read-only.
        return obj is None and super().has_change_permission(request, obj)

    @admin.display(description="referral", ordering="referral__reference")
    def referral_link(self, notification):
        url = reverse("admin:referrals_referral_change", args=[notification.referral_id])
        return format_html('<a href="{}">{}</a>', url, notification.referral.reference)

    @admin.display(description="to")
    def recipient(self, notification):
        return notification.recipient_label

    @admin.display(description="status", ordering="status")
    def status_label(self, notification):
        return notice_status(notification)


@admin.register(ReferralAccess)
class ReferralAccessAdmin(SupervisorOnlyAdminMixin, admin.ModelAdmin):
    """The access audit: every read of a referral and every export. Nobody edits it."""

    list_display = ["at", "user", "kind", "referral", "row_count", "ip_address"]
    list_filter = ["kind", ("user", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["user", "referral"]
    search_fields = ["=referral__reference", "user__username", "ip_address"]
    search_help_text = "Search by the referral's full reference, a username or an address."
    date_hierarchy = "at"
    list_per_page = 100

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # not even for superusers: an audit that can be edited proves nothing
