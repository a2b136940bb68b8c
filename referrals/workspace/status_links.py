"""Revoke the referrer's status links, or e-mail them a new one (referrals/status_links.py)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from referrals import services, status_links
from referrals.selectors import referral_for_user

from .views import _require_role

CHANGES = {
    "revoke": (
        status_links.status_links_revoke,
        "Status links revoked: the referrer's links no longer work.",
    ),
    "send": (
        status_links.status_link_reissue,
        "A new status link is on its way to the referrer's e-mail.",
    ),
}
FORM_EXPIRED = "This form could not be used. Reload the page and try again."


class StatusLinkChangeForm(forms.Form):
    """The panel's buttons carry a one-time token, like every action form: a double click
    acts once."""

    action_token = forms.CharField(widget=forms.HiddenInput)

    def clean_action_token(self) -> str:
        token = self.cleaned_data["action_token"]
        if not services.action_token_is_valid(token):
            raise forms.ValidationError(FORM_EXPIRED)
        return token


@login_required
@require_POST
def change(request, reference, change):
    """Apply `change` to the referral's links; posting the same form again lands on the same
    success. A referral out of the user's queue answers 404, like every action."""
    _require_role(request.user)
    if change not in CHANGES:
        raise Http404("No such change.")
    referral = referral_for_user(user=request.user, reference=reference)
    service, done = CHANGES[change]
    form = StatusLinkChangeForm(request.POST)
    if not form.is_valid():
        messages.error(request, FORM_EXPIRED)
        return redirect(referral)
    try:
        service(
            referral=referral, actor=request.user, action_token=form.cleaned_data["action_token"]
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, done)
    return redirect(referral)
