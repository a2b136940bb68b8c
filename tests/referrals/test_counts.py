"""The counts kept as referrals change: each specialist's open referrals (routing's load)
and the queue's cached counts."""

import contextlib
import uuid
from datetime import timedelta

import pytest
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from referrals import services
from referrals.counts import open_count_drift
from referrals.models import Referral, Service
from referrals.selectors import queue_counts
from regions.models import Jurisdiction, Region, ResourceSpecialist
from tests.factories import ReferralFactory, SpecialistFactory

pytestmark = pytest.mark.usefixtures("reference_data")

# Region 3 (two specialists here), Region 4, Region 1, and Guam unmapped (intake).
CODES = ["MN", "WI", "TX", "PR", "GU"]


def submit(code: str) -> Referral:
    referral, _created = services.referral_create(
        submission_token=uuid.uuid4().hex,
        services=list(Service.objects.filter(number=1)),
        referrer_name="Jordan Caseworker",
        referrer_role="child_welfare",
        agency="Agency",
        referrer_email="jordan@example.org",
        referrer_phone="612-555-0100",
        jurisdiction=Jurisdiction.objects.get(code=code),
        child_initials="JD",
        child_age=15,
        child_status="missing",
        # Yesterday: "today" is the case's, up to a day behind the office's.
        status_date=timezone.localdate() - timedelta(days=1),
        law_enforcement_involved="unknown",
        urgency="routine",
        summary="Youth missing from placement; needs a recovery plan.",
    )
    return referral


@pytest.fixture
def people(supervisor_user, specialist_user):
    """The actors: a supervisor, Stacy (Region 3), and a second Region 3 specialist."""
    Jurisdiction.objects.filter(code="GU").update(region=None)
    SpecialistFactory(region=Region.objects.get(number=3), name="Second Specialist")
    return {"supervisor": supervisor_user, "stacy": specialist_user}


def act(action: str, referral: Referral, *, people, code: str, pick: int) -> None:
    """One action as a person would try it; the lifecycle or the roles may refuse it."""
    supervisor, stacy = people["supervisor"], people["stacy"]
    specialists = list(ResourceSpecialist.objects.order_by("pk"))
    jurisdiction = Jurisdiction.objects.get(code=code)
    calls = {
        "acknowledge": lambda: services.referral_acknowledge(referral=referral, actor=supervisor),
        "start": lambda: services.referral_start(referral=referral, actor=supervisor),
        "note": lambda: services.referral_add_note(referral=referral, actor=stacy, text="Note"),
        "close": lambda: services.referral_close(
            referral=referral, actor=supervisor, outcome="connected", note="Done."
        ),
        "reopen": lambda: services.referral_reopen(
            referral=referral, actor=supervisor, reason="New information."
        ),
        "transfer": lambda: services.referral_transfer(
            referral=referral, actor=supervisor, jurisdiction=jurisdiction, reason="Moved."
        ),
        "reroute": lambda: services.referral_reroute(referral=referral, actor=supervisor),
        "reassign": lambda: services.referral_reassign(
            referral=referral, actor=supervisor, specialist=specialists[pick % len(specialists)]
        ),
        "take_over": lambda: services.referral_take_over(referral=referral, actor=stacy),
        "review": lambda: services.referral_mark_reviewed(referral=referral, actor=supervisor),
    }
    # Refused: nothing changed, and the counts must say so too.
    with contextlib.suppress(ValidationError):
        calls[action]()


ACTIONS = [
    "acknowledge",
    "start",
    "note",
    "close",
    "reopen",
    "transfer",
    "reroute",
    "reassign",
    "take_over",
    "review",
]
STEPS = st.lists(
    st.tuples(
        st.sampled_from(["submit", "submit", *ACTIONS]),
        st.integers(min_value=0, max_value=40),
        st.sampled_from(CODES),
    ),
    min_size=1,
    max_size=20,
)


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS)
def test_open_counts_equal_a_recount_after_every_action(people, steps):
    referrals = [submit("MN")]
    for action, pick, code in steps:
        if action == "submit":
            referrals.append(submit(code))
        else:
            act(action, referrals[pick % len(referrals)], people=people, code=code, pick=pick)
        assert open_count_drift() == [], (action, code)


