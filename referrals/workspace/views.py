"""The staff workspace: the regional queue, one referral, and the actions on it."""

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.http import require_POST

from accounts.roles import is_supervisor
from referrals import services
from referrals.audit import referral_access_record, referral_viewers
from referrals.models import ReferralAccess
from referrals.selectors import (
    queue_counts,
    referral_for_user,
    referral_queue_page,
    referrals_visible_to,
)
from referrals.status_links import follow_ups_seen
from regions.selectors import specialist_of

from .forms import (
    AcknowledgeForm,
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
NOT_SAVED = "Not saved: correct the marked field below."
FORM_OUT_OF_DATE = (
    "This page was out of date, so nothing was changed. Check the referral and try again."
)
LEFT_YOUR_QUEUE = "It is no longer in your queue."
# The action form refused last, shown once on the referral's page (post/redirect/get).
REFUSED_SESSION_KEY = "rst_refused_action"


@dataclass(frozen=True)
class Action:
    form_class: type[forms.Form]
    perform: Callable  # (referral, actor, cleaned_data) -> referral
    done: Callable  # (referral) -> the success message


def _when(moment) -> str:
    """A staff time in the reader's zone, with its abbreviation (as the page shows it)."""
    return date_format(timezone.localtime(moment), "M j, Y g:i A T")


# Each service gets the form's cleaned data and its one-time token (`d["action_token"]`):
# a resent form then does nothing twice (services._once_per_token).
ACTIONS = {
    "acknowledge": Action(
        AcknowledgeForm,
        lambda r, u, d: services.referral_acknowledge(
            referral=r,
            actor=u,
            method=d["method"],
            contacted_at=d["contacted_at"],
            action_token=d["action_token"],
        ),
        lambda r: (
            "Acknowledged: first contact with the referrer is recorded "
            f"({_when(r.first_contacted_at)})."
        ),
    ),
    "start": Action(
        ConfirmForm,
        lambda r, u, d: services.referral_start(
            referral=r, actor=u, action_token=d["action_token"]
        ),
        lambda r: "Moved to in progress.",
    ),
    "note": Action(
        NoteForm,
        lambda r, u, d: services.referral_add_note(
            referral=r, actor=u, text=d["text"], action_token=d["action_token"]
        ),
        lambda r: "Note added.",
    ),
    "contact": Action(
        ContactForm,
        lambda r, u, d: services.referral_record_contact(
            referral=r,
            actor=u,
            method=d["method"],
            outcome=d["outcome"],
            contact_date=d["contact_date"],
            text=d["text"],
            action_token=d["action_token"],
        ),
        lambda r: "Contact attempt recorded.",
    ),
    "close": Action(
        CloseForm,
        lambda r, u, d: services.referral_close(
            referral=r,
            actor=u,
            outcome=d["outcome"],
            note=d["note"],
            action_token=d["action_token"],
        ),
        lambda r: f"Closed: {r.get_outcome_display()}.",
    ),
    "reopen": Action(
        ReopenForm,
        lambda r, u, d: services.referral_reopen(
            referral=r, actor=u, reason=d["reason"], action_token=d["action_token"]
        ),
        lambda r: "Reopened.",
    ),
    "transfer": Action(
        TransferForm,
        lambda r, u, d: services.referral_transfer(
            referral=r,
            actor=u,
            jurisdiction=d["jurisdiction"],
            reason=d["reason"],
            action_token=d["action_token"],
        ),
        lambda r: (
            f"Transferred to {r.jurisdiction.name} ({r.jurisdiction_id}). Now {r.routing_reason}."
        ),
    ),
    "share_resources": Action(
        ShareResourcesForm,
        lambda r, u, d: services.referral_share_resources(
            referral=r,
            actor=u,
            service_ids=d["resources"],
            note=d["note"],
            action_token=d["action_token"],
        ),
        lambda r: "Resources shared: recorded in the history.",
    ),
    "take_over": Action(
        ConfirmForm,
        lambda r, u, d: services.referral_take_over(
            referral=r, actor=u, action_token=d["action_token"]
        ),
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
    specialist = specialist_of(request.user)
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
            "count_links": filter_form.count_links(queue_counts(user=request.user)),
            "shared": _shared_by_every_row(page, specialist),
            "specialist": specialist,
            "supervisor": supervisor,
            "query": query.urlencode(),
        },
    )


def _shared_by_every_row(page, specialist) -> list[str]:
    """The region and specialist the page's rows all share (their columns are hidden),
    unless the page's heading says so already (a specialist's own region and cases)."""
    if not page.object_list:
        return []
    first = page.object_list[0]
    shared = []
    if not page.regions_differ and not (specialist and first.region_id == specialist.region_id):
        shared.append(first.region.label if first.region else "No region")
    if not page.specialists_differ and not (
        specialist and first.assigned_specialist_id == specialist.pk
    ):
        shared.append(
            first.assigned_specialist.name if first.assigned_specialist else "Supervisor intake"
        )
    return shared


@login_required
def detail(request, reference):
    """Everything about one referral, with the actions its status allows."""
    _require_role(request.user)
    referral = referral_for_user(user=request.user, reference=reference)
    # The assigned specialist has now seen the referrer's follow-ups (the queue's marker).
    follow_ups_seen(referral=referral, user=request.user)
    return _render_detail(request, referral, bound=_refused_form(request, referral))


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
        if name in ACTIONS
    }
    supervisor = is_supervisor(request.user)
    specialist = specialist_of(request.user)
    return render(
        request,
        "referrals/workspace/detail.html",
        {
            "referral": referral,
            "forms": action_forms,
            "open_action": bound[0] if bound else "",
            # The first thing to do with a new referral: record first contact.
            "next_action": "acknowledge" if "acknowledge" in action_forms else "note",
            "supervisor": supervisor,
            # Whose queue a transfer to another region takes the referral out of.
            "own_region": specialist.region if specialist else None,
            # Who read this case: for supervisors only (the access audit).
            "viewers": referral_viewers(referral=referral) if supervisor else None,
        },
        status=status,
    )


