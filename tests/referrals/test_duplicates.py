"""Possible duplicates: found when a referral is created, shown to whoever may see both
referrals, confirmed or dismissed by the assigned specialist or a supervisor."""

import threading
import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, connections, transaction
from django.db.models import F
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.services import specialist_link_login
from referrals import duplicates, services, status_links
from referrals.counts import open_count_drift
from referrals.models import Notification, PossibleDuplicate, Referral, ReferralEvent, Service
from referrals.selectors import QueueFilters, referral_queue_page
from regions.models import Jurisdiction, Region, ResourceSpecialist
from tests.concurrency import wait_until_waiting
from tests.factories import ReferralFactory, SpecialistFactory, UserFactory
from tests.helpers import as_user, page_text, verify_session

pytestmark = pytest.mark.usefixtures("reference_data")

FLAGGED = ReferralEvent.Kind.DUPLICATE_FLAGGED
CONFIRMED = ReferralEvent.Kind.DUPLICATE_CONFIRMED
DISMISSED = ReferralEvent.Kind.DUPLICATE_DISMISSED


def submit(code="MN", **answers) -> Referral:
    """A referral made as the public form makes it (referral_create), for a child "JD", 15."""
    fields = {
        "submission_token": uuid.uuid4().hex,
        "services": list(Service.objects.filter(number=2)),
        "referrer_name": "Jordan Caseworker",
        "referrer_role": "child_welfare",
        "agency": "Second Agency",
        "referrer_email": "second@example.org",
        "referrer_phone": "612-555-0111",
        "jurisdiction": Jurisdiction.objects.get(code=code),
        "child_initials": "JD",
        "child_age": 15,
        "child_status": "missing",
        "status_date": timezone.localdate() - timedelta(days=1),
        "law_enforcement_involved": "unknown",
        "urgency": "routine",
        "summary": "Youth missing from placement; seen with an older adult.",
        **answers,
    }
    referral, created = services.referral_create(**fields)
    assert created
    return referral


def earlier(code="MN", *, days_ago=3, **fields) -> Referral:
    """A referral already in the queue, submitted `days_ago` days ago."""
    submitted = timezone.now() - timedelta(days=days_ago)
    return ReferralFactory(
        jurisdiction=Jurisdiction.objects.get(code=code),
        child_initials=fields.pop("child_initials", "JD"),
        child_age=fields.pop("child_age", 15),
        submitted_at=submitted,
        consent_at=submitted,
        **fields,
    )


def events(referral, kind):
    return list(ReferralEvent.objects.filter(referral=referral, kind=kind))


def pair_of(newer, older) -> PossibleDuplicate:
    return PossibleDuplicate.objects.get(referral=newer, duplicate_of=older)


def resolve_url(referral, flag, decision):
    return f"{referral.get_absolute_url()}duplicates/{flag.pk}/{decision}/"


@pytest.fixture
def texas_specialist_user(other_specialist_user):
    """Kyla Conlee (Region 4: Texas)."""
    return other_specialist_user


# The rule.


@pytest.mark.parametrize("age", [14, 15, 16])
def test_same_state_initials_and_age_within_a_year_is_flagged_on_both(age):
    older = earlier(child_age=age)
    newer = submit()

    flag = pair_of(newer, older)
    assert flag.reason == PossibleDuplicate.Reason.INITIALS_AGE
    assert flag.status == PossibleDuplicate.Status.OPEN
    for one, other in ((newer, older), (older, newer)):
        [event] = events(one, FLAGGED)
        assert event.related_referral == other
        assert event.actor is None
        # The history may be read by someone who may not see the other referral.
        assert other.reference not in event.message