def test_routing_reads_the_kept_count_not_a_count_of_referrals():
    stacy = ResourceSpecialist.objects.get(name="Stacy Schultz")
    second = SpecialistFactory(region=stacy.region, name="Second Specialist")
    ReferralFactory.create_batch(3, assigned_specialist=stacy)
    assert ResourceSpecialist.objects.get(pk=stacy.pk).open_referral_count == 3
    referral = submit("MN")
    assert referral.assigned_specialist == second
    assert referral.routing_reason.endswith("Second Specialist (0 open)")
    assert ResourceSpecialist.objects.get(pk=second.pk).open_referral_count == 1


def test_check_open_counts_reports_and_repairs_drift(capsys):
    stacy = ResourceSpecialist.objects.get(name="Stacy Schultz")
    ReferralFactory.create_batch(2, assigned_specialist=stacy)
    call_command("check_open_counts")
    assert "Every open-referral count matches a recount." in capsys.readouterr().out

    ResourceSpecialist.objects.filter(pk=stacy.pk).update(open_referral_count=7)
    with pytest.raises(CommandError, match="1 open-referral count"):
        call_command("check_open_counts")
    assert "Stacy Schultz (id" in capsys.readouterr().out
    assert ResourceSpecialist.objects.get(pk=stacy.pk).open_referral_count == 7

    call_command("check_open_counts", "--fix")
    assert "kept 7, counted 2: repaired" in capsys.readouterr().out
    assert ResourceSpecialist.objects.get(pk=stacy.pk).open_referral_count == 2
    assert open_count_drift() == []


# The queue's counts.


def counts_query_runs(user) -> bool:
    with CaptureQueriesContext(connection) as queries:
        queue_counts(user=user)
    return any("COUNT" in q["sql"] for q in queries.captured_queries)


def test_queue_counts_are_counted_once_until_a_service_changes_a_referral(specialist_user):
    referral = ReferralFactory()
    assert queue_counts(user=specialist_user)["new"] == 1
    assert not counts_query_runs(specialist_user)  # cached

    services.referral_acknowledge(referral=referral, actor=specialist_user)
    # Counted again right after the change (and not kept while it may still commit).
    counts = queue_counts(user=specialist_user)
    assert (counts["new"], counts["acknowledged"]) == (0, 1)


def test_a_change_elsewhere_leaves_a_specialists_counts_cached(specialist_user):
    ReferralFactory()
    queue_counts(user=specialist_user)
    submit("TX")  # Region 4: not Stacy's
    assert not counts_query_runs(specialist_user)
    submit("WI")  # Region 3
    assert counts_query_runs(specialist_user)


def test_queue_counts_are_counted_again_when_the_next_referral_falls_due(specialist_user):
    due = timezone.now() + timedelta(seconds=30)
    ReferralFactory(first_contact_due_at=due)
    assert queue_counts(user=specialist_user)["overdue"] == 0
    later = due + timedelta(seconds=1)
    assert queue_counts(user=specialist_user, now=later)["overdue"] == 1


def test_queue_counts_without_the_cache(specialist_user, monkeypatch):
    ReferralFactory.create_batch(2)

    def down(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(caches["default"], "get_many", down)
    monkeypatch.setattr(caches["default"], "set_many", down)
    assert queue_counts(user=specialist_user)["new"] == 2
    submit("MN")  # the service goes on without forgetting
    assert queue_counts(user=specialist_user)["new"] == 3


def test_an_assigned_referral_always_has_a_region():
    from django.db import IntegrityError, transaction

    referral = ReferralFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Referral.objects.filter(pk=referral.pk).update(region=None)
