"""The supervisors' daily digests in the admin: one row per working day, read-only.

The digest itself is made and sent by the deadline reminders (referrals/reminders.py);
here a supervisor sees whether each day's went out, and why not if it failed.
"""

from django.contrib import admin
from django.utils import timezone

from accounts.access import SupervisorOnlyAdminMixin
from referrals.models import DailyDigest


@admin.register(DailyDigest)
class DailyDigestAdmin(SupervisorOnlyAdminMixin, admin.ModelAdmin):
    """Each day's digest and how it went. Written by the worker only: nothing is edited here."""

    list_display = ["day", "status_label", "overdue_count", "intake_count", "attempts", "sent_at"]
    list_filter = ["status"]
    date_hierarchy = "day"
    list_per_page = 100
    fields = [
        ("day", "status_label"),
        ("overdue_count", "intake_count"),
        ("attempts", "created_at", "sent_at"),
        "last_error",
    ]
    readonly_fields = [
        name for line in fields for name in (line if isinstance(line, tuple) else (line,))
    ]

    def has_add_permission(self, request):
        return False  # one per working day, made by the reminders

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the row is the day's key: deleting it would send the digest again

    @admin.display(description="status", ordering="status")
    def status_label(self, digest):
        label = digest.get_status_display()
        if digest.status == DailyDigest.Status.FAILED:
            return f"{label}: {digest.last_error}"
        if digest.status == DailyDigest.Status.PENDING and digest.last_error:
            return f"{label} (last attempt: {digest.last_error})"
        if digest.status == DailyDigest.Status.SENT and digest.sent_at:
            return f"{label} at {timezone.localtime(digest.sent_at):%H:%M %Z}"
        return label
