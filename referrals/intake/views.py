"""Public intake: the referral form and its confirmation page.

Whatever goes wrong after someone presses "Send referral", the page comes back with
every answer they typed and says plainly whether anything was saved.
"""

import logging
import traceback
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import AnonymousUser
from django.core.cache import caches
from django.db import DatabaseError
from django.http import Http404
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_ratelimit.core import is_ratelimited

from referrals.deadlines import after_hours
from referrals.models import Referral
from referrals.services import referral_create
from referrals.status_links import status_link_mint

from .forms import ReferralForm, browser_tag, jurisdiction_zone, new_form_token, public_choices

logger = logging.getLogger(__name__)

SESSION_KEY = "rst_submitted_references"
# reference → this browser's status link for it (referrals/status_links.py).
STATUS_LINKS_KEY = "rst_status_links"
RECENT_KEY = "rst_recent_submissions"
RATE_LIMITED = (
    "We have received many referrals from your network in a short time. Your answers are "
    "kept below: please wait a few minutes and send again, or e-mail or call your "
    "regional Resource Specialist."
)
FILES_REFUSED = (
    "This form does not take files or attachments, and nothing was saved. Your answers "
    "are kept below: send the form without files. Your specialist will tell you how to "
    "share documents safely."
)
ALREADY_SENT = (
    "You already sent a referral with these answers at {time} ({reference}), so it was "
    "not sent again. If this is about a different child, start a new form and change "
    "the answers that differ."
)
ALREADY_SUBMITTED_TEMPLATE = "referrals/intake/already_submitted.html"


class Notice:
    """Why a form came back unsaved, and how to reach RST in the meantime."""

    def __init__(self, title: str, text: str):
        self.title, self.text = title, text
        self.email = settings.RST_TEAM_EMAIL
        self.phone = settings.RST_TEAM_PHONE
        self.phone_link = "+1" + "".join(c for c in self.phone if c.isdigit())[-10:]


DATABASE_DOWN = (
    "Your referral was not sent",
    "Our system is not answering right now, so nothing was saved. Your answers are kept "
    "below: please try again in a few minutes.",
)
UNEXPECTED_ERROR = (
    "Your referral was not sent",
    "Something went wrong on our side, so nothing was saved. Your answers are kept "
    "below: please try again.",
)


@never_cache
@require_http_methods(["GET", "POST"])
def refer(request):
    """Show the referral form (GET) or send it (POST)."""
    try:
        if request.method == "GET":
            return _blank_form(request)
        return _submit(request)
    except DatabaseError as error:
        _log_failure("the database is unavailable", error)
        return _form_kept(request, status=503, notice=Notice(*DATABASE_DOWN))
    except Exception as error:  # noqa: BLE001 - whatever it is, the answers are kept
        _log_failure("an unexpected error", error)
        return _form_kept(request, status=500, notice=Notice(*UNEXPECTED_ERROR))


def _blank_form(request):
    get_token(request)  # sets the browser's CSRF secret, which the form token is bound to
    initial = {"submission_token": new_form_token(browser=_browser(request))}
    code = request.GET.get("jurisdiction", "").strip().upper()
    if code and code in {value for value, _ in public_choices()["jurisdiction"]}:
        initial["jurisdiction"] = code
    else:
        code = ""
    form = ReferralForm(initial=initial)
    context = {
        "form": form,
        "blank_fields": _blank_fields(form, jurisdiction=code),
        **_office_status(jurisdiction=code),
    }
    return render(request, "referrals/intake/refer.html", context)


def _office_status(*, jurisdiction: str) -> dict:
    """Whether the office is closed right now and, if so, when a referral's clock would start,
    shown in the chosen jurisdiction's zone (the office's until one is chosen).

    Worked out for each request, outside the cached fields: it depends on the moment.
    """
    return {
        "after_hours": after_hours(timezone.now()),
        "zone": jurisdiction_zone(jurisdiction),
    }