@pytest.mark.parametrize(
    "difference",
    [
        pytest.param({"code": "WI"}, id="other state in the same region"),
        pytest.param({"child_age": 13}, id="two years younger"),
        pytest.param({"child_age": 17}, id="two years older"),
        pytest.param({"child_initials": "JE"}, id="other initials"),
        pytest.param({"days_ago": 91}, id="91 days ago"),
        pytest.param({"status": Referral.Status.CLOSED}, id="closed"),
    ],
)
def test_no_flag_when_the_rule_does_not_hold(difference):
    fields = dict(difference)
    if fields.get("status") == Referral.Status.CLOSED:
        fields |= {"outcome": Referral.Outcome.CONNECTED, "closed_at": timezone.now()}
    older = earlier(**fields)
    newer = submit()
    assert not PossibleDuplicate.objects.exists()
    assert not ReferralEvent.objects.filter(kind=FLAGGED).exists()
    assert events(older, FLAGGED) == events(newer, FLAGGED) == []


def test_89_days_ago_is_still_within_the_window():
    older = earlier(days_ago=89)
    assert pair_of(submit(), older).reason == PossibleDuplicate.Reason.INITIALS_AGE


def test_same_ncmec_case_number_is_flagged_across_states_and_regions():
    older = earlier("TX", child_initials="KL", child_age=9, ncmec_case_number="7654321")
    newer = submit("MN", ncmec_case_number="7654321")
    flag = pair_of(newer, older)
    assert flag.reason == PossibleDuplicate.Reason.NCMEC_CASE
    assert older.region != newer.region
    assert len(events(older, FLAGGED)) == len(events(newer, FLAGGED)) == 1


def test_no_case_number_matches_no_case_number():
    earlier("TX", child_initials="KL", ncmec_case_number="")
    submit("MN", ncmec_case_number="")
    assert not PossibleDuplicate.objects.exists()


def test_every_match_is_flagged_once():
    first, second = earlier(days_ago=5), earlier(days_ago=2, child_age=16)
    newer = submit()
    assert set(newer.duplicate_flags.values_list("duplicate_of", flat=True)) == {
        first.pk,
        second.pk,
    }
    assert len(events(newer, FLAGGED)) == 2
    with pytest.raises(IntegrityError), transaction.atomic():
        PossibleDuplicate.objects.create(
            referral=newer, duplicate_of=first, reason=PossibleDuplicate.Reason.INITIALS_AGE
        )


def test_a_submission_costs_the_same_however_many_referrals_match(django_assert_num_queries):
    earlier(days_ago=10)
    with CaptureQueriesContext(connection) as one_match:
        submit(child_initials="JD")
    assert PossibleDuplicate.objects.count() == 1
    for age in range(14, 17):
        ReferralFactory.create_batch(8, child_initials="QX", child_age=age)
    with django_assert_num_queries(len(one_match)):
        newest = submit(child_initials="QX")
    # The newest matches only: more than that is noise (common initials in a big state).
    assert newest.duplicate_flags.count() == duplicates.MATCHES_LIMIT


def test_the_referrer_is_not_told(client, form_data):
    earlier(child_initials=form_data["child_initials"], child_age=int(form_data["child_age"]))
    response = client.post("/refer/", form_data, follow=True)
    assert response.status_code == 200
    assert PossibleDuplicate.objects.count() == 1
    assert "duplicate" not in response.content.decode().lower()


# Who sees a pair.


def test_same_region_pair_is_shown_to_the_specialist_on_both_pages(specialist_user):
    older = earlier()
    newer = submit()
    client = as_user(specialist_user)
    for one, other in ((newer, older), (older, newer)):
        text = page_text(client.get(one.get_absolute_url()))
        assert f"Possible duplicate of {other.reference}" in text
        assert FLAGGED.label in text  # the event, in the history


