"""Counts of referrals kept up to date as referrals change, so no page counts them all.

Two kinds, both changed by the services (referrals/services.py) through `recount`:

- Each Resource Specialist's `open_referral_count`, the load the routing rule compares.
  It changes in the service's transaction, under the specialist's row lock, so it is
  exact; `manage.py check_open_counts` recounts it from the referrals (`open_count_drift`)
  and repairs any difference (`open_counts_repair`).
- The counts above the queue (referrals/selectors.py `queue_counts`), cached per place
  (a region, a specialist, all regions) under a version token per place. A change gives
  the places a referral leaves and enters new tokens, and cached counts whose tokens are
  not the current ones are counted again. The tokens change inside the service's
  transaction, a moment before it commits, so counts taken within SETTLE_SECONDS of a
  new token are shown but not kept. They also expire when the next new referral falls
  due ("overdue" changes with the time alone) and after RST_QUEUE_COUNTS_MAX_AGE_SECONDS
  whatever happens (a change made behind the services' back is seen by then).
"""

import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.core.cache import caches
from django.db import transaction
from django.db.models import Count, F

from regions.models import ResourceSpecialist

from .models import Referral

logger = logging.getLogger(__name__)

CACHE_KEY = "rst:queue-counts"
ALL_PLACES = "all"
SETTLE_SECONDS = 2.0


def region_place(region_id) -> str:
    return f"region:{region_id}"


def specialist_place(specialist_id) -> str:
    return f"specialist:{specialist_id}"


class Standing(NamedTuple):
    """Where a referral stands for everything that counts referrals."""

    region_id: int | None
    specialist_id: int | None
    status: str


def standing(referral: Referral) -> Standing:
    return Standing(referral.region_id, referral.assigned_specialist_id, referral.status)


def lock_specialists(*pks) -> dict[int, ResourceSpecialist]:
    """Lock these specialists' rows in one statement in id order, as routing does.

    A change that touches two specialists (a reassignment, a take-over) takes both locks
    at once and in the same order as every other change, so two changes never deadlock.
    """
    wanted = sorted({pk for pk in pks if pk is not None})
    locked = ResourceSpecialist.objects.select_for_update().filter(pk__in=wanted).order_by("pk")
    return {specialist.pk: specialist for specialist in locked}


def recount(referral: Referral, before: Standing | None, *, assigned_at=None) -> None:
    """Keep the counts after `referral` (saved) moved from `before` (None: it is new).

    The open-referral counts of the specialist it left and of the one it has now change
    in the caller's transaction, on rows already locked (by routing or lock_specialists)
    or locked by this UPDATE (then only one specialist's). `assigned_at`: when its
    specialist was given it, for routing's tie-break. The queue's cached counts of the
    places it left and entered are forgotten.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("recount must run inside the change's transaction.")
    change = Counter()
    if before is not None and before.specialist_id and before.status != Referral.Status.CLOSED:
        change[before.specialist_id] -= 1
    if referral.assigned_specialist_id and referral.status != Referral.Status.CLOSED:
        change[referral.assigned_specialist_id] += 1
    assigned = referral.assigned_specialist_id if assigned_at else None
    for pk in sorted({pk for pk, delta in change.items() if delta} | ({assigned} - {None})):
        fields = {"open_referral_count": F("open_referral_count") + change[pk]}
        if pk == assigned:
            fields["last_assigned_at"] = assigned_at
        ResourceSpecialist.objects.filter(pk=pk).update(**fields)
    before = before or standing(referral)
    forget_queue_counts(
        regions={before.region_id, referral.region_id},
        specialists={before.specialist_id, referral.assigned_specialist_id},
    )


# The open-referral counts, recounted.


@dataclass(frozen=True)
class Drift:
    specialist: ResourceSpecialist
    kept: int  # open_referral_count as stored
    counted: int  # open referrals assigned to them, counted now


def open_count_drift() -> list[Drift]:
    """Every specialist whose kept open-referral count differs from a count of referrals."""
    counted = dict(
        Referral.objects.open()
        .filter(assigned_specialist__isnull=False)
        .values_list("assigned_specialist")
        .annotate(n=Count("pk"))
        .values_list("assigned_specialist", "n")
    )
    return [
        Drift(specialist=specialist, kept=specialist.open_referral_count, counted=n)
        for specialist in ResourceSpecialist.objects.order_by("pk")
        if specialist.open_referral_count != (n := counted.get(specialist.pk, 0))
    ]


def open_counts_repair() -> list[Drift]:
    """Set every drifted count to a count of referrals; returns what was repaired.

    Counted again under the specialists' row locks, so a change made meanwhile by a
    service (which takes the same locks) is neither lost nor counted twice.
    """
    with transaction.atomic():
        lock_specialists(*ResourceSpecialist.objects.values_list("pk", flat=True))
        drift = open_count_drift()
        for found in drift:
            ResourceSpecialist.objects.filter(pk=found.specialist.pk).update(
                open_referral_count=found.counted
            )
    return drift


# The queue's cached counts.


def forget_queue_counts(*, regions: set, specialists: set) -> None:
    """Have the cached counts of these places, and of all regions, counted again."""
    places = [ALL_PLACES]
    places += [region_place(region) for region in regions if region is not None]
    places += [specialist_place(pk) for pk in specialists if pk is not None]
    token = f"{time.time():.6f}:{uuid.uuid4().hex[:8]}"
    try:
        caches["default"].set_many({_version_key(place): token for place in places}, None)
    except Exception:  # noqa: BLE001 - the counts then expire by their maximum age
        logger.warning("Queue counts: the cache did not answer; the counts may lag.")


def _version_key(place: str) -> str:
    return f"{CACHE_KEY}:version:{place}"


def cached_counts(
    *,
    places: list[str],
    count: Callable[[], tuple[dict[str, int], datetime | None]],
    now: datetime,
) -> dict[str, int]:
    """The counts over `places`, from the cache while still current, else from `count()`.

    `count` returns the counts and when the next new referral falls due (or None).
    Without the cache (Redis down), it counts every time.
    """
    started = time.time()
    key = f"{CACHE_KEY}:{'+'.join(places)}"
    version_keys = [_version_key(place) for place in places]
    cache = caches["default"]
    try:
        found = cache.get_many([key, *version_keys])
    except Exception:  # noqa: BLE001
        logger.warning("Queue counts: the cache did not answer; counted without it.")
        return count()[0]
    versions = [found.get(version_key) for version_key in version_keys]
    cached = found.get(key)
    if cached and cached["versions"] == versions and cached["fresh_until"] > now:
        return cached["counts"]
    counts, next_due = count()
    fresh_until = now + timedelta(seconds=settings.RST_QUEUE_COUNTS_MAX_AGE_SECONDS)
    if next_due is not None:
        fresh_until = min(fresh_until, next_due)
    seconds = int((fresh_until - now).total_seconds())
    settled = all(
        version is None or float(version.split(":")[0]) < started - SETTLE_SECONDS
        for version in versions
    )
    if seconds > 0 and settled:
        entry = {"versions": versions, "counts": counts, "fresh_until": fresh_until}
        try:
            cache.set(key, entry, seconds)
        except Exception:  # noqa: BLE001
            logger.warning("Queue counts: the cache did not answer; counts not kept.")
    return counts
