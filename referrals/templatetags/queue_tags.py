"""Template filters for the queue: the short words a row has room for."""

import re

from django import template

from referrals.models import Referral, Service

register = template.Library()

# The catalogue's services (fixtures/services.json, by number) in a word or three: the
# queue shows every service a referral asks for on one line. The full name is on the
# referral's page and in the label's title.
SERVICE_SHORT_LABELS = {
    1: "Promising practices",
    2: "Recovery plan",
    3: "Connect to organizations",
    4: "Resources and support",
    5: "Training and protocols",
    6: "Multidisciplinary support",
}
# A service outside that list is named by the start of its name, up to the first of
# these words ("Peer support for caregivers" → "Peer support").
_LINKING_WORDS = re.compile(r"\s+(?:in|on|with|for|to|that|of|developing)\s", re.IGNORECASE)

CHILD_STATUS_SHORT = {
    Referral.ChildStatus.MISSING: "Missing",
    Referral.ChildStatus.RECOVERED: "Recovered",
    Referral.ChildStatus.AT_RISK: "At risk",
}


@register.filter
def short_label(service: Service) -> str:
    """A service's name in a few words, for the queue's rows."""
    if service.number in SERVICE_SHORT_LABELS:
        return SERVICE_SHORT_LABELS[service.number]
    head = _LINKING_WORDS.split(service.name, maxsplit=1)[0]
    words = head.rstrip(",.;:").split()
    return " ".join(words[:3])


@register.filter
def child_status_short(status: str) -> str:
    """ "Missing", "Recovered", "At risk": the child's status in a word or two."""
    return CHILD_STATUS_SHORT.get(status, "")
