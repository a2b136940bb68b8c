"""Template tags for referral pages: the status badge, the first-contact promise, times in
the reader's zone and what to say when the office is closed."""

from datetime import datetime, tzinfo

from django import template
from django.utils.html import format_html

from referrals import deadlines
from referrals.models import Referral

register = template.Library()

# One colour per status, for every page that shows one.
STATUS_STYLES = {
    Referral.Status.NEW: "text-bg-primary",
    Referral.Status.ACKNOWLEDGED: "text-bg-info",
    Referral.Status.IN_PROGRESS: "text-bg-warning",
    Referral.Status.CLOSED: "text-bg-secondary",
}

# NCMEC's 24-hour hotline: for a child in immediate danger, with 911, whenever RST is closed.
NCMEC_HOTLINE = "1-800-THE-LOST (1-800-843-5678)"
NCMEC_HOTLINE_TEL = "+18008435678"


@register.simple_tag
def status_badge(status: str, count=None):
    """A status as a badge, optionally with a count ("New 3")."""
    label = Referral.Status(status).label
    text = f"{label} {count}" if count is not None else label
    return format_html('<span class="badge {}">{}</span>', STATUS_STYLES[status], text)


@register.simple_tag
def first_contact_promise(urgency: str = "routine"):
    """ "within one business day": built from the same settings as the deadline itself."""
    return deadlines.first_contact_promise(urgency)


@register.simple_tag
def office_hours():
    """ "9:00 AM to 5:00 PM EST, Monday to Friday, except federal holidays"."""
    return deadlines.office_hours_text()


@register.simple_tag
def after_hours(at: datetime):
    """When the clock starts for a referral sent at `at` (deadlines.AfterHours), or None
    if the office was open then: `{% after_hours referral.submitted_at as closed %}`."""
    return deadlines.after_hours(at)


@register.filter
def local_time(at: datetime | None, zone: tzinfo | None = None) -> str:
    """`at` in the reader's zone with its abbreviation: "Friday 27 November at 5:00 PM CST"."""
    if at is None:
        return ""
    return deadlines.local_time_text(at, zone=zone)


@register.simple_tag
def ncmec_hotline():
    return NCMEC_HOTLINE


@register.inclusion_tag("referrals/intake/emergency.html")
def emergency_line(*, in_alert: bool = False):
    """What to do for a child in immediate danger: 911 and NCMEC's 24-hour hotline.

    `in_alert`: the line sits in a Bootstrap alert, whose tinted background needs the
    alert's own (darker) link colour for enough contrast."""
    return {"hotline": NCMEC_HOTLINE, "hotline_tel": NCMEC_HOTLINE_TEL, "in_alert": in_alert}
