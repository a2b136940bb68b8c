"""The staff workspace: the regional queue, one referral, and the actions on it."""

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.roles import is_supervisor
from referrals import services
from referrals.audit import referral_access_record, referral_viewers
from referrals.models import Referral, ReferralAccess
from referrals.selectors import (
    queue_counts,
    referral_for_user,
    referral_queue_page,
    referrals_visible_to,
)
from regions.selectors import specialist_of

from .forms import (
    CloseForm,
    ConfirmForm,
    ContactForm,
    NoteForm,
    QueueFilterForm,
    ReopenForm,
    ShareResourcesForm,
    TransferForm,
    action_form_html,
)

NO_ROLE = (
    "Your login is not linked to a Resource Specialist or the RST supervisors. "
    "Ask the RST supervisor to link it."
)


@dataclass(frozen=True)
class Action:
    form_class: type[forms.Form]
    perform: Callable  # (referral, actor, cleaned_data) -> referral
    done: Callable  # (referral) -> the success message


ACTIONS = {
    "acknowledge": Action(
        ConfirmForm,
        lambda r, u, d: services.referral_acknowledge(referral=r, actor=u),
        lambda r: "Acknowledged: first contact with the referrer is recorded.",
    ),
    "start": Action(
        ConfirmForm,
        lambda r, u, d: services.referral_start(referral=r, actor=u),
        lambda r: "Moved to in progress.",
    ),
    "note": Action(
        NoteForm,
        lambda r, u, d: services.referral_add_note(referral=r, actor=u, text=d["text"]),
        lambda r: "Note added.",
    ),
    "contact": Action(
        ContactForm,
        lambda r, u, d: services.referral_record_contact(
            referral=r, actor=u, method=d["method"], contact_date=d["contact_date"], text=d["text"]
        ),
        lambda r: "Contact recorded.",
    ),
    "close": Action(
        CloseForm,
        lambda r, u, d: services.referral_close(
            referral=r, actor=u, outcome=d["outcome"], note=d["note"]
        ),
        lambda r: f"Closed: {r.get_outcome_display()}.",
    ),
    "reopen": Action(
        ReopenForm,
        lambda r, u, d: services.referral_reopen(referral=r, actor=u, reason=d["reason"]),
        lambda r: "Reopened.",
    ),
    "transfer": Action(
        TransferForm,
        lambda r, u, d: services.referral_transfer(
            referral=r, actor=u, jurisdiction=d["jurisdiction"], reason=d["reason"]
        ),
        lambda r: f"Transferred. Now {r.routing_reason}.",
    ),
    "share_resources": Action(
        ShareResourcesForm,
        lambda r, u, d: services.referral_share_resources(
            referral=r, actor=u, service_ids=d["resources"], note=d["note"]
        ),
        lambda r: "Resources shared: recorded in the history.",
    ),
    "take_over": Action(
        ConfirmForm,
        lambda r, u, d: services.referral_take_over(referral=r, actor=u),
        lambda r: "The referral is now assigned to you.",
    ),
}


def _action_form(name, referral, data=None):
    # Several action forms share one page: give each its own element ids.
    form_class = ACTIONS[name].form_class
    extra = {"referral": referral} if getattr(form_class, "needs_referral", False) else {}
    return form_class(data, auto_id=f"id_{name}_%s", **extra)


def _require_role(user):
    if not (is_supervisor(user) or specialist_of(user)):
        raise PermissionDenied(NO_ROLE)


@login_required
def queue(request):
    """The logged-in user's queue: their region, or every region for supervisors."""
    _require_role(request.user)
    supervisor = is_supervisor(request.user)
    filter_form = QueueFilterForm(request.GET or None, supervisor=supervisor)
    page = referral_queue_page(
        user=request.user,
        filters=filter_form.filters(),
        page_number=request.GET.get("page"),
        per_page=settings.RST_QUEUE_PAGE_SIZE,
        max_pages=settings.RST_QUEUE_MAX_PAGES,
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "referrals/workspace/queue.html",
        {
            "page": page,
            "filter_form": filter_form,
            "counts": (counts := queue_counts(user=request.user)),
            "status_counts": [(status, counts[status]) for status in Referral.Status.values],
            "specialist": specialist_of(request.user),
            "supervisor": supervisor,
            "query": query.urlencode(),
        },
    )


@login_required
def detail(request, reference):
    """Everything about one referral, with the actions its status allows."""
    _require_role(request.user)
    referral = referral_for_user(user=request.user, reference=reference)
    return _render_detail(request, referral)


def _render_detail(request, referral, *, bound=None, status=200):
    # Every page that shows the case is a read of it (the access audit).
    referral_access_record(request=request, referral=referral, kind=ReferralAccess.Kind.PAGE)
    allowed = services.referral_allowed_actions(referral=referral, user=request.user)
    action_forms = {
        name: action_form_html(
            name,
            ACTIONS[name].form_class,
            bound[1] if bound and bound[0] == name else None,
            referral=referral,
        )
        for name in allowed
    }
    supervisor = is_supervisor(request.user)
    return render(
        request,
        "referrals/workspace/detail.html",
        {
            "referral": referral,
            "forms": action_forms,
            "open_action": bound[0] if bound else "",
            "supervisor": supervisor,
            # Who read this case: for supervisors only (the access audit).
            "viewers": referral_viewers(referral=referral) if supervisor else None,
        },
        status=status,
    )


@login_required
@require_POST
def act(request, reference, action):
    """Apply one action through its service; refusals come back as messages."""
    _require_role(request.user)
    referral = referral_for_user(user=request.user, reference=reference)
    if action not in ACTIONS:
        raise Http404("No such action.")
    spec = ACTIONS[action]
    form = _action_form(action, referral, request.POST)
    if not form.is_valid():
        messages.error(request, "Please correct the marked fields.")
        return _render_detail(request, referral, bound=(action, form), status=400)
    try:
        referral = spec.perform(referral, request.user, form.cleaned_data)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        if not referrals_still_visible(request.user, referral):
            # Moved out of the user's queue while they were acting (the service said so).
            return redirect("referrals:queue")
        return _render_detail(
            request,
            referral_for_user(user=request.user, reference=reference),
            bound=(action, form),
            status=400,
        )
    messages.success(request, spec.done(referral))
    if not referrals_still_visible(request.user, referral):
        return redirect("referrals:queue")
    return redirect(referral)


def referrals_still_visible(user, referral) -> bool:
    """After a transfer a specialist may no longer see the referral."""
    return referrals_visible_to(user).filter(pk=referral.pk).exists()
