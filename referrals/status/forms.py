"""The follow-up form of the status page: a message, and a one-time token against double sends."""

import uuid

from django import forms
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError

from referrals.models import StatusLink
from referrals.status_links import (
    FOLLOW_UP_MAX,
    FOLLOW_UP_MIN,
    FOLLOW_UP_TOO_SHORT,
    clean_follow_up,
)

TOKEN_SALT = "referrals.status.follow-up"
TOKEN_EXPIRED = (
    "This page was open for a long time, so your message was not sent yet. It is kept "
    "below: check it and send it again."
)
TOKEN_INVALID = "This form could not be verified. Your message is kept below: send it again."


def _salt(link: StatusLink) -> str:
    # Bound to the link: a token copied from one status page is refused on another.
    return f"{TOKEN_SALT}:{link.pk}"


def new_follow_up_token(link: StatusLink) -> str:
    return signing.dumps(uuid.uuid4().hex, salt=_salt(link))


class FollowUpForm(forms.Form):
    message = forms.CharField(
        label="Your message",
        strip=False,  # clean_follow_up cleans the text as the referral form's is cleaned
        # No maxlength: a browser would cut a pasted message at the limit without a word.
        widget=forms.Textarea(attrs={"rows": 5, "class": "form-control"}),
        help_text=(
            f"{FOLLOW_UP_MIN} to {FOLLOW_UP_MAX:,} characters: what has changed, such as "
            "the child running again, a move, or a new phone number. Use initials, never "
            "the child's full name."
        ),
        error_messages={"required": FOLLOW_UP_TOO_SHORT},
    )
    form_token = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, link: StatusLink, **kwargs):
        self.link = link
        kwargs.setdefault("initial", {"form_token": new_follow_up_token(link)})
        super().__init__(*args, **kwargs)

    def clean_message(self) -> str:
        return clean_follow_up(self.cleaned_data["message"])

    def clean_form_token(self) -> str:
        """The token's own value (a uuid), which the follow-up event keeps."""
        max_age = settings.RST_FORM_TOKEN_MAX_AGE_HOURS * 3600
        try:
            return signing.loads(
                self.cleaned_data["form_token"], salt=_salt(self.link), max_age=max_age
            )
        except signing.SignatureExpired:
            raise ValidationError(TOKEN_EXPIRED, code="token_expired") from None
        except signing.BadSignature:
            raise ValidationError(TOKEN_INVALID, code="token_invalid") from None

    def with_fresh_token(self) -> "FollowUpForm":
        """The same message with a new token, for a form whose token was refused."""
        data = self.data.copy()
        data["form_token"] = new_follow_up_token(self.link)
        form = FollowUpForm(data, link=self.link)
        form.is_valid()
        for message in self.errors.get("form_token", []):
            form.add_error(None, message)
        return form