def test_cross_region_pair_is_shown_to_supervisors_only(
    specialist_user, texas_specialist_user, supervisor_user
):
    texas = earlier("TX", child_initials="KL", child_age=9, ncmec_case_number="7654321")
    minnesota = submit("MN", ncmec_case_number="7654321")
    for user, mine, theirs in (
        (specialist_user, minnesota, texas),
        (texas_specialist_user, texas, minnesota),
    ):
        response = as_user(user).get(mine.get_absolute_url())
        html = response.content.decode()
        assert response.status_code == 200
        # No badge, no link, no event, no count: nothing says another region has one.
        assert theirs.reference not in html
        assert "Possible duplicate" not in html  # neither the panel nor the event
        assert ReferralEvent.Kind.DUPLICATE_FLAGGED.label not in html
        listed = referral_queue_page(
            user=user, filters=QueueFilters(), page_number=1, per_page=25, max_pages=10
        ).object_list
        assert [r.possible_duplicate for r in listed if r.pk == mine.pk] == [None]
        queue = page_text(as_user(user).get("/queue/"))
        assert mine.reference in queue and theirs.reference not in queue
        assert "Possible duplicate of" not in queue
    supervisor = as_user(supervisor_user)
    for one, other in ((minnesota, texas), (texas, minnesota)):
        text = page_text(supervisor.get(one.get_absolute_url()))
        assert f"Possible duplicate of {other.reference}" in text
        assert "Same NCMEC case number" in text
    listed = referral_queue_page(
        user=supervisor_user, filters=QueueFilters(), page_number=1, per_page=25, max_pages=10
    ).object_list
    marked = {r.reference: r.possible_duplicate for r in listed}
    assert marked[minnesota.reference] == texas.reference
    assert marked[texas.reference] == minnesota.reference
    queue = page_text(supervisor.get("/queue/"))
    for other in (texas, minnesota):
        assert f"Possible duplicate of {other.reference}" in queue


def test_a_pair_split_by_a_transfer_disappears_for_the_specialist(specialist_user, supervisor_user):
    older = earlier()
    newer = submit()
    services.referral_transfer(
        referral=older,
        actor=supervisor_user,
        jurisdiction=Jurisdiction.objects.get(code="TX"),
        reason="The child moved",
    )
    html = as_user(specialist_user).get(newer.get_absolute_url()).content.decode()
    assert older.reference not in html and "Possible duplicate" not in html


def test_queue_marks_both_referrals_of_a_pair(specialist_user):
    older = earlier()
    newer = submit()
    alone = earlier(child_initials="ZZ")
    listed = referral_queue_page(
        user=specialist_user, filters=QueueFilters(), page_number=1, per_page=25, max_pages=10
    ).object_list
    marked = {r.pk: r.possible_duplicate for r in listed}
    assert marked == {
        older.pk: newer.reference,
        newer.pk: older.reference,
        alone.pk: None,
    }


def test_queue_query_count_does_not_grow_with_pairs(specialist_user, django_assert_num_queries):
    earlier(child_initials="ZZ")
    client = as_user(specialist_user)
    client.get("/queue/")
    with CaptureQueriesContext(connection) as without_pairs:
        assert client.get("/queue/").status_code == 200
    # Pairs as referral_create records them (made directly: the services would have the
    # queue's counts counted again, which is not what this measures).
    for age in (10, 12, 14):
        older, newer = earlier(child_age=age), earlier(child_age=age, days_ago=1)
        PossibleDuplicate.objects.create(
            referral=newer, duplicate_of=older, reason=PossibleDuplicate.Reason.INITIALS_AGE
        )
    with django_assert_num_queries(len(without_pairs)):
        response = client.get("/queue/")
    assert sum(1 for r in response.context["page"].object_list if r.possible_duplicate) == 6


