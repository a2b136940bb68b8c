"""Template filters for the queue: the short words a row has room for."""

import re
from dataclasses import dataclass

from django import template
from django.template.defaultfilters import date as date_filter
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.timezone import template_localtime

from referrals.models import Referral, Service
from referrals.templatetags.referral_tags import status_badge

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


# A row's pieces, each worked out once: the page shows every row twice (a table row on
# wide screens, a card on narrow ones), and template includes and filters per use cost
# more than the rest of the page together.
_DUE_FORMAT = "M j, g:i A T"
_CLOSED_FORMAT = "M j, Y g:i A T"
_URGENT = mark_safe('<span class="badge text-bg-warning">Urgent</span>')
_ROUTINE = mark_safe('<span class="small">Routine</span>')
_NEW_INFORMATION = mark_safe('<span class="badge text-bg-info">New information</span>')
_TIME_AT = '<span class="rst-time-at small text-body-secondary text-nowrap">{}</span>'


def _when(at, fmt) -> str:
    return date_filter(template_localtime(at), fmt)


def _first_contact(referral) -> str:
    """Time left or overdue by (business time), or when contact was made; with its zone."""
    if referral.awaits_first_contact:
        state = ""
        if referral.overdue:
            state = " rst-time-overdue"
        elif referral.due_soon:
            state = " rst-time-soon"
        return format_html(
            '\n<span class="rst-time-left{}">{}</span>\n' + _TIME_AT + "\n\n",
            state,
            referral.time_left,
            "due " + _when(referral.first_contact_due_at, _DUE_FORMAT),
        )
    if referral.is_open:
        at = referral.first_contacted_at
        word, when = "contacted", _when(at, _DUE_FORMAT) if at else ""
    else:
        at = referral.closed_at
        word, when = "closed", _when(at, _CLOSED_FORMAT) if at else ""
    return format_html(
        '\n<span class="rst-time-left">{}</span>\n{}\n\n',
        word,
        format_html(_TIME_AT, when) if at else "",
    )


def _flags(referral) -> str:
    """What the specialist needs to notice beside the reference. `possible_duplicate`: the
    other referral's reference (referrals/duplicates.py annotates it; none without)."""
    duplicate = getattr(referral, "possible_duplicate", None)
    return format_html(
        "\n{}\n{}\n",
        _NEW_INFORMATION if referral.has_new_information else "",
        format_html(
            '<span class="badge rst-badge-duplicate">Possible duplicate'
            '<span class="fw-normal"> of {}</span></span>',
            duplicate,
        )
        if duplicate
        else "",
    )


def _child(referral) -> str:
    text = child_status_short(referral.child_status) or "Unknown"
    if referral.child_age is not None:
        text = f"{text}, age {referral.child_age}"
    return conditional_escape(text) + mark_safe("\n")


def _services(referral) -> str:
    return format_html(
        '<ul class="rst-services list-unstyled mb-0" aria-label="Services asked for">{}</ul>\n',
        format_html_join(
            "",
            '<li><span class="badge rst-badge-topic" title="{}">{}</span></li>',
            ((service.name, short_label(service)) for service in referral.services.all()),
        ),
    )


@dataclass(frozen=True)
class QueueRow:
    referral: Referral
    url: str
    status: str
    urgency: str
    first_contact: str
    flags: str
    child: str
    services: str


@register.simple_tag
def queue_rows(referrals) -> list[QueueRow]:
    """`{% queue_rows page.object_list as rows %}`: each row's pieces, for the table and
    the cards alike."""
    return [
        QueueRow(
            referral=referral,
            url=referral.get_absolute_url(),
            status=status_badge(referral.status),
            urgency=_URGENT if referral.is_urgent else _ROUTINE,
            first_contact=_first_contact(referral),
            flags=_flags(referral),
            child=_child(referral),
            services=_services(referral),
        )
        for referral in referrals
    ]
