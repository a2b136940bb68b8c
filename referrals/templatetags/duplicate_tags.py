"""The possible-duplicates panel of a referral's staff page (referrals/duplicates.py)."""

from django import template

from referrals.duplicates import duplicates_of_referral

register = template.Library()


@register.inclusion_tag("referrals/workspace/partials/duplicates_panel.html", takes_context=True)
def duplicates_panel(context, referral):
    """The referral's possible duplicates that the reader may see both sides of, with the
    confirm and dismiss buttons they may use. Nothing when there are none."""
    # referral_for_user says whether any pair names the referral: no query without one.
    if not getattr(referral, "has_duplicate_flags", True):
        return {"referral": referral, "entries": []}
    return {
        "referral": referral,
        "entries": duplicates_of_referral(referral=referral, user=context["request"].user),
    }