def test_detail_query_count_does_not_grow_with_pairs(specialist_user, django_assert_num_queries):
    kept = earlier()
    newer = submit()
    client = as_user(specialist_user)
    client.get(kept.get_absolute_url())
    with CaptureQueriesContext(connection) as one_pair:
        client.get(kept.get_absolute_url())
    duplicates.duplicate_confirm(flag=pair_of(newer, kept), actor=specialist_user)
    for _ in range(3):
        duplicate = submit()
        services.referral_record_contact(
            referral=duplicate,
            actor=specialist_user,
            method="phone",
            contact_date=timezone.localdate(),
            text="Spoke to the second caseworker.",
        )
        duplicates.duplicate_confirm(flag=pair_of(duplicate, kept), actor=specialist_user)
    # One more query for the duplicates' follow-ups and contacts, however many.
    with django_assert_num_queries(len(one_pair) + 1):
        response = client.get(kept.get_absolute_url())
    assert page_text(response).count("Spoke to the second caseworker.") == 3


# Confirming.


def test_confirm_closes_the_newer_one_as_a_duplicate_with_events_on_both(specialist_user):
    stacy = ResourceSpecialist.objects.get(user=specialist_user)
    older = earlier()
    newer = submit()
    open_before = ResourceSpecialist.objects.get(pk=stacy.pk).open_referral_count

    duplicates.duplicate_confirm(flag=pair_of(newer, older), actor=specialist_user)

    newer.refresh_from_db()
    older.refresh_from_db()
    assert newer.status == Referral.Status.CLOSED
    assert newer.outcome == Referral.Outcome.DUPLICATE
    assert newer.closing_note == duplicates.CLOSING_NOTE
    assert newer.closed_at is not None
    assert older.is_open
    [closed] = events(newer, ReferralEvent.Kind.CLOSED)
    assert closed.actor == specialist_user
    # The page names the kept referral to whoever may see both (here: Stacy).
    text = page_text(as_user(specialist_user).get(newer.get_absolute_url()))
    assert f"Closed as a duplicate of {older.reference}" in text
    for one, other in ((newer, older), (older, newer)):
        [event] = events(one, CONFIRMED)
        assert event.related_referral == other and event.actor == specialist_user
    flag = pair_of(newer, older)
    assert flag.status == PossibleDuplicate.Status.CONFIRMED
    assert flag.resolved_by == specialist_user
    # The load routing compares, and the recount check, stay right.
    assert ResourceSpecialist.objects.get(pk=stacy.pk).open_referral_count == open_before - 1
    assert open_count_drift() == []


def test_confirming_twice_does_it_once(specialist_user):
    older = earlier()
    newer = submit()
    client = as_user(specialist_user)
    url = resolve_url(newer, pair_of(newer, older), "confirm")
    messages = []
    for _ in range(2):
        response = client.post(url, follow=True)
        assert response.status_code == 200
        messages.append([str(m) for m in response.context["messages"]])
    assert (
        messages[0]
        == messages[1]
        == [f"{newer.reference} is closed as a duplicate of {older.reference}."]
    )
    assert len(events(newer, ReferralEvent.Kind.CLOSED)) == 1
    assert len(events(newer, CONFIRMED)) == len(events(older, CONFIRMED)) == 1
    assert open_count_drift() == []


def test_the_kept_referral_shows_the_duplicates_referrer_follow_ups_and_contacts(
    specialist_user,
):
    kept = earlier()
    duplicate = submit(referrer_email="second.caseworker@example.org")
    services.referral_record_contact(
        referral=duplicate,
        actor=specialist_user,
        method="phone",
        contact_date=timezone.localdate(),
        text="Second caseworker says she was seen in Duluth.",
    )
    ReferralEvent.objects.create(
        referral=duplicate, kind=ReferralEvent.Kind.FOLLOW_UP, message="He ran again last night."
    )
    client = as_user(specialist_user)
    response = client.post(resolve_url(kept, pair_of(duplicate, kept), "confirm"), follow=True)
    text = page_text(response)
    assert response.request["PATH_INFO"] == kept.get_absolute_url()
    assert f"{duplicate.reference} was closed as a duplicate of this referral" in text
    assert "second.caseworker@example.org" in text
    assert "Second caseworker says she was seen in Duluth." in text
    assert "He ran again last night." in text
    # ... and the closed one points at the kept one.
    text = page_text(client.get(duplicate.get_absolute_url()))
    assert f"Closed as a duplicate of {kept.reference}" in text


