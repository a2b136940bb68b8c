"""The access audit: who read which referral, from where. One row per read, never details.

Each view of a referral's page or admin page, and each export, is one INSERT (an export
is one row with its row count), so recording costs the same whatever the history's
length. Supervisors read the log in the admin and a referral's "Viewed by" list.
"""

from django.db.models import Count, Max

from accounts.client_ip import client_ip

from .models import Referral, ReferralAccess


def referral_access_record(
    *, request, kind: str, referral: Referral | None = None, referral_id=None, rows=None
) -> None:
    """Record that request.user read `referral` (or exported `rows` referrals)."""
    ReferralAccess.objects.create(
        kind=kind,
        user=request.user,
        referral_id=referral.pk if referral is not None else referral_id,
        row_count=rows,
        ip_address=client_ip(request),
    )


def referral_viewers(*, referral: Referral) -> list[dict]:
    """Who has read this referral: each person once, with how often and when last (one query)."""
    return list(
        ReferralAccess.objects.filter(referral=referral)
        .values("user__username", "user__first_name", "user__last_name")
        .annotate(views=Count("pk"), last_viewed_at=Max("at"))
        .order_by("-last_viewed_at")
    )
