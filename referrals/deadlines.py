"""When first contact is due, and how the pages promise it: both from the same settings."""

from django.conf import settings

URGENT = "urgent"


def first_contact_hours(urgency: str) -> int:
    """Hours from submission to the first-contact deadline (RST_*_FIRST_CONTACT_HOURS)."""
    if urgency == URGENT:
        return settings.RST_URGENT_FIRST_CONTACT_HOURS
    return settings.RST_FIRST_CONTACT_HOURS


def first_contact_promise(urgency: str) -> str:
    """The promise as the pages word it, e.g. "within 4 hours"."""
    hours = first_contact_hours(urgency)
    return f"within {hours} hour{'s' if hours != 1 else ''}"