def _blank_fields(form, *, jurisdiction: str):
    """The blank form's fields, rendered once per process and release.

    They hold no per-visitor value (the CSRF and submission tokens sit outside them) and
    nothing that depends on the moment (the office-closed notice sits outside them too),
    and the cache is process-local memory, so the form never depends on Redis. The help
    texts come from settings, which change only with a restart (an empty cache).
    """
    local = caches["local"]
    key = f"rst_blank_referral_fields:{settings.RST_RELEASE}:{jurisdiction}"
    html = local.get(key)
    if html is None:
        html = render_to_string("referrals/intake/referral_fields.html", {"form": form})
        local.set(key, html, settings.RST_BLANK_FORM_CACHE_SECONDS)
    return mark_safe(html)  # noqa: S308 - our own template's output


def _submit(request):
    if request.FILES:
        form = ReferralForm(request.POST)
        form.is_valid()
        return _form_again(request, form, status=400, error=FILES_REFUSED)
    form = ReferralForm(request.POST)
    if _rate_limited(request):
        return _form_again(request, form, status=429, error=RATE_LIMITED)

    if form.is_bot:
        # Silently: a bot learns nothing; no referral is created.
        logger.warning("Referral form honeypot filled; submission dropped.")
        return render(request, "referrals/intake/received.html")

    if not form.is_valid():
        return _form_again(request, form, status=400)

    fingerprint = form.answers_fingerprint()
    zone = form.cleaned_data["jurisdiction"].zone
    earlier = _recent_with_same_answers(request, fingerprint, zone=zone)
    if earlier is not None:
        if earlier["token"] != form.token_id:  # not a double click: the Back button
            messages.info(request, ALREADY_SENT.format(**earlier))
        return redirect("referrals:submitted", reference=earlier["reference"])

    referral, created = referral_create(submission_token=form.token_id, **form.referral_details())
    submitted = request.session.get(SESSION_KEY, [])
    same_browser = bool(form.token_browser) and form.token_browser == _browser(request)
    if not created and referral.reference not in submitted and not same_browser:
        # A token replayed from another browser: say so, reveal nothing.
        return render(request, ALREADY_SUBMITTED_TEMPLATE, status=409)
    if created:
        logger.info("Referral %s submitted and routed.", referral.reference)
        _remember_status_link(request, referral)
    _remember(request, referral, fingerprint, token=form.token_id)
    return redirect("referrals:submitted", reference=referral.reference)


def _browser(request) -> str:
    return browser_tag(request.META.get("CSRF_COOKIE", ""))


def _rate_limited(request) -> bool:
    """Count this submission; with the counter's cache down, accept it (and say so in the log).

    A lost referral about a missing child is worse than a missing rate limit.
    """
    if not settings.RATELIMIT_ENABLE:
        return False
    try:
        return is_ratelimited(
            request,
            group="referrals.submit",
            key="ip",
            rate=settings.RST_REFERRAL_RATE_LIMIT,
            method="POST",
            increment=True,
        )
    except Exception as error:  # noqa: BLE001 - any cache failure fails open
        _log_failure("the rate limit could not be checked (accepted without it)", error)
        return False


def _recent_with_same_answers(request, fingerprint: str, *, zone) -> dict | None:
    """The referral this browser sent with the same answers a short while ago, if any
    (its time in `zone`, the case's)."""
    since = timezone.now() - timedelta(minutes=settings.RST_RESUBMIT_WINDOW_MINUTES)
    for entry in reversed(request.session.get(RECENT_KEY, [])):
        at = parse_datetime(entry["at"])
        if entry["answers"] == fingerprint and at and at >= since:
            local = at.astimezone(zone)
            time = f"{local:%-I:%M %p} {local.tzname()}"
            return {"reference": entry["reference"], "time": time, "token": entry["token"]}
    return None


