"""The referral admin's actions: each change goes through one service, which writes its event.

A refused change (a ValidationError from the service) is reported with its reason and
the other selected referrals are still processed.
"""

import csv
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from referrals import services
from referrals.audit import referral_access_record
from referrals.models import Referral, ReferralAccess

from .forms import ReassignForm, ReviewForm

# Set by the intermediate pages' submit, so the action runs instead of showing the page again.
APPLY = "apply"
# Set by the buttons on a referral's change page: come back there afterwards.
FROM_CHANGE_PAGE = "_from_change_page"
REFERENCES_IN_MESSAGE = 20
CONFIRMATION_LIST_LIMIT = 50
REROUTE_REASON = "sent back to auto-routing by a supervisor"

CSV_COLUMNS = [
    "reference",
    "jurisdiction",
    "region",
    "specialist",
    "status",
    "urgency",
    "submitted",
    "first contact due",
    "first contacted",
    "overdue",
    "closed",
    "outcome",
    "reviewed",
]


def _referrals(n: int) -> str:
    return f"{n} referral" if n == 1 else f"{n} referrals"


@dataclass
class BatchResult:
    done: list[Referral] = field(default_factory=list)
    # The refusal message → the references it was given for.
    refused: dict[str, list[str]] = field(default_factory=dict)


def apply_to_each(referrals, change: Callable[[Referral], Referral]) -> BatchResult:
    """Run `change` (a service call) on each referral; collect the refusals, do not stop."""
    result = BatchResult()
    for referral in referrals:
        try:
            result.done.append(change(referral))
        except ValidationError as error:
            reason = " ".join(error.messages)
            result.refused.setdefault(reason, []).append(referral.reference)
    return result


def report_refusals(modeladmin, request, result: BatchResult, *, verb: str) -> None:
    """One error message per distinct reason, naming the referrals it applies to."""
    for reason, references in result.refused.items():
        shown = ", ".join(references[:REFERENCES_IN_MESSAGE])
        if len(references) > REFERENCES_IN_MESSAGE:
            shown += f" and {len(references) - REFERENCES_IN_MESSAGE} more"
        modeladmin.message_user(
            request,
            f"{_referrals(len(references))} not {verb} ({shown}): {reason}",
            level=messages.ERROR,
        )


def apply_and_report(modeladmin, request, referrals, change, *, verb: str, success) -> BatchResult:
    """Apply `change` to each referral, then say what was done and what was refused.

    `success` turns the referrals that were changed into the success message.
    """
    result = apply_to_each(referrals, change)
    if result.done:
        modeladmin.message_user(request, success(result.done), level=messages.SUCCESS)
    report_refusals(modeladmin, request, result, verb=verb)
    return result


def _finish(request, referrals: list[Referral]):
    """Back to the referral's page when the action started there, else to the list."""
    if request.POST.get(FROM_CHANGE_PAGE) and len(referrals) == 1:
        return HttpResponseRedirect(
            reverse("admin:referrals_referral_change", args=[referrals[0].pk])
        )
    return None  # the admin redirects to the change list, keeping its filters


def _selected(queryset) -> list[Referral]:
    return list(queryset.select_related("jurisdiction", "region", "assigned_specialist"))


def _confirmation_page(modeladmin, request, *, template, action, title, referrals, form):
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "opts": modeladmin.model._meta,
        "action_name": action,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "apply_name": APPLY,
        "from_change_page_name": FROM_CHANGE_PAGE,
        "from_change_page": bool(request.POST.get(FROM_CHANGE_PAGE)),
        "referrals": referrals,
        "shown_referrals": referrals[:CONFIRMATION_LIST_LIMIT],
        "hidden_count": max(0, len(referrals) - CONFIRMATION_LIST_LIMIT),
        "form": form,
        "media": modeladmin.media + form.media,
    }
    return TemplateResponse(request, f"admin/referrals/referral/{template}", context)


def reroute_and_report(modeladmin, request, referrals, *, reason: str, lead) -> None:
    """Route each referral again; report "<lead(done)>: 3 assigned…, 1 in supervisor intake"."""

    def summary(done):
        intake = sum(1 for referral in done if referral.assigned_specialist_id is None)
        return (
            f"{lead(done)}: {len(done) - intake} assigned to a specialist, "
            f"{intake} in supervisor intake."
        )

    apply_and_report(
        modeladmin,
        request,
        referrals,
        lambda referral: services.referral_reroute(
            referral=referral, actor=request.user, reason=reason
        ),
        verb="re-routed",
        success=summary,
    )


