"""Each lifecycle action: what it allows, what it refuses, the event it writes."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from referrals import lifecycle, services
from referrals.models import Referral, ReferralEvent
from regions.models import Jurisdiction, ResourceSpecialist
from tests.clock import eastern
from tests.factories import ReferralFactory, SpecialistFactory

pytestmark = pytest.mark.usefixtures("reference_data")

NEW, ACK, WIP, CLOSED = "new", "acknowledged", "in_progress", "closed"


def make(status=NEW, **kwargs):
    if status == CLOSED:
        kwargs.setdefault("outcome", "connected")
    if status != NEW:
        kwargs.setdefault("first_contacted_at", timezone.now())
    return ReferralFactory(status=status, **kwargs)


def kinds(referral):
    return list(referral.events.values_list("kind", flat=True))


def test_acknowledge_new(specialist_user):
    referral = services.referral_acknowledge(referral=make(), actor=specialist_user)
    referral.refresh_from_db()
    assert referral.status == ACK
    assert referral.first_contacted_at is not None
    assert not referral.is_overdue(now=referral.first_contact_due_at + timedelta(days=1))
    event = referral.events.get()
    assert (event.kind, event.actor) == ("acknowledged", specialist_user)


@pytest.mark.parametrize("status", [ACK, WIP, CLOSED])
def test_acknowledge_refused_unless_new(specialist_user, status):
    referral = make(status)
    with pytest.raises(ValidationError) as error:
        services.referral_acknowledge(referral=referral, actor=specialist_user)
    assert error.value.messages[0].startswith("Only a new referral can be acknowledged")
    assert kinds(referral) == []


def test_start_acknowledged(specialist_user):
    referral = services.referral_start(referral=make(ACK), actor=specialist_user)
    assert Referral.objects.get(pk=referral.pk).status == WIP
    assert kinds(referral) == ["started"]


@pytest.mark.parametrize("status", [NEW, WIP, CLOSED])
def test_start_refused_unless_acknowledged(specialist_user, status):
    referral = make(status)
    with pytest.raises(ValidationError, match="Only an acknowledged referral"):
        services.referral_start(referral=referral, actor=specialist_user)
    assert Referral.objects.get(pk=referral.pk).status == status


@pytest.mark.parametrize("status", [NEW, ACK, WIP])
def test_close_any_open_referral(specialist_user, status):
    referral = services.referral_close(
        referral=make(status), actor=specialist_user, outcome="recovery_plan", note="Plan agreed."
    )
    referral.refresh_from_db()
    assert (referral.status, referral.outcome, referral.closing_note) == (
        CLOSED,
        "recovery_plan",
        "Plan agreed.",
    )
    assert referral.closed_at is not None
    event = referral.events.get()
    assert event.kind == "closed"
    assert event.message == "Recovery plan supported: Plan agreed."


def test_close_refused_when_closed_or_incomplete(specialist_user):
    with pytest.raises(ValidationError, match="This referral is closed"):
        services.referral_close(
            referral=make(CLOSED), actor=specialist_user, outcome="training", note="x"
        )
    referral = make(WIP)
    with pytest.raises(ValidationError, match=services.CLOSE_NEEDS_OUTCOME):
        services.referral_close(
            referral=referral, actor=specialist_user, outcome="nonsense", note="x"
        )
    with pytest.raises(ValidationError, match=services.CLOSE_NEEDS_NOTE):
        services.referral_close(
            referral=referral, actor=specialist_user, outcome="training", note=" "
        )
    # "Duplicate" only by confirming a possible duplicate, which links the two.
    with pytest.raises(ValidationError) as refused:
        services.referral_close(
            referral=referral, actor=specialist_user, outcome="duplicate", note="Same child."
        )
    assert refused.value.message_dict == {"outcome": [services.CLOSE_DUPLICATE_NOT_HERE]}
    assert Referral.objects.get(pk=referral.pk).status == WIP
    assert kinds(referral) == []


def test_reopen_is_for_supervisors(specialist_user, supervisor_user):
    referral = make(CLOSED, closing_note="Plan agreed.")
    with pytest.raises(ValidationError, match=services.SUPERVISOR_ONLY):
        services.referral_reopen(referral=referral, actor=specialist_user, reason="More help")
    services.referral_reopen(referral=referral, actor=supervisor_user, reason="More help needed")
    referral.refresh_from_db()
    # Back to acknowledged: "start" must be recorded again before work resumes.
    assert (referral.status, referral.outcome, referral.closed_at, referral.closing_note) == (
        ACK,
        "",
        None,
        "",
    )
    assert referral.events.get().message == "More help needed"


def test_reopen_before_first_contact_goes_back_to_new(supervisor_user):
    referral = ReferralFactory(status=CLOSED, outcome="out_of_scope")
    services.referral_reopen(referral=referral, actor=supervisor_user, reason="Wrong outcome")
    assert Referral.objects.get(pk=referral.pk).status == NEW


def test_reopen_needs_a_reason(supervisor_user):
    referral = ReferralFactory(status=CLOSED, outcome="out_of_scope")
    with pytest.raises(ValidationError, match=services.REOPEN_NEEDS_REASON):
        services.referral_reopen(referral=referral, actor=supervisor_user, reason="  ")
    assert Referral.objects.get(pk=referral.pk).status == CLOSED


def test_text_longer_than_the_limit_is_refused_not_cut(specialist_user):
    referral = make(NEW)
    with pytest.raises(ValidationError, match="Keep this to 5,000 characters"):
        services.referral_add_note(referral=referral, actor=specialist_user, text="x" * 5001)
    assert kinds(referral) == []


@pytest.mark.parametrize("status", [NEW, ACK, WIP])
def test_reopen_refused_when_open(supervisor_user, status):
    with pytest.raises(ValidationError, match=lifecycle.REOPEN_NOT_CLOSED):
        services.referral_reopen(referral=make(status), actor=supervisor_user, reason="Why")


def test_notes_on_any_status_but_not_empty(specialist_user):
    for status in (NEW, ACK, WIP, CLOSED):
        referral = services.referral_add_note(
            referral=make(status), actor=specialist_user, text="  Called the caseworker. "
        )
        assert referral.events.get().message == "Called the caseworker."
    with pytest.raises(ValidationError, match=services.NOTE_EMPTY):
        services.referral_add_note(referral=make(), actor=specialist_user, text="   ")


def test_contact_attempt_recorded_with_method_and_date(specialist_user):
    day = timezone.localdate() - timedelta(days=1)
    referral = services.referral_record_contact(
        referral=make(), actor=specialist_user, method="phone", contact_date=day, text="Voicemail"
    )
    event = referral.events.get()
    assert (event.kind, event.contact_method, event.contact_date, event.message) == (
        "contact",
        "phone",
        day,
        "Voicemail",
    )
    # A contact attempt is not first contact: the referral stays new.
    assert Referral.objects.get(pk=referral.pk).status == NEW


def test_contact_attempt_refusals(specialist_user):
    tomorrow = timezone.localdate() + timedelta(days=1)
    with pytest.raises(ValidationError, match=services.CONTACT_DATE_IN_FUTURE):
        services.referral_record_contact(
            referral=make(), actor=specialist_user, method="phone", contact_date=tomorrow
        )
    with pytest.raises(ValidationError, match=services.CONTACT_NEEDS_METHOD):
        services.referral_record_contact(
            referral=make(), actor=specialist_user, method="fax", contact_date=timezone.localdate()
        )
    with pytest.raises(ValidationError, match="This referral is closed"):
        services.referral_record_contact(
            referral=make(CLOSED),
            actor=specialist_user,
            method="email",
            contact_date=timezone.localdate(),
        )
    assert ReferralEvent.objects.count() == 0


def test_transfer_reroutes_to_the_new_regions_specialist(specialist_user):
    referral = make(ACK)
    services.referral_transfer(
        referral=referral,
        actor=specialist_user,
        jurisdiction=Jurisdiction.objects.get(code="TX"),
        reason="Child moved to Texas",
    )
    referral.refresh_from_db()
    assert referral.jurisdiction_id == "TX"
    assert referral.region.number == 4
    assert referral.assigned_specialist.name == "Kyla Conlee"
    assert referral.status == ACK
    event = referral.events.get()
    assert event.kind == "transferred"
    assert event.message == (
        "MN → TX: Child moved to Texas. auto-routed: TX → Region 4 → Kyla Conlee (0 open)"
    )
    assert (event.region.number, event.specialist.name) == (4, "Kyla Conlee")


def test_transfer_refusals(specialist_user):
    referral = make()
    with pytest.raises(ValidationError, match="already in Minnesota"):
        services.referral_transfer(
            referral=referral,
            actor=specialist_user,
            jurisdiction=Jurisdiction.objects.get(code="MN"),
            reason="moved",
        )
    with pytest.raises(ValidationError, match="Say why"):
        services.referral_transfer(
            referral=referral,
            actor=specialist_user,
            jurisdiction=Jurisdiction.objects.get(code="TX"),
            reason=" ",
        )
    with pytest.raises(ValidationError, match="This referral is closed"):
        services.referral_transfer(
            referral=make(CLOSED),
            actor=specialist_user,
            jurisdiction=Jurisdiction.objects.get(code="TX"),
            reason="moved",
        )
    assert Referral.objects.get(pk=referral.pk).jurisdiction_id == "MN"


def test_take_over_within_my_region(specialist_user):
    colleague = SpecialistFactory(region=specialist_user.resource_specialist.region)
    referral = make(assigned_specialist=colleague)
    services.referral_take_over(referral=referral, actor=specialist_user)
    referral.refresh_from_db()
    assert referral.assigned_specialist == specialist_user.resource_specialist
    event = referral.events.get()
    assert event.kind == "reassigned"
    assert event.message == f"taken over: {colleague.name} → Stacy Schultz"


def test_take_over_refusals(specialist_user, other_specialist_user, supervisor_user):
    mine = make()  # Minnesota: already Stacy's
    with pytest.raises(ValidationError, match=services.TAKE_OVER_ALREADY_YOURS):
        services.referral_take_over(referral=mine, actor=specialist_user)
    with pytest.raises(ValidationError, match=services.TAKE_OVER_OTHER_REGION):
        services.referral_take_over(referral=mine, actor=other_specialist_user)
    with pytest.raises(ValidationError, match=services.TAKE_OVER_NOT_SPECIALIST):
        services.referral_take_over(referral=mine, actor=supervisor_user)
    assert kinds(mine) == []


def test_overdue_boundary():
    # Friday 20 November 2026, 16:00 Eastern: 1 business hour on Friday, 7 on Monday.
    submitted = eastern(2026, 11, 20, 16)
    referral = ReferralFactory(submitted_at=submitted)
    due = referral.first_contact_due_at
    assert due == eastern(2026, 11, 23, 16)
    just_before, just_after = due - timedelta(minutes=1), due + timedelta(minutes=1)
    assert not referral.is_overdue(now=just_before)
    assert referral.is_overdue(now=just_after)
    assert not Referral.objects.overdue(now=just_before).exists()
    assert Referral.objects.overdue(now=just_after).get() == referral
    # 24 calendar hours later is Saturday: not overdue, the weekend is not business time.
    assert not referral.is_overdue(now=submitted + timedelta(hours=24, minutes=1))


def test_urgent_due_in_four_business_hours(settings):
    submitted = eastern(2026, 11, 24, 15)  # Tuesday: 2 business hours left today
    due = services.first_contact_due(submitted_at=submitted, urgency="urgent")
    assert due == eastern(2026, 11, 25, 11)
    settings.RST_URGENT_FIRST_CONTACT_BUSINESS_HOURS = 2
    settings.RST_FIRST_CONTACT_BUSINESS_HOURS = 16
    assert services.first_contact_due(submitted_at=submitted, urgency="urgent") == eastern(
        2026, 11, 24, 17
    )
    # 2 h Tuesday, 8 h Wednesday, Thanksgiving off, 6 h Friday.
    assert services.first_contact_due(submitted_at=submitted, urgency="routine") == eastern(
        2026, 11, 27, 15
    )
    referral = ReferralFactory(urgency="urgent", submitted_at=submitted, first_contact_due_at=due)
    assert not referral.is_overdue(now=due - timedelta(minutes=1))
    assert referral.is_overdue(now=due + timedelta(minutes=1))


def test_acknowledged_referral_is_never_overdue(specialist_user):
    # A week back always holds more than one business day, holidays or not.
    referral = ReferralFactory(submitted_at=timezone.now() - timedelta(days=7))
    assert referral.is_overdue()
    services.referral_acknowledge(referral=referral, actor=specialist_user)
    assert not Referral.objects.overdue().exists()


def test_allowed_actions(specialist_user, supervisor_user):
    assert services.referral_allowed_actions(referral=make(), user=specialist_user) == {
        "acknowledge",
        "note",
        "contact",
        "close",
        "transfer",
        "share_resources",
    }
    assert "start" in services.referral_allowed_actions(referral=make(ACK), user=specialist_user)
    assert services.referral_allowed_actions(referral=make(CLOSED), user=specialist_user) == {
        "note"
    }
    assert services.referral_allowed_actions(referral=make(CLOSED), user=supervisor_user) == {
        "note",
        "reopen",
    }
    unassigned = make(assigned_specialist=None)
    assert "take_over" in services.referral_allowed_actions(
        referral=unassigned, user=specialist_user
    )
    assert ResourceSpecialist.objects.count() == 5


def test_rerouting_does_not_count_the_referral_against_its_own_specialist(specialist_user):
    stacy = specialist_user.resource_specialist
    colleague = SpecialistFactory(region=stacy.region)
    ReferralFactory(assigned_specialist=colleague)  # the colleague has 1 open
    ResourceSpecialist.objects.filter(pk=stacy.pk).update(last_assigned_at=timezone.now())
    referral = make(assigned_specialist=stacy)  # Stacy's only open referral
    services.referral_transfer(
        referral=referral,
        actor=specialist_user,
        jurisdiction=Jurisdiction.objects.get(code="WI"),
        reason="Moved to Wisconsin",
    )
    referral.refresh_from_db()
    assert referral.assigned_specialist == stacy
    assert referral.events.get().message.endswith("→ Stacy Schultz (0 open)")

    services.referral_reroute(referral=referral, actor=specialist_user)
    referral.refresh_from_db()
    assert referral.assigned_specialist == stacy
