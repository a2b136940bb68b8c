"""Confirm or dismiss a possible duplicate from a referral's page (referrals/duplicates.py)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from referrals import duplicates
from referrals.selectors import referral_for_user

from .views import _require_role, referrals_still_visible

DECISIONS = {
    "confirm": (
        duplicates.duplicate_confirm,
        "{newer} is closed as a duplicate of {older}.",
    ),
    "dismiss": (
        duplicates.duplicate_dismiss,
        "Not a duplicate: {newer} and {older} will not be flagged again.",
    ),
}


@login_required
@require_POST
def resolve(request, reference, pk, decision):
    """Confirm or dismiss the pair `pk` of the referral `reference`.

    Both referrals must be the user's to see (404 otherwise, as for any referral out of
    their queue). Posting again after it worked lands on the same success.
    """
    _require_role(request.user)
    if decision not in DECISIONS:
        raise Http404("No such decision.")
    referral = referral_for_user(user=request.user, reference=reference)
    flag = duplicates.duplicate_for_user(user=request.user, referral=referral, pk=pk)
    if flag is None:
        raise Http404("No such possible duplicate in your queue.")
    service, done = DECISIONS[decision]
    try:
        flag = service(flag=flag, actor=request.user)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(
            request,
            done.format(newer=flag.referral.reference, older=flag.duplicate_of.reference),
        )
    if not referrals_still_visible(request.user, referral):
        return redirect("referrals:queue")
    return redirect(referral)