@admin.action(description="Reassign selected referrals to a specialist…", permissions=["change"])
def reassign(modeladmin, request, queryset):
    referrals = _selected(queryset)
    form = ReassignForm(request.POST if APPLY in request.POST else None)
    if form.is_valid():
        specialist = form.cleaned_data["specialist"]
        note = form.cleaned_data["note"]
        apply_and_report(
            modeladmin,
            request,
            referrals,
            lambda referral: services.referral_reassign(
                referral=referral, actor=request.user, specialist=specialist, note=note
            ),
            verb="reassigned",
            success=lambda done: f"Reassigned {_referrals(len(done))} to {specialist.name}.",
        )
        return _finish(request, referrals)
    return _confirmation_page(
        modeladmin,
        request,
        template="reassign.html",
        action="reassign",
        title="Reassign referrals",
        referrals=referrals,
        form=form,
    )


@admin.action(description="Send selected referrals back to auto-routing", permissions=["change"])
def reroute(modeladmin, request, queryset):
    referrals = _selected(queryset)

    reroute_and_report(
        modeladmin,
        request,
        referrals,
        reason=REROUTE_REASON,
        lead=lambda done: f"Sent {_referrals(len(done))} back to auto-routing",
    )
    return _finish(request, referrals)


@admin.action(description="Mark selected assignments reviewed…", permissions=["change"])
def mark_reviewed(modeladmin, request, queryset):
    referrals = _selected(queryset)
    form = ReviewForm(request.POST if APPLY in request.POST else None)
    if form.is_valid():
        note = form.cleaned_data["note"]
        apply_and_report(
            modeladmin,
            request,
            referrals,
            lambda referral: services.referral_mark_reviewed(
                referral=referral, actor=request.user, note=note
            ),
            verb="marked reviewed",
            success=lambda done: f"Marked {_referrals(len(done))} reviewed.",
        )
        return _finish(request, referrals)
    return _confirmation_page(
        modeladmin,
        request,
        template="review.html",
        action="mark_reviewed",
        title="Mark assignments reviewed",
        referrals=referrals,
        form=form,
    )


def _local(value) -> str:
    """In the exporter's zone, named: "2026-11-25 17:28 EST"."""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M %Z") if value else ""


def csv_row(referral: Referral, *, now) -> list[str]:
    """The workload columns only: nothing about the child, the referrer or the case text."""
    return [
        referral.reference,
        referral.jurisdiction_id,
        referral.region.label if referral.region else "",
        referral.assigned_specialist.name if referral.assigned_specialist else "",
        referral.get_status_display(),
        referral.get_urgency_display(),
        _local(referral.submitted_at),
        _local(referral.first_contact_due_at),
        _local(referral.first_contacted_at),
        "yes" if referral.is_overdue(now=now) else "no",
        _local(referral.closed_at),
        referral.get_outcome_display(),
        _local(referral.reviewed_at),
    ]


def _spreadsheet_safe(value: str) -> str:
    # A cell starting like a formula would be run by the spreadsheet (CSV injection).
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


@admin.action(description="Export selected referrals as CSV (workload)", permissions=["view"])
def export_csv(modeladmin, request, queryset):
    now = timezone.now()
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"rst-referrals-{timezone.localtime(now):%Y%m%d-%H%M}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    rows = queryset.select_related("region", "assigned_specialist").order_by("submitted_at", "pk")
    count = 0
    for referral in rows.iterator(chunk_size=2000):
        writer.writerow([_spreadsheet_safe(value) for value in csv_row(referral, now=now)])
        count += 1
    # One audit row per export, with its size (not one per referral).
    referral_access_record(request=request, kind=ReferralAccess.Kind.EXPORT, rows=count)
    return response


def apply_each(modeladmin, request, items, change, *, log: str, done: str, verb: str, noun):
    """Run `change(item)` on each selected item, log each change, and report what was done
    (`done` with `{count}`, e.g. "Marked {count} handled") and, per reason, what was
    refused ("Not <verb> (…): <reason>"). `noun` is (singular, plural)."""
    changed, refused = [], {}
    for item in items:
        try:
            change(item)
        except ValidationError as error:
            refused.setdefault(" ".join(error.messages), []).append(str(item))
        else:
            changed.append(item)
            modeladmin.log_change(request, item, log)
    if changed:
        count = f"{len(changed)} {noun[0] if len(changed) == 1 else noun[1]}"
        listed = "; ".join(str(item) for item in changed)
        modeladmin.message_user(
            request, f"{done.format(count=count)}: {listed}", level=messages.SUCCESS
        )
    for reason, names in refused.items():
        modeladmin.message_user(
            request, f"Not {verb} ({'; '.join(names)}): {reason}", level=messages.ERROR
        )
