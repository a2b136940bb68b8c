"""Template tags for referral pages: the status badge and the first-contact promise."""

from django import template
from django.utils.html import format_html

from referrals.deadlines import first_contact_promise as promise
from referrals.models import Referral

register = template.Library()

# One colour per status, for every page that shows one.
STATUS_STYLES = {
    Referral.Status.NEW: "text-bg-primary",
    Referral.Status.ACKNOWLEDGED: "text-bg-info",
    Referral.Status.IN_PROGRESS: "text-bg-warning",
    Referral.Status.CLOSED: "text-bg-secondary",
}


@register.simple_tag
def status_badge(status: str, count=None):
    """A status as a badge, optionally with a count ("New 3")."""
    label = Referral.Status(status).label
    text = f"{label} {count}" if count is not None else label
    return format_html('<span class="badge {}">{}</span>', STATUS_STYLES[status], text)


@register.simple_tag
def first_contact_promise(urgency: str = "routine"):
    """ "within 24 hours": built from the same settings as the deadline itself."""
    return promise(urgency)