def test_confirm_is_refused_when_the_kept_referral_is_closed(specialist_user):
    older = earlier()
    newer = submit()
    services.referral_close(
        referral=older, actor=specialist_user, outcome="connected", note="Done."
    )
    with pytest.raises(ValidationError) as error:
        duplicates.duplicate_confirm(flag=pair_of(newer, older), actor=specialist_user)
    assert error.value.messages == [duplicates.KEPT_CLOSED.format(reference=older.reference)]
    newer.refresh_from_db()
    assert newer.is_open
    # It can still be dismissed.
    duplicates.duplicate_dismiss(flag=pair_of(newer, older), actor=specialist_user)


def test_a_supervisor_confirms_a_cross_region_pair(supervisor_user):
    texas = earlier("TX", child_initials="KL", ncmec_case_number="7654321")
    minnesota = submit("MN", ncmec_case_number="7654321")
    response = as_user(supervisor_user).post(
        resolve_url(texas, pair_of(minnesota, texas), "confirm"), follow=True
    )
    assert f"{minnesota.reference} is closed as a duplicate" in page_text(response)
    minnesota.refresh_from_db()
    assert minnesota.outcome == Referral.Outcome.DUPLICATE
    assert open_count_drift() == []
    # Minnesota's specialist reads the closing note and the history: no Texas reference.
    minnesota_history = " ".join(
        [minnesota.closing_note, *minnesota.events.values_list("message", flat=True)]
    )
    assert texas.reference not in minnesota_history
    assert minnesota.closing_note == duplicates.CLOSING_NOTE  # the same as within a region


# Dismissing.


def test_dismiss_writes_events_on_both_and_keeps_both_open(specialist_user):
    older = earlier()
    newer = submit()
    client = as_user(specialist_user)
    url = resolve_url(older, pair_of(newer, older), "dismiss")
    for _ in range(2):  # again: the same success, nothing twice
        response = client.post(url, follow=True)
        assert "will not be flagged again" in page_text(response)
    flag = pair_of(newer, older)
    assert flag.status == PossibleDuplicate.Status.DISMISSED
    assert flag.resolved_by == specialist_user
    for one, other in ((newer, older), (older, newer)):
        [event] = events(one, DISMISSED)
        assert event.related_referral == other
        one.refresh_from_db()
        assert one.is_open
    text = page_text(client.get(newer.get_absolute_url()))
    assert f"Not a duplicate of {older.reference}" in text
    assert "Confirm:" not in text
    # No longer marked in the queue.
    listed = referral_queue_page(
        user=specialist_user, filters=QueueFilters(), page_number=1, per_page=25, max_pages=10
    ).object_list
    assert {r.possible_duplicate for r in listed} == {None}
    with pytest.raises(ValidationError) as error:
        duplicates.duplicate_confirm(flag=flag, actor=specialist_user)
    assert error.value.messages == [duplicates.ALREADY_DISMISSED]


# Who may confirm or dismiss.


def test_another_regions_specialist_gets_the_same_refusal_as_for_any_action(
    texas_specialist_user,
):
    older = earlier()
    newer = submit()
    flag = pair_of(newer, older)
    client = as_user(texas_specialist_user)
    # The page of an action on a referral out of their region: 404, as for closing it.
    assert client.post(f"{newer.get_absolute_url()}close/").status_code == 404
    for decision in ("confirm", "dismiss"):
        assert client.post(resolve_url(newer, flag, decision)).status_code == 404
    # The services: the refusal every service gives.
    for service in (duplicates.duplicate_confirm, duplicates.duplicate_dismiss):
        with pytest.raises(ValidationError) as error:
            service(flag=flag, actor=texas_specialist_user)
        assert error.value.messages == [services.NOT_IN_SCOPE]
    assert pair_of(newer, older).status == PossibleDuplicate.Status.OPEN
    assert not ReferralEvent.objects.filter(kind__in=[CONFIRMED, DISMISSED]).exists()