@login_required
@require_POST
def act(request, reference, action):
    """Apply one action through its service, then show a page by GET (post/redirect/get).

    A resent form (its one-time token already on an event: a double click, a retry)
    lands where the first post did and changes nothing. A refused one goes back to the
    referral's own address with what was typed and the errors on their fields.
    """
    _require_role(request.user)
    if action not in ACTIONS:
        raise Http404("No such action.")
    spec = ACTIONS[action]
    token = request.POST.get("action_token", "")
    # Before the referral is looked up: a transfer may have taken it out of this queue.
    done = services.referral_done_by_token(
        actor=request.user, reference=reference, action=action, action_token=token
    )
    if done is not None:
        return _succeeded(request, spec, done)
    referral = referral_for_user(user=request.user, reference=reference)
    # Every form on the page carries a token; a post without one (a script, a page older
    # than the tokens) acts without the resend protection, a mangled one not at all.
    if token and not services.action_token_is_valid(token):
        messages.error(request, FORM_OUT_OF_DATE)
        return redirect(referral)
    form = _action_form(action, referral, request.POST)
    if not form.is_valid():
        return _refused(request, referral, action, form)
    try:
        referral = spec.perform(
            referral, request.user, {**form.cleaned_data, "action_token": token or None}
        )
    except ValidationError as error:
        if not referrals_still_visible(request.user, referral):
            # Moved out of the user's queue while they were acting (the service said so).
            for message in error.messages:
                messages.error(request, message)
            return redirect("referrals:queue")
        return _refused(request, referral, action, form, error)
    return _succeeded(request, spec, referral)


def _succeeded(request, spec, referral):
    message = spec.done(referral)
    if referrals_still_visible(request.user, referral):
        messages.success(request, message)
        return redirect(referral)
    messages.success(request, f"{message} {LEFT_YOUR_QUEUE}")
    return redirect("referrals:queue")


def _refused(request, referral, action, form, error: ValidationError | None = None):
    """Go back to the referral's page, keeping the refused form for that one GET.

    What the service refused about one field (`error.message_dict`) is shown on that
    field; what concerns the whole referral (its status, its scope) at the top.
    """
    field_errors = {}
    if error is not None:
        by_field = error.message_dict if hasattr(error, "error_dict") else {}
        for field, field_messages in by_field.items():
            if field in form.fields:
                field_errors[field] = field_messages
            else:
                for message in field_messages:
                    messages.error(request, message)
        if not hasattr(error, "error_dict"):
            for message in error.messages:
                messages.error(request, message)
    if not form.is_valid() or field_errors:
        messages.error(request, NOT_SAVED)
    request.session[REFUSED_SESSION_KEY] = {
        "reference": referral.reference,
        "action": action,
        "data": {
            key: request.POST.getlist(key)
            for key in request.POST
            if key not in ("csrfmiddlewaretoken", "action_token")
        },
        "errors": field_errors,
    }
    # No "#fragment": the page's script takes the reader to the field (a fragment would
    # move focus away from it once the page has loaded).
    return redirect(referral)


def _refused_form(request, referral):
    """The action form refused just before this GET, with its answers and errors, if any.

    Kept in the session for one page view only: reloading shows the page fresh, and no
    address ever points at an action (a reload never asks to send a form again).
    """
    kept = request.session.pop(REFUSED_SESSION_KEY, None)
    if not kept or kept.get("reference") != referral.reference:
        return None
    action = kept.get("action")
    if action not in ACTIONS:
        return None
    data = QueryDict(mutable=True)
    for key, values in kept.get("data", {}).items():
        data.setlist(key, values)
    form = _action_form(action, referral, data)
    form.is_valid()
    for field, field_messages in kept.get("errors", {}).items():
        for message in field_messages:
            if field in form.fields and message not in form.errors.get(field, []):
                form.add_error(field, message)
    return action, form


def referrals_still_visible(user, referral) -> bool:
    """After a transfer a specialist may no longer see the referral."""
    return referrals_visible_to(user).filter(pk=referral.pk).exists()
