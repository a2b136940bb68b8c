"""The referrer's status page: where their referral stands, and follow-up messages.

Anyone with the link's token may open it, so it shows no case details (the child, the
summary, notes, the referrer) and is kept out of caches, search engines and Referer
headers. A link that does not work (unknown, mistyped, expired, revoked, or the
referral redacted) answers a friendly page with the team's contacts, never an error.

Referrer-Policy: `no-referrer` on every page without a form. The page with the follow-up
form sends `strict-origin` instead: under `no-referrer` browsers send `Origin: null`
with the form's POST, which CSRF protection rightly refuses; `strict-origin` still
sends no path (so never the token) in any Referer, to this site or another.
"""

import logging

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import DatabaseError
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_ratelimit.core import is_ratelimited

from referrals import status_links
from referrals.status_links import LinkState

from .forms import FollowUpForm

logger = logging.getLogger(__name__)

PAGE_TEMPLATE = "referrals/status/page.html"
UNAVAILABLE_TEMPLATE = "referrals/status/unavailable.html"

TOO_MANY_FOLLOW_UPS = (
    "You have sent several messages through this page in a short time, so this one was "
    "not sent yet. It is kept below: please wait a while and send it again, or e-mail or "
    "call your Resource Specialist."
)
SENT_TO_SPECIALIST = "Thank you. Your message was sent to {name}, your Resource Specialist."
SENT_TO_TEAM = "Thank you. Your message was sent to the RST supervisor."
SENT_ALREADY = "This message was already sent; it was not sent twice."

# Why a link's page cannot be shown: (HTTP status, heading, explanation).
UNAVAILABLE = {
    LinkState.UNKNOWN: (
        404,
        "This link does not work",
        "Check that you opened or copied the whole address from the e-mail. If it still "
        "does not work, contact the Recovery Services Team.",
    ),
    LinkState.EXPIRED: (
        410,
        "This link has expired",
        "Status links work for {days} days. Contact your Resource Specialist or the "
        "Recovery Services Team for a new one.",
    ),
    LinkState.REVOKED: (
        410,
        "This link was withdrawn",
        "For your security it no longer works. Your Resource Specialist can send you a "
        "new one; contact them or the Recovery Services Team.",
    ),
    LinkState.REDACTED: (
        410,
        "This referral's page is no longer available",
        "Its details were removed after the retention period. Contact the Recovery "
        "Services Team if you need to talk about it.",
    ),
    "too_many": (
        429,
        "Please wait a few minutes",
        "This page was opened many times from your network in a short time. Try again "
        "in a few minutes, or contact the Recovery Services Team.",
    ),
    "down": (
        503,
        "This page is not available right now",
        "Our system is not answering. Please try again in a few minutes, or contact the "
        "Recovery Services Team.",
    ),
}


@never_cache
@require_http_methods(["GET", "POST"])
def status_page(request, token):
    """Show the referral's status (GET) or send a follow-up (POST)."""
    try:
        if _rate_limited(request, group="referrals.status.page", key="ip", rate=_page_rate()):
            return _unavailable(request, "too_many")
        link = status_links.status_link_find(token=token)
        state = status_links.status_link_state(link)
        if state != LinkState.USABLE:
            return _unavailable(request, state)
        if request.method == "POST":
            return _follow_up(request, link)
        status_links.status_link_touch(link=link)
        return _page(request, link, FollowUpForm(link=link))
    except DatabaseError as error:
        logger.error("Status page: the database is unavailable (%s).", type(error).__name__)
        return _unavailable(request, "down")


def _page_rate() -> str:
    return settings.RST_STATUS_PAGE_RATE_LIMIT


def _follow_up(request, link):
    form = FollowUpForm(request.POST, link=link)
    if not form.is_valid():
        if "form_token" in form.errors:
            form = form.with_fresh_token()
        return _page(request, link, form, status=400)
    action_token = form.cleaned_data["form_token"]
    if status_links.follow_up_already_sent(link=link, action_token=action_token):
        messages.info(request, SENT_ALREADY)  # a double click: the first one went
        return _back_to_page(request)
    if _rate_limited(
        request,
        group="referrals.status.follow_up",
        key=lambda group, request: link.token_hash,
        rate=settings.RST_FOLLOW_UP_RATE_LIMIT,
    ):
        form.add_error(None, TOO_MANY_FOLLOW_UPS)
        return _page(request, link, form, status=429)
    try:
        _event, created = status_links.status_link_follow_up(
            link=link, text=form.cleaned_data["message"], action_token=action_token
        )
    except ValidationError as error:
        if error.code == "link_not_usable":  # revoked while the page was open
            return _unavailable(request, LinkState.REVOKED)
        for message in error.messages:
            form.add_error(None, message)
        return _page(request, link, form, status=400)
    referral = link.referral
    if not created:
        messages.info(request, SENT_ALREADY)
    elif referral.is_open and referral.assigned_specialist:
        messages.success(request, SENT_TO_SPECIALIST.format(name=referral.assigned_specialist.name))
    else:
        messages.success(request, SENT_TO_TEAM)
    return _back_to_page(request)


def _rate_limited(request, *, group: str, key, rate: str) -> bool:
    """Count this request; with the counter's cache down, let it through (and log it)."""
    if not settings.RATELIMIT_ENABLE:
        return False
    try:
        return is_ratelimited(request, group=group, key=key, rate=rate, increment=True)
    except Exception as error:  # noqa: BLE001 - a cache outage must not hide a referral's news
        logger.error("Status page: rate limit not checked (%s).", type(error).__name__)
        return False


def _back_to_page(request):
    # The same address (Post/Redirect/Get): a reload does not send the message again.
    return _private(redirect(request.path), form=False)


def _page(request, link, form, *, status=200):
    referral = link.referral
    context = {
        "referral": referral,
        "link": link,
        "status": status_links.referrer_status(referral),
        "zone": referral.jurisdiction.zone,
        "follow_up_times": status_links.follow_up_times(referral=referral),
        "form": form,
        "team": _team(),
    }
    return _private(render(request, PAGE_TEMPLATE, context, status=status), form=True)


def _unavailable(request, reason: str):
    status, title, text = UNAVAILABLE[reason]
    context = {
        "title": title,
        "text": text.format(days=settings.RST_STATUS_LINK_DAYS),
        "team": _team(),
        # No user, messages or session: the page must render with the database down.
        "user": None,
        "messages": [],
    }
    return _private(render(request, UNAVAILABLE_TEMPLATE, context, status=status), form=False)


def _team() -> dict:
    phone = settings.RST_TEAM_PHONE
    return {
        "email": settings.RST_TEAM_EMAIL,
        "phone": phone,
        "phone_link": "+1" + "".join(c for c in phone if c.isdigit())[-10:],
    }


def _private(response, *, form: bool):
    """Keep the page out of search engines and the token out of any Referer."""
    response["X-Robots-Tag"] = "noindex, nofollow, noarchive"
    response["Referrer-Policy"] = "strict-origin" if form else "no-referrer"
    return response