def test_a_specialist_cannot_resolve_a_pair_whose_other_half_they_may_not_see(
    specialist_user,
):
    texas = earlier("TX", child_initials="KL", ncmec_case_number="7654321")
    minnesota = submit("MN", ncmec_case_number="7654321")
    flag = pair_of(minnesota, texas)
    client = as_user(specialist_user)
    for decision in ("confirm", "dismiss"):
        assert client.post(resolve_url(minnesota, flag, decision)).status_code == 404
        with pytest.raises(ValidationError) as error:
            getattr(duplicates, f"duplicate_{decision}")(flag=flag, actor=specialist_user)
        assert error.value.messages == [services.NOT_IN_SCOPE]
    minnesota.refresh_from_db()
    assert minnesota.is_open


def test_only_the_assigned_specialist_of_the_region_may_resolve():
    older = earlier()
    newer = submit()
    flag = pair_of(newer, older)
    # A colleague in the same region, who has neither referral.
    colleague = SpecialistFactory(region=Region.objects.get(number=3), name="Second Specialist")
    colleague_user = UserFactory()
    specialist_link_login(specialist=colleague, user=colleague_user)
    assigned = {older.assigned_specialist_id, newer.assigned_specialist_id}
    assert colleague.pk not in assigned
    client = as_user(colleague_user)
    text = page_text(client.get(newer.get_absolute_url()))
    assert f"Possible duplicate of {older.reference}" in text  # they may see it...
    assert "Not a duplicate" not in text  # ... not resolve it
    response = client.post(resolve_url(newer, flag, "confirm"), follow=True)
    assert duplicates.RESOLVE_NOT_ALLOWED in page_text(response)
    newer.refresh_from_db()
    assert newer.is_open


def test_resolving_needs_a_post_with_the_csrf_token(specialist_user):
    older = earlier()
    newer = submit()
    url = resolve_url(newer, pair_of(newer, older), "confirm")
    assert as_user(specialist_user).get(url).status_code == 405
    client = Client(enforce_csrf_checks=True)
    client.force_login(specialist_user)
    verify_session(client, specialist_user)
    assert client.post(url).status_code == 403
    assert pair_of(newer, older).status == PossibleDuplicate.Status.OPEN


def test_an_unknown_pair_is_a_404(specialist_user):
    referral = earlier()
    client = as_user(specialist_user)
    assert (
        client.post(f"{referral.get_absolute_url()}duplicates/999999/confirm/").status_code == 404
    )
    assert (
        client.post(
            f"{referral.get_absolute_url()}duplicates/999999999999999999/dismiss/"
        ).status_code
        == 404
    )


# The supervisor's admin.

REFERRAL_LIST = "/admin/referrals/referral/"
PAIR_LIST = "/admin/referrals/possibleduplicate/"


def test_the_admin_filters_referrals_in_a_pair_to_review(supervisor_user):
    texas = earlier("TX", child_initials="KL", ncmec_case_number="7654321")
    minnesota = submit("MN", ncmec_case_number="7654321")
    alone = earlier("WI", child_initials="ZZ")
    client = as_user(supervisor_user)
    response = client.get(REFERRAL_LIST, {"duplicate": "open"})
    shown = {referral.reference for referral in response.context["cl"].result_list}
    assert shown == {texas.reference, minnesota.reference}
    assert alone.reference not in shown
    assert "By possible duplicate" in page_text(client.get(REFERRAL_LIST))
    # Once dismissed, under "Not a duplicate" and no longer under "To review".
    duplicates.duplicate_dismiss(flag=pair_of(minnesota, texas), actor=supervisor_user)
    assert not client.get(REFERRAL_LIST, {"duplicate": "open"}).context["cl"].result_list
    dismissed = client.get(REFERRAL_LIST, {"duplicate": "dismissed"}).context["cl"].result_list
    assert {referral.pk for referral in dismissed} == {texas.pk, minnesota.pk}


