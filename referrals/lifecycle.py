"""The referral lifecycle in one table: which action each status allows.

new → acknowledged → in_progress → closed (and back by reopening). The services check
this table under the row lock before they change a referral; the workspace and the
admin ask the same table which buttons to show. Who may act (region, role) is the
services' other half: see `referral_allowed_actions` in services.py.
"""

from django.core.exceptions import ValidationError

from .models import Referral

Status = Referral.Status
OPEN = frozenset({Status.NEW, Status.ACKNOWLEDGED, Status.IN_PROGRESS})
ANY = frozenset(Status)

ACKNOWLEDGE_NOT_NEW = "Only a new referral can be acknowledged; this one is {status}."
START_NOT_ACKNOWLEDGED = (
    "Only an acknowledged referral can move to in progress; this one is {status}."
)
ALREADY_CLOSED = "This referral is closed. A supervisor can reopen it."
REOPEN_NOT_CLOSED = "Only a closed referral can be reopened."

# action → (the statuses it is allowed in, the message when it is not)
TRANSITIONS = {
    "acknowledge": (frozenset({Status.NEW}), ACKNOWLEDGE_NOT_NEW),
    "start": (frozenset({Status.ACKNOWLEDGED}), START_NOT_ACKNOWLEDGED),
    "note": (ANY, ""),
    "contact": (OPEN, ALREADY_CLOSED),
    "close": (OPEN, ALREADY_CLOSED),
    "transfer": (OPEN, ALREADY_CLOSED),
    "take_over": (OPEN, ALREADY_CLOSED),
    "share_resources": (OPEN, ALREADY_CLOSED),
    "reassign": (OPEN, ALREADY_CLOSED),
    "reroute": (OPEN, ALREADY_CLOSED),
    "reopen": (frozenset({Status.CLOSED}), REOPEN_NOT_CLOSED),
    "mark_reviewed": (ANY, ""),
}


def allows(referral: Referral, action: str) -> bool:
    """Whether `referral`'s status allows `action`."""
    statuses, _ = TRANSITIONS[action]
    return referral.status in statuses


def actions_allowed(referral: Referral) -> set[str]:
    """Every action `referral`'s status allows (before asking who wants to act)."""
    return {action for action in TRANSITIONS if allows(referral, action)}


def require(referral: Referral, action: str) -> None:
    """Raise ValidationError, with the message people see, if the status refuses `action`."""
    if not allows(referral, action):
        message = TRANSITIONS[action][1]
        raise ValidationError(message.format(status=referral.get_status_display()))
