"""The queue read from its indexes: the same order as sorting everything, bounded pages,
and on PostgreSQL a plan that reads indexes, never the whole referral table."""

import random
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from referrals.models import Referral
from referrals.selectors import QueueFilters, referral_queue_page, referrals_visible_to
from regions.models import Jurisdiction, Region, ResourceSpecialist
from tests.factories import ReferralFactory, SpecialistFactory
from tests.helpers import as_user
from tests.referrals.workspace.plans import seed_queue_for_plans

pytestmark = pytest.mark.usefixtures("reference_data")


STAGES = {"new": 0, "acknowledged": 1, "in_progress": 1, "closed": 2}


def queue_key(referral):
    """Awaiting first contact by due time (so overdue first), then the contacted ones by
    due time, then the closed ones newest first."""
    stage = STAGES[referral.status]
    due = referral.first_contact_due_at.timestamp()
    return (stage, -due, -referral.pk) if stage == 2 else (stage, due, referral.pk)


def expected_order(user, now, **filters):
    """Every visible referral sorted the plain way, in Python."""
    referrals = referrals_visible_to(user).filter(**filters)
    return [r.pk for r in sorted(referrals, key=queue_key)]


def all_pages(user, now, filters, per_page):
    pks, number = [], 1
    while True:
        page = referral_queue_page(
            user=user, filters=filters, page_number=number, per_page=per_page, max_pages=50, now=now
        )
        pks += [r.pk for r in page.object_list]
        if not page.has_next:
            return pks, page
        number += 1


def random_referrals(rng, count, *, now, jurisdictions, specialist=None):
    for _ in range(count):
        submitted = now - timedelta(minutes=rng.randint(0, 60 * 60))
        urgency = rng.choice(["routine", "urgent"])
        status = rng.choice(["new", "new", "acknowledged", "in_progress", "closed"])
        extra = {"assigned_specialist": specialist} if specialist else {}
        ReferralFactory(
            jurisdiction=Jurisdiction.objects.get(code=rng.choice(jurisdictions)),
            submitted_at=submitted,
            # Some due already, some not; ties in submitted_at too.
            first_contact_due_at=submitted + timedelta(hours=rng.choice([1, 4, 24, 48])),
            urgency=urgency,
            status=status,
            outcome="connected" if status == "closed" else "",
            first_contacted_at=None if status == "new" else submitted,
            **extra,
        )


def test_pages_follow_the_order_of_sorting_everything(specialist_user, supervisor_user):
    rng = random.Random(7)
    now = timezone.now()
    random_referrals(rng, 60, now=now, jurisdictions=["MN", "WI", "TX", "CA"])
    # Stacy's own cases in another region are in her queue too.
    stacy = specialist_user.resource_specialist
    random_referrals(rng, 6, now=now, jurisdictions=["TX"], specialist=stacy)
    statuses = {
        "open": {"status__in": ["new", "acknowledged", "in_progress"]},
        "new": {"status": "new"},
        "all": {},
    }
    for user in (specialist_user, supervisor_user):
        for status, matching in statuses.items():
            pks, _page = all_pages(user, now, QueueFilters(status=status), per_page=7)
            assert pks == expected_order(user, now, **matching), (user, status)
    overdue, _page = all_pages(specialist_user, now, QueueFilters(overdue=True), per_page=5)
    overdue_ones = Referral.objects.overdue(now=now).values_list("pk", flat=True)
    assert overdue == [pk for pk in expected_order(specialist_user, now) if pk in overdue_ones]


def test_a_specialist_moved_to_another_region_has_their_own_cases_in_the_queue(specialist_user):
    mine = ReferralFactory()  # Minnesota, Region 3, Stacy's
    ResourceSpecialist.objects.filter(user=specialist_user).update(
        region=Region.objects.get(number=4)
    )
    texas = ReferralFactory(jurisdiction=Jurisdiction.objects.get(code="TX"))
    colleague = ReferralFactory(
        assigned_specialist=SpecialistFactory(region=Region.objects.get(number=3))
    )
    listed = as_user(specialist_user).get("/queue/").context["page"].object_list
    assert {r.pk for r in listed} == {mine.pk, texas.pk}
    assert colleague.pk not in {r.pk for r in listed}


def test_the_queue_pages_through_at_most_max_pages(specialist_user, settings):
    settings.RST_QUEUE_PAGE_SIZE = 2
    settings.RST_QUEUE_MAX_PAGES = 3
    ReferralFactory.create_batch(9)
    client = as_user(specialist_user)
    first = client.get("/queue/").content.decode()
    assert "Page 1 of more than 3" in first
    last = client.get("/queue/?page=99")
    assert last.context["page"].number == 3
    html = last.content.decode()
    assert "Next" not in html and "use the filters or the search" in html
    # The counts above the queue still count everything.
    assert "New 9" in html


def test_the_queue_costs_the_same_whatever_page(specialist_user, django_assert_num_queries):
    ReferralFactory.create_batch(30)
    client = as_user(specialist_user)
    client.get("/queue/")
    with CaptureQueriesContext(connection) as first:
        client.get("/queue/")
    with django_assert_num_queries(len(first)):
        assert client.get("/queue/?page=2").context["page"].number == 2


# On PostgreSQL: the plan.


def explain(sql, params) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="Query plans are PostgreSQL's; CI runs this on PostgreSQL (RST_REQUIRE_POSTGRES=1).",
)
@pytest.mark.parametrize("view", ["/queue/", "/queue/?scope=mine", "supervisor"])
def test_the_queues_queries_read_indexes_not_the_referral_table(
    view, specialist_user, supervisor_user, settings
):
    settings.RST_QUEUE_MAX_PAGES = 8  # counted up to 201: a small part of the table
    # Enough referrals, in every region and status, that reading them all would cost.
    seed_queue_for_plans(seed=3)

    user, path = (supervisor_user, "/queue/") if view == "supervisor" else (specialist_user, view)
    client = as_user(user)
    client.get(path)  # the counts above the queue are cached from here on
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    on_referrals = [q for q in queries.captured_queries if '"referrals_referral"' in q["sql"]]
    assert len(on_referrals) >= 3  # the count, the ordered run, the page's rows
    for query in on_referrals:
        # CaptureQueriesContext keeps the SQL with its values in; explain it as it ran.
        plan = explain(query["sql"], None)
        assert "Seq Scan on referrals_referral" not in plan, plan
        assert "Index" in plan, plan