def test_a_supervisor_confirms_and_dismisses_pairs_from_the_admin(supervisor_user):
    texas = earlier("TX", child_initials="KL", ncmec_case_number="7654321")
    minnesota = submit("MN", ncmec_case_number="7654321")
    kept = earlier(child_initials="PQ", days_ago=4)
    other = submit(child_initials="PQ")
    confirm_me, dismiss_me = pair_of(minnesota, texas), pair_of(other, kept)
    client = as_user(supervisor_user)
    listing = page_text(client.get(PAIR_LIST))
    assert minnesota.reference in listing and texas.reference in listing
    page = client.get(f"{PAIR_LIST}{confirm_me.pk}/change/")
    assert page.status_code == 200
    assert PossibleDuplicate.Reason.NCMEC_CASE.label in page_text(page)
    for action, flag in (("confirm", confirm_me), ("dismiss", dismiss_me)):
        response = client.post(
            PAIR_LIST, {"action": action, "index": 0, "_selected_action": [flag.pk]}, follow=True
        )
        assert response.status_code == 200
    minnesota.refresh_from_db()
    assert minnesota.outcome == Referral.Outcome.DUPLICATE
    assert pair_of(minnesota, texas).status == PossibleDuplicate.Status.CONFIRMED
    assert pair_of(other, kept).status == PossibleDuplicate.Status.DISMISSED
    assert len(events(texas, CONFIRMED)) == len(events(kept, DISMISSED)) == 1
    # A refusal is reported, not a 500: the confirmed pair cannot be dismissed.
    response = client.post(
        PAIR_LIST,
        {"action": "dismiss", "index": 0, "_selected_action": [confirm_me.pk]},
        follow=True,
    )
    assert "Not dismissed" in page_text(response)
    assert open_count_drift() == []


def test_a_specialist_with_staff_status_has_no_admin_for_pairs(specialist_user):
    specialist_user.is_staff = True
    specialist_user.save(update_fields=["is_staff"])
    older = earlier()
    newer = submit()
    flag = pair_of(newer, older)
    client = as_user(specialist_user)
    assert client.get(PAIR_LIST).status_code == 403
    assert client.get(f"{PAIR_LIST}{flag.pk}/change/").status_code == 403
    response = client.post(
        PAIR_LIST, {"action": "confirm", "index": 0, "_selected_action": [flag.pk]}
    )
    assert response.status_code == 403
    assert pair_of(newer, older).status == PossibleDuplicate.Status.OPEN


# On PostgreSQL: the plan of the search made on every submission.


