"""Login lockout (django-axes): whose failures count together, and clearing a lockout.

Failures count per account, from every address, and per address, across every
account (AXES_LOCKOUT_PARAMETERS); the address is accounts.client_ip's.
"""

from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.db import transaction

from .models import SecurityEvent


def username_of(request, credentials=None) -> str:
    """The username a login attempt names, as axes counts it: case and spaces do not
    make a different account to guess at."""
    if credentials and credentials.get("username"):
        username = credentials["username"]
    else:
        username = getattr(request, "POST", {}).get("username", "")
    return str(username or "").strip().lower()


@transaction.atomic
def lockout_clear(*, usernames=(), addresses=(), actor, ip_address: str | None) -> int:
    """Forget the failed logins of these usernames (from every address) and of these
    addresses (for every username); record each in the security log. Returns the rows."""
    User = get_user_model()
    cleared = 0
    for username in sorted(set(usernames)):
        count, _ = AccessAttempt.objects.filter(username=username).delete()
        cleared += count
        SecurityEvent.objects.create(
            kind=SecurityEvent.Kind.LOCKOUT_CLEARED,
            actor=actor,
            subject=User.objects.filter(username__iexact=username).first(),
            detail=f"username {username!r}, every address",
            ip_address=ip_address,
        )
    for address in sorted(set(addresses)):
        count, _ = AccessAttempt.objects.filter(ip_address=address).delete()
        cleared += count
        SecurityEvent.objects.create(
            kind=SecurityEvent.Kind.LOCKOUT_CLEARED,
            actor=actor,
            detail=f"address {address}, every username",
            ip_address=ip_address,
        )
    return cleared
