"""Public intake: the referral form and its confirmation page."""

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_ratelimit.core import is_ratelimited

from .forms import ReferralForm, new_form_token
from .models import Referral
from .services import referral_create

logger = logging.getLogger(__name__)

SESSION_KEY = "rst_submitted_references"
RATE_LIMITED = (
    "We have received many referrals from your network in a short time. Your answers are "
    "kept below: please wait a few minutes and submit again, or e-mail or call your "
    "regional Resource Specialist."
)
ALREADY_SUBMITTED_TEMPLATE = "referrals/already_submitted.html"


@never_cache
@require_http_methods(["GET", "POST"])
def refer(request):
    """Show the referral form (GET) or submit it (POST)."""
    if request.method == "GET":
        form = ReferralForm(initial={"submission_token": new_form_token()})
        return render(request, "referrals/refer.html", {"form": form})

    form = ReferralForm(request.POST)
    limited = settings.RATELIMIT_ENABLE and is_ratelimited(
        request,
        group="referrals.submit",
        key="ip",
        rate=settings.RST_REFERRAL_RATE_LIMIT,
        method="POST",
        increment=True,
    )
    if limited:
        return _form_again(request, form, status=429, error=RATE_LIMITED)

    if form.is_bot:
        # Silently: a bot learns nothing; no referral is created.
        logger.warning("Referral form honeypot filled; submission dropped.")
        return render(request, "referrals/received.html")

    if not form.is_valid():
        return _form_again(request, form, status=400)

    try:
        referral, created = referral_create(
            submission_token=form.token_id,
            services=form.cleaned_data["services"],
            **form.referral_details(),
        )
    except ValidationError as error:
        # The model's own rules, should the form ever let something through.
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
        return _form_again(request, form, status=400)
    submitted = request.session.get(SESSION_KEY, [])
    if not created and referral.reference not in submitted:
        # A token replayed from somewhere else: say so, reveal nothing.
        return render(request, ALREADY_SUBMITTED_TEMPLATE, status=409)
    if created:
        logger.info("Referral %s submitted and routed.", referral.reference)
        request.session[SESSION_KEY] = (submitted + [referral.reference])[-20:]
    return redirect("referrals:submitted", reference=referral.reference)


def _form_again(request, form, *, status, error=None):
    """Re-render with the user's answers; an expired or forged token gets a fresh one."""
    token_errors = form.errors.get("submission_token")
    if token_errors:
        data = form.data.copy()
        data["submission_token"] = new_form_token()
        form = ReferralForm(data)
        form.is_valid()
        for message in token_errors:
            form.add_error(None, message)
    if error:
        form.add_error(None, error)
    return render(request, "referrals/refer.html", {"form": form}, status=status)


@never_cache
def submitted(request, reference):
    """The confirmation page: only the browser session that submitted can open it."""
    if reference not in request.session.get(SESSION_KEY, []):
        raise Http404("No such referral in this browser session.")
    referral = get_object_or_404(
        Referral.objects.select_related("region", "assigned_specialist", "jurisdiction"),
        reference=reference,
    )
    return render(request, "referrals/submitted.html", {"referral": referral})