def explain(sql) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="Query plans are PostgreSQL's; CI runs this on PostgreSQL (RST_REQUIRE_POSTGRES=1).",
)
@pytest.mark.parametrize("ncmec_case_number", ["", "5550123"])
def test_the_search_reads_its_indexes_not_the_referral_table(ncmec_case_number):
    jurisdictions = list(Jurisdiction.objects.filter(code__in=["MN", "TX", "WI", "CA"]))
    now = timezone.now()
    letters = "ABCDEFGHJKLMNPRSTW"
    batch = []
    for n in range(4000):
        jurisdiction = jurisdictions[n % len(jurisdictions)]
        closed = n % 3 == 0
        batch.append(
            ReferralFactory.build(
                jurisdiction=jurisdiction,
                region=jurisdiction.region,
                assigned_specialist=None,
                child_initials=letters[n % 18] + letters[(n // 18) % 18],
                child_age=n % 22,
                ncmec_case_number=str(1000000 + n) if n % 4 == 0 else "",
                status="closed" if closed else "new",
                outcome="connected" if closed else "",
                submitted_at=now - timedelta(hours=n),
            )
        )
    Referral.objects.bulk_create(batch, batch_size=1000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE referrals_referral")

    with CaptureQueriesContext(connection) as queries:
        submit(child_initials="AB", ncmec_case_number=ncmec_case_number)
    [search] = [q["sql"] for q in queries.captured_queries if "FOR UPDATE" in q["sql"]][:1] or [
        None
    ]
    assert search is not None and "child_initials" in search
    plan = explain(search)
    assert "Seq Scan on referrals_referral" not in plan, plan
    assert "referral_dup_initials" in plan, plan
    if ncmec_case_number:
        assert "referral_dup_ncmec" in plan, plan


# On PostgreSQL: the locks a submission takes, against a change to the referral it matches.


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="Needs PostgreSQL's row locks and two connections; CI runs it on PostgreSQL "
    "(RST_REQUIRE_POSTGRES=1 makes a non-PostgreSQL CI run fail).",
)
@pytest.mark.django_db(transaction=True)
def test_a_submission_waits_for_a_change_to_the_referral_it_matches_without_deadlock():
    older = earlier()  # Stacy's, in Minnesota: the submission is routed to her as well
    errors, made = [], []

    def run():
        try:
            made.append(submit())
        except Exception as error:  # noqa: BLE001 - reported by the test
            errors.append(repr(error))
        finally:
            connections.close_all()

    submission = threading.Thread(target=run)
    # A change to the older referral, as every service makes one: its row locked first,
    # then its specialist's row (the open-referral count). The submission locks the
    # referrals it matches before routing locks specialists: it waits here, holding
    # nothing this change needs. Had it locked Stacy's row first, each would wait for
    # the other and PostgreSQL would abort one of them.
    try:
        with transaction.atomic():
            Referral.objects.select_for_update().get(pk=older.pk)
            submission.start()
            wait_until_waiting(1, what="the change")
            ResourceSpecialist.objects.filter(pk=older.assigned_specialist_id).update(
                open_referral_count=F("open_referral_count")
            )
    except Exception as error:  # noqa: BLE001
        errors.append(repr(error))
    submission.join(timeout=30)

    assert errors == []
    [newer] = made
    assert pair_of(newer, older).reason == PossibleDuplicate.Reason.INITIALS_AGE


def test_a_follow_up_on_the_closed_duplicate_reaches_the_kept_referrals_specialist(
    specialist_user,
):
    older = earlier()
    newer = submit()
    duplicates.duplicate_confirm(flag=pair_of(newer, older), actor=specialist_user)
    link, _ = status_links.status_link_mint(referral=newer)

    status_links.status_link_follow_up(
        link=link, text="He was seen in Duluth last night.", action_token="d" * 32
    )

    older.refresh_from_db()
    assert older.has_new_information  # "New information" in the queue, on the kept one
    [notice] = older.notifications.filter(kind=Notification.Kind.FOLLOW_UP)
    assert notice.specialist == older.assigned_specialist
    assert not newer.notifications.filter(kind=Notification.Kind.FOLLOW_UP_CLOSED).exists()
    # The kept referral's page shows it (the duplicates panel).
    text = page_text(as_user(specialist_user).get(older.get_absolute_url()))
    assert "He was seen in Duluth last night." in text


def test_detail_skips_the_duplicates_lookup_without_pairs(specialist_user):
    # The page asks for pairs only when one names the referral (referral_for_user says).
    alone = earlier()
    client = as_user(specialist_user)
    client.get(alone.get_absolute_url())
    with CaptureQueriesContext(connection) as without_pairs:
        client.get(alone.get_absolute_url())
    newer = submit()
    assert pair_of(newer, alone) is not None
    with CaptureQueriesContext(connection) as with_pair:
        response = client.get(alone.get_absolute_url())
    assert len(with_pair) == len(without_pairs) + 1
    assert newer.reference in page_text(response)
