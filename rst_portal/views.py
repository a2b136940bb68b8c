"""The site's own pages: home, the specialist finder, and the health check."""

import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.db.models import Case, F, Min, When
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django_tasks_db.models import DBTaskResult, get_date_max

from contacts.models import ProgramContact
from referrals.models import Service
from regions.map import tile_map
from regions.models import Jurisdiction
from regions.selectors import regions_with_specialists

logger = logging.getLogger(__name__)


def home(request):
    """What RST offers, why recovery planning, who to contact, and the way to refer."""
    regions = list(regions_with_specialists())
    return render(
        request,
        "site/home.html",
        {
            "services": Service.objects.all(),
            "regions": regions,
            "region_map": tile_map(regions),
            "program_contacts": ProgramContact.objects.all(),
            "provisional_mapping": not settings.RST_MAPPING_CONFIRMED,
        },
    )


def specialists(request):
    """All regions and specialists; with ?jurisdiction=MN, the answer for one state."""
    regions = list(regions_with_specialists())
    unmapped = list(Jurisdiction.objects.filter(region__isnull=True).order_by("name"))
    all_jurisdictions = sorted(
        [j for region in regions for j in region.jurisdictions.all()] + unmapped,
        key=lambda j: j.name,
    )
    code = request.GET.get("jurisdiction", "").strip().upper()
    selected = next((j for j in all_jurisdictions if j.code == code), None)
    context = {
        "regions": regions,
        "region_map": tile_map(regions),
        "all_jurisdictions": all_jurisdictions,
        "selected": selected,
        "selected_region": next(
            (r for r in regions if selected and r.pk == selected.region_id), None
        ),
        "unknown_code": code if code and selected is None else "",
        "program_contacts": ProgramContact.objects.all(),
        "provisional_mapping": not settings.RST_MAPPING_CONFIRMED,
    }
    status = 404 if context["unknown_code"] else 200
    return render(request, "site/specialists.html", context, status=status)


def specialists_json(request):
    """The same data as /specialists/, for other systems."""
    regions = regions_with_specialists()
    data = {
        "provisional_mapping": not settings.RST_MAPPING_CONFIRMED,
        "regions": [
            {
                "number": region.number,
                "name": region.name,
                "jurisdictions": [
                    {"code": j.code, "name": j.name, "kind": j.kind}
                    for j in region.jurisdictions.all()
                ],
                "specialists": [
                    {"name": s.name, "email": s.email, "phone": s.phone}
                    for s in region.active_specialists
                ],
            }
            for region in regions
        ],
        "unmapped_jurisdictions": list(
            Jurisdiction.objects.filter(region__isnull=True).values_list("code", flat=True)
        ),
        "program_contacts": [
            {
                "role": c.get_role_display(),
                "name": c.display_name,
                "email": c.email,
                "phone": c.phone,
            }
            for c in ProgramContact.objects.all()
        ],
    }
    return JsonResponse(data)


OK = "ok"


def check_database():
    """A round trip to the database: SELECT 1."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            if cursor.fetchone() != (1,):
                return "unexpected answer to SELECT 1"
    except DatabaseError as error:
        # One line per probe, not a traceback: a load balancer probes every few seconds.
        logger.error("Health check: database unavailable: %s: %s", type(error).__name__, error)
        return "unavailable"
    return OK


def check_cache():
    """A set/get round trip on the default cache (Redis in production).

    A cache that accepts the write but gives back something else (a dummy cache, a
    Redis evicting keys as fast as they come) fails too.
    """
    key = f"rst-healthz:{uuid.uuid4().hex}"
    value = uuid.uuid4().hex
    try:
        cache.set(key, value, timeout=10)
        stored = cache.get(key)
        cache.delete(key)
    except Exception as error:
        # Each backend raises its own errors (redis.ConnectionError, pymemcache, OSError…).
        logger.error("Health check: cache unavailable: %s: %s", type(error).__name__, error)
        return "unavailable"
    if stored != value:
        logger.error("Health check: the cache did not return the value just written")
        return "did not return the value just written"
    return OK


def oldest_due_task_age():
    """How long the oldest READY task whose run_after has passed has been waiting.

    None when no task is due. A task enqueued without a delay has run_after set to
    django-tasks-db's far-future marker and is due from enqueued_at; a delayed one
    (a retry with back-off) is due from its run_after.
    """
    date_max = get_date_max()
    due_since = DBTaskResult.objects.ready().aggregate(
        due_since=Min(Case(When(run_after=date_max, then=F("enqueued_at")), default=F("run_after")))
    )["due_since"]
    if due_since is None:
        return None
    return max(timezone.now() - due_since, timedelta(0))


def check_worker():
    """The task worker is alive when no due task has waited longer than the limit.

    An idle worker writes nothing, so an empty queue (or one holding only tasks
    scheduled for later) is healthy; a due task left waiting means no `db_worker`
    is taking tasks, and notification e-mails are not going out.
    """
    limit = settings.RST_HEALTH_WORKER_MAX_DELAY_SECONDS
    try:
        age = oldest_due_task_age()
    except DatabaseError as error:
        logger.error("Health check: could not read the task queue: %s", error)
        return "unavailable: could not read the task queue"
    if age is not None and age.total_seconds() > limit:
        waited = int(age.total_seconds())
        logger.error(
            "Health check: the oldest due task has waited %s s (limit %s s)", waited, limit
        )
        return f"silent: the oldest due task has waited {waited} s (limit {limit} s)"
    return OK


@never_cache
@require_safe
def healthz(request):
    """Report the database, the cache and the task worker: 200 when all answer, else 503.

    The JSON names every part and lists the failed ones under "failed", e.g.
    {"status": "error", "failed": ["cache"], "database": "ok", "cache": "unavailable",
    "worker": "ok"}. Messages never carry connection strings or exception text (those
    go to the log). The path is exempt from the HTTPS redirect (SECURE_REDIRECT_EXEMPT)
    so a load balancer probing over plain HTTP sees the real answer, not a 301.

    Why not django-health-check (4.8, checked): its HealthCheckView answers 500, not
    503, on a failure; it renders HTML unless the probe sends Accept: application/json
    or ?format=json; its JSON keys are the checks' reprs ("Cache(alias='default')");
    it is an async view that runs synchronous checks in executor threads, each opening
    and closing a database connection of its own per probe (so under gunicorn every
    probe costs a new PostgreSQL connection); and its default set adds DNS and mail
    probes and the dnspython dependency. The worker check would be custom code anyway.
    Bending it to this contract would take more code than these three functions.
    """
    results = {"database": check_database(), "cache": check_cache()}
    failed = [part for part, result in results.items() if result != OK]
    if "database" in failed:
        # Unknown, not known to be down: only the part that failed is named.
        results["worker"] = "not checked: the database is unavailable"
    else:
        results["worker"] = check_worker()
        if results["worker"] != OK:
            failed.append("worker")
    if failed:
        return JsonResponse({"status": "error", "failed": failed, **results}, status=503)
    return JsonResponse({"status": OK, **results})