def _remember(request, referral: Referral, fingerprint: str, *, token: str) -> None:
    """Let this browser session open the confirmation, and notice the same answers again."""
    submitted = request.session.get(SESSION_KEY, [])
    if referral.reference not in submitted:
        request.session[SESSION_KEY] = (submitted + [referral.reference])[-20:]
    recent = [e for e in request.session.get(RECENT_KEY, []) if e["answers"] != fingerprint]
    recent.append(
        {
            "reference": referral.reference,
            "answers": fingerprint,
            "token": token,
            "at": timezone.now().isoformat(),
        }
    )
    request.session[RECENT_KEY] = recent[-5:]


def _form_again(request, form, *, status, error=None):
    """Re-render with the user's answers; an expired or forged token gets a fresh one."""
    token_errors = form.errors.get("submission_token")
    if token_errors:
        data = form.data.copy()
        data["submission_token"] = new_form_token(browser=_browser(request))
        form = ReferralForm(data)
        form.is_valid()
        for message in token_errors:
            form.add_error(None, message)
    if error:
        form.add_error(None, error)
    context = {"form": form, **_office_status(jurisdiction=form.data.get("jurisdiction", ""))}
    return render(request, "referrals/intake/refer.html", context, status=status)


def _form_kept(request, *, status, notice):
    """The form with every answer as sent, checked against nothing: nothing was saved.

    Nothing here may touch the database: the user and the messages come from the
    session, which lives there, so the page does without them.
    """
    form = ReferralForm(request.POST)
    form.keep_answers_without_checking()
    context = {
        "form": form,
        "notice": notice,
        "user": AnonymousUser(),
        "messages": [],
        **_office_status(jurisdiction=form.data.get("jurisdiction", "")),
    }
    return render(request, "referrals/intake/refer.html", context, status=status)


def _log_failure(what: str, error: BaseException) -> None:
    """Log where it failed without the exception's text, which may quote the answers."""
    frame = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
    where = f"{frame.filename}:{frame.lineno}" if frame else "?"
    logger.error("Referral form: %s: %s at %s", what, type(error).__name__, where)


def _remember_status_link(request, referral: Referral) -> None:
    """Mint the referral's status link for this browser's confirmation page.

    Its token is kept in this browser's session only (the receipt e-mail carries a link
    of its own). If it cannot be made, the page shows none: the referral is saved.
    """
    try:
        link, token = status_link_mint(referral=referral)
    except DatabaseError as error:
        _log_failure("the status link could not be made (the page shows none)", error)
        return
    links = request.session.get(STATUS_LINKS_KEY, {})
    links[referral.reference] = {"token": token, "expires_at": link.expires_at.isoformat()}
    request.session[STATUS_LINKS_KEY] = dict(list(links.items())[-20:])


def _status_link(request, reference: str) -> dict | None:
    """The status link this browser was given for `reference` (no query), if any.

    Shown once: taken out of the session as it is shown, so the token does not stay in the
    session store (the database) for as long as the session row does. A reload says where
    the link is instead (the receipt e-mail).
    """
    links = request.session.get(STATUS_LINKS_KEY, {})
    link = links.pop(reference, None)
    if not link:
        return None
    request.session[STATUS_LINKS_KEY] = links
    path = reverse("referrals:status", kwargs={"token": link["token"]})
    return {
        "url": request.build_absolute_uri(path),
        "expires_at": parse_datetime(link["expires_at"]),
    }


@never_cache
def submitted(request, reference):
    """The confirmation page: only the browser session that submitted can open it."""
    if reference not in request.session.get(SESSION_KEY, []):
        raise Http404("No such referral in this browser session.")
    referral = get_object_or_404(
        Referral.objects.select_related(
            "region", "assigned_specialist", "jurisdiction"
        ).with_receipt_status(),
        reference=reference,
    )
    context = {"referral": referral, "status_link": _status_link(request, reference)}
    return render(request, "referrals/intake/submitted.html", context)
