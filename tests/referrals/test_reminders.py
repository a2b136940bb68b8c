"""Deadline reminders: when each fires and when it does not, what it says, and what it never says.

Rounds are run directly (`reminders_run`), with the e-mails sent inline (ImmediateBackend)
unless a test looks at the outbox's queue. The real worker on PostgreSQL, runs twice and
two workers at once are in test_reminders_worker.py.
"""

import re
import signal
import smtplib
import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import dateformat, timezone
from django_tasks_db.models import DBTaskResult

from accounts.models import StaffProfile
from referrals import reminders, services, tasks
from referrals.deadlines import add_business_hours, federal_holiday, is_working_day, office_zone
from referrals.models import DailyDigest, Notification, Referral, ReferralEvent, Service
from referrals.reminders import (
    ESCALATION_CATCH_UP,
    TICK_EVERY,
    daily_digest_if_due,
    reminders_run,
    reminders_schedule,
    reminders_tick,
    send_daily_digest,
)
from regions.models import Jurisdiction, Region, ResourceSpecialist
from tests.factories import SpecialistFactory
from tests.helpers import as_user, page_text

pytestmark = pytest.mark.usefixtures("reference_data")

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
STACY = "SLSchultz@ncmec.org"
SUPERVISORS = ["RecoveryServices@NCMEC.ORG", "sasahl@ncmec.org"]
DIGESTS = "/admin/referrals/dailydigest/"

# A case whose every detail is distinctive, so its absence from an e-mail can be checked.
CASE = {
    "referrer_name": "Quentin Okafor-Lindqvist",
    "referrer_role": "law_enforcement",
    "agency": "Zebulon Valley Family Services",
    "referrer_email": "q.okafor@zebulon-valley.example.org",
    "referrer_phone": "218-555-0147",
    "county": "Zebulon",
    "child_initials": "UIO",
    "child_age": 13,
    "child_status": "at_risk",
    "ncmec_case_number": "7654321",
    "law_enforcement_involved": "yes",
    "summary": "Seen near the Harborview bus depot with an adult who drives a red van.",
}


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://rst.example.org"
    settings.RST_DUE_SOON_BUSINESS_HOURS = 1
    tasks.mail_pause.end()
    yield
    tasks.mail_pause.end()


@pytest.fixture(autouse=True)
def _todays_digest_went_out(reference_data):
    """Today's digest is already sent: rounds run at the real time send none of their own
    (the digest's tests use days to come)."""
    today = timezone.localdate(timezone.now(), office_zone())
    DailyDigest.objects.create(day=today, status="sent", sent_at=timezone.now())


@pytest.fixture
def inline(settings):
    """Send each e-mail as it is queued."""
    settings.TASKS = IMMEDIATE


def refer(*, code="MN", urgency="routine") -> Referral:
    """A referral made as the public form makes one, with CASE's details."""
    referral, _ = services.referral_create(
        submission_token=uuid.uuid4().hex,
        services=list(Service.objects.filter(number=2)),
        jurisdiction=Jurisdiction.objects.get(code=code),
        status_date=timezone.localdate() - timedelta(days=400),
        urgency=urgency,
        **CASE,
    )
    mail.outbox.clear()  # the submission's own e-mails
    return referral


def set_due(referral: Referral, due: datetime) -> Referral:
    Referral.objects.filter(pk=referral.pk).update(first_contact_due_at=due)
    referral.refresh_from_db()
    return referral


def due_in(business_hours: float) -> datetime:
    return add_business_hours(timezone.now(), business_hours)


def just_overdue() -> datetime:
    return timezone.now() - timedelta(minutes=5)


def kinds(referral: Referral, kind: str) -> list[ReferralEvent]:
    return list(referral.events.filter(kind=kind))


def to(address: str) -> list:
    return [message for message in mail.outbox if address in message.to]


def local_time(moment: datetime, zone) -> str:
    """How the e-mails write a time (the `date` filter's format), in `zone`."""
    return dateformat.format(moment.astimezone(zone), "g:i A T")


def leaked(text: str, referral: Referral) -> list[str]:
    """Every child or referrer detail of `referral` that appears in `text`."""
    status_date = referral.status_date
    values = [
        referral.referrer_name,
        referral.get_referrer_role_display(),
        referral.agency,
        referral.referrer_email,
        referral.referrer_phone,
        referral.county,
        referral.ncmec_case_number,
        referral.summary,
        "Harborview",
        "red van",
        referral.get_child_status_display(),
        status_date.isoformat(),
        dateformat.format(status_date, "F j, Y"),
        dateformat.format(status_date, "M j, Y"),
        dateformat.format(status_date, "n/j/Y"),
    ]
    found = [value for value in values if value.lower() in text.lower()]
    patterns = [
        rf"\b{referral.child_initials}\b",
        rf"\bage:?\s*{referral.child_age}\b",
        rf"\b{referral.child_age}[ -]years?\b",
        rf"\b{referral.child_age}[ -]year-old\b",
    ]
    found += [pattern for pattern in patterns if re.search(pattern, text, re.IGNORECASE)]
    return found


# Due soon: to the assigned specialist, once per assignment.


def test_due_soon_reminds_the_assigned_specialist_once(inline):
    referral = set_due(refer(), due_in(0.5))

    reminders_run()
    reminders_run()

    (message,) = mail.outbox
    assert message.to == [STACY]
    assert referral.reference in message.subject
    assert "due soon" in message.subject
    assert "(Region 3)" in message.subject
    assert f"https://rst.example.org/queue/{referral.reference}/" in message.body
    assert local_time(referral.first_contact_due_at, office_zone()) in message.body
    assert leaked(message.subject + message.body, referral) == []
    (event,) = kinds(referral, ReferralEvent.Kind.DUE_SOON)
    assert event.specialist.name == "Stacy Schultz"
    assert event.actor is None
    assert "Stacy Schultz" in event.message
    notice = referral.notifications.get(kind=Notification.Kind.DUE_SOON)
    assert (notice.status, notice.specialist.name) == ("sent", "Stacy Schultz")


def test_an_urgent_referral_says_so_in_the_reminders_subject(inline):
    referral = set_due(refer(urgency="urgent"), due_in(0.5))
    reminders_run()
    (message,) = mail.outbox
    assert message.subject.startswith("[RST] URGENT")
    assert referral.reference in message.subject


def test_due_soon_waits_for_the_window_the_setting_gives(inline, settings):
    referral = set_due(refer(), due_in(2))
    reminders_run()
    assert mail.outbox == []
    assert kinds(referral, ReferralEvent.Kind.DUE_SOON) == []

    settings.RST_DUE_SOON_BUSINESS_HOURS = 3
    reminders_run()
    assert [message.to for message in mail.outbox] == [[STACY]]


def test_due_soon_shows_the_due_time_in_the_specialists_own_zone(inline, specialist_user):
    StaffProfile.objects.create(user=specialist_user, time_zone="America/Chicago")
    referral = set_due(refer(), due_in(0.5))
    reminders_run()
    (message,) = mail.outbox
    chicago = local_time(referral.first_contact_due_at, ZoneInfo("America/Chicago"))
    assert chicago in message.body
    assert chicago.split()[-1] in ("CST", "CDT")


def test_a_reassigned_referral_reminds_the_new_specialist_once(inline, supervisor_user):
    referral = set_due(refer(), due_in(0.5))
    reminders_run()
    second = SpecialistFactory(region=Region.objects.get(number=3), name="Riley Second")
    services.referral_reassign(referral=referral, actor=supervisor_user, specialist=second)
    mail.outbox.clear()  # the reassignment's own notice

    reminders_run()
    reminders_run()

    assert [message.to for message in mail.outbox] == [[second.email]]
    events = kinds(referral, ReferralEvent.Kind.DUE_SOON)
    assert [event.specialist.name for event in events] == ["Stacy Schultz", "Riley Second"]


def test_acknowledged_before_it_was_due_gets_no_reminder_and_no_escalation(inline, specialist_user):
    soon = refer()
    services.referral_acknowledge(referral=soon, actor=specialist_user)
    set_due(soon, due_in(0.5))
    late = refer()
    services.referral_acknowledge(referral=late, actor=specialist_user)
    set_due(late, just_overdue())

    reminders_run()

    assert mail.outbox == []
    assert not ReferralEvent.objects.filter(
        kind__in=[ReferralEvent.Kind.DUE_SOON, ReferralEvent.Kind.ESCALATED]
    ).exists()


def test_closed_referrals_get_no_reminders(inline, specialist_user):
    for due in (due_in(0.5), just_overdue()):
        referral = refer()
        services.referral_close(
            referral=referral, actor=specialist_user, outcome="out_of_scope", note="Not ours."
        )
        set_due(referral, due)
    reminders_run()
    assert mail.outbox == []


def test_a_reminder_queued_but_not_yet_sent_is_dropped_once_first_contact_is_recorded(
    specialist_user,
):
    # The worker's backend (the default): the reminder waits in the outbox.
    referral = set_due(refer(), due_in(0.5))
    reminders_run()
    notice = referral.notifications.get(kind=Notification.Kind.DUE_SOON)
    assert notice.status == "pending"

    services.referral_acknowledge(referral=referral, actor=specialist_user)
    tasks.send_notification.call(notification_id=notice.pk, token=notice.task_token)

    notice.refresh_from_db()
    assert notice.status == "skipped"
    assert "First contact was recorded" in notice.skip_reason
    assert mail.outbox == []


# Overdue: to the supervisors and the team mailbox, once per referral.


def test_overdue_tells_the_supervisors_once(inline):
    referral = set_due(refer(), just_overdue())

    reminders_run()
    reminders_run()

    (message,) = mail.outbox
    assert sorted(message.to) == SUPERVISORS
    assert referral.reference in message.subject
    assert "overdue" in message.subject
    assert "Stacy Schultz" in message.body
    assert f"https://rst.example.org/queue/{referral.reference}/" in message.body
    assert local_time(referral.first_contact_due_at, office_zone()) in message.body
    assert leaked(message.subject + message.body, referral) == []
    (event,) = kinds(referral, ReferralEvent.Kind.ESCALATED)
    assert event.actor is None
    assert referral.notifications.get(kind=Notification.Kind.OVERDUE).status == "sent"


def test_a_referral_long_overdue_when_reminders_start_is_left_to_the_digest(inline):
    referral = set_due(refer(), timezone.now() - ESCALATION_CATCH_UP - timedelta(hours=1))
    reminders_run()
    assert mail.outbox == []
    assert kinds(referral, ReferralEvent.Kind.ESCALATED) == []


def test_a_referral_due_soon_then_overdue_gets_both_once(inline):
    referral = set_due(refer(), due_in(0.5))
    reminders_run()
    set_due(referral, just_overdue())
    reminders_run()
    reminders_run()
    assert [sorted(message.to) for message in mail.outbox] == [[STACY], SUPERVISORS]


# Supervisor intake: nobody to remind, so the supervisors hear when it is overdue.


def test_an_intake_referral_gets_no_due_soon_but_is_escalated_when_overdue(inline):
    ResourceSpecialist.objects.filter(region__number=3).update(is_active=False)
    referral = set_due(refer(), due_in(0.5))
    assert referral.assigned_specialist is None
    reminders_run()
    assert mail.outbox == []

    set_due(referral, just_overdue())
    reminders_run()
    (message,) = mail.outbox
    assert sorted(message.to) == SUPERVISORS
    assert "nobody (supervisor intake)" in message.body
    assert leaked(message.subject + message.body, referral) == []


# The referral's history shows the reminders, on its page and in the admin.


def test_the_reminders_are_in_the_referrals_history(inline, specialist_user, supervisor_user):
    referral = set_due(refer(), due_in(0.5))
    reminders_run()
    set_due(referral, just_overdue())
    reminders_run()

    page = page_text(as_user(specialist_user).get(referral.get_absolute_url()))
    assert ReferralEvent.Kind.DUE_SOON.label in page
    assert ReferralEvent.Kind.ESCALATED.label in page
    admin_page = page_text(
        as_user(supervisor_user).get(f"/admin/referrals/referral/{referral.pk}/change/")
    )
    assert ReferralEvent.Kind.DUE_SOON.label in admin_page
    assert ReferralEvent.Kind.ESCALATED.label in admin_page


# The daily digest.


def next_day(condition) -> date:
    day = timezone.localdate(timezone.now(), office_zone()) + timedelta(days=1)
    while not condition(day):
        day += timedelta(days=1)
    return day


def at(day, clock: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(clock), tzinfo=office_zone())


def test_the_digest_goes_once_on_a_working_day_from_the_set_time(inline, settings):
    settings.RST_DIGEST_AT = "08:00"
    working_day = next_day(is_working_day)
    overdue = set_due(refer(), just_overdue())
    ResourceSpecialist.objects.filter(region__number=4).update(is_active=False)
    intake = refer(code="TX")
    mail.outbox.clear()

    assert daily_digest_if_due(now=at(working_day, "07:59")) is None
    assert mail.outbox == []
    reminders_run(now=at(working_day, "08:05"))
    reminders_run(now=at(working_day, "16:00"))

    (digest,) = [message for message in mail.outbox if "digest" in message.subject.lower()]
    assert sorted(digest.to) == SUPERVISORS
    assert "1 overdue" in digest.subject
    assert "1 in supervisor intake" in digest.subject
    for referral in (overdue, intake):
        assert f"https://rst.example.org/queue/{referral.reference}/" in digest.body
        assert leaked(digest.subject + digest.body, referral) == []
    assert "Region 3" in digest.body
    assert "no region" not in digest.body  # Texas has a region, but no one to take it
    assert local_time(overdue.first_contact_due_at, office_zone()) in digest.body
    row = DailyDigest.objects.get(day=working_day)
    assert (row.status, row.overdue_count, row.intake_count) == ("sent", 1, 1)


def test_no_digest_on_weekends_or_federal_holidays(inline):
    saturday = next_day(lambda day: day.weekday() == 5)
    holiday = next_day(lambda day: day.weekday() < 5 and federal_holiday(day) is not None)
    for day in (saturday, holiday):
        assert daily_digest_if_due(now=at(day, "12:00")) is None
        assert not DailyDigest.objects.filter(day=day).exists()
    assert mail.outbox == []


def test_a_digest_with_nothing_to_report_says_so(inline):
    reminders_run(now=at(next_day(is_working_day), "09:00"))
    (digest,) = mail.outbox
    assert "0 overdue" in digest.subject
    assert "Nothing is overdue" in digest.body


def test_a_digest_the_mail_server_refuses_for_now_is_retried_then_sent(monkeypatch, settings):
    settings.RST_NOTICE_RETRY_DELAYS = [60]
    digest = daily_digest_if_due(now=at(next_day(is_working_day), "08:30"))
    (queued,) = DBTaskResult.objects.filter(task_path=send_daily_digest.module_path)

    def refuse(self, *args, **kwargs):
        raise smtplib.SMTPRecipientsRefused({"sasahl@ncmec.org": (451, b"try later")})

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    with pytest.raises(reminders.DigestNotSent) as raised:
        send_daily_digest.call(**queued.args_kwargs["kwargs"])
    assert "sasahl" not in str(raised.value)
    digest.refresh_from_db()
    assert (digest.status, digest.attempts) == ("pending", 1)
    assert digest.last_error.startswith("the mail server refused the recipient (451")
    retry = DBTaskResult.objects.get(
        task_path=send_daily_digest.module_path, args_kwargs__kwargs__attempt=2
    )
    assert retry.run_after > timezone.now() + timedelta(seconds=50)

    monkeypatch.undo()
    # The first task run again (say, re-queued after its worker died) does nothing.
    send_daily_digest.call(**queued.args_kwargs["kwargs"])
    assert mail.outbox == []
    send_daily_digest.call(**retry.args_kwargs["kwargs"])
    assert len(mail.outbox) == 1
    digest.refresh_from_db()
    assert (digest.status, digest.attempts, digest.last_error) == ("sent", 2, "")


def test_a_failed_digest_is_shown_to_supervisors_read_only(
    monkeypatch, supervisor_user, specialist_user
):
    digest = daily_digest_if_due(now=at(next_day(is_working_day), "08:30"))

    def refuse(self, *args, **kwargs):
        raise smtplib.SMTPDataError(554, b"rejected")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    with pytest.raises(reminders.DigestNotSent):
        send_daily_digest.call(digest_id=digest.pk, attempt=1)
    digest.refresh_from_db()
    assert digest.status == "failed"

    supervisor = as_user(supervisor_user)
    listing = supervisor.get(DIGESTS, {"status__exact": "failed"})
    assert listing.status_code == 200
    assert [row.pk for row in listing.context["cl"].result_list] == [digest.pk]
    assert "the mail server refused the message (554 rejected)" in page_text(listing)
    page = supervisor.get(f"{DIGESTS}{digest.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert supervisor.get(f"{DIGESTS}add/").status_code == 403
    assert supervisor.post(f"{DIGESTS}{digest.pk}/delete/", {"post": "yes"}).status_code == 403
    assert DailyDigest.objects.filter(pk=digest.pk).exists()
    assert as_user(specialist_user).get(DIGESTS).status_code in (302, 403)


# The schedule: one chain of ticks, started by the worker.


def ticks(status="READY"):
    return DBTaskResult.objects.filter(task_path=reminders_tick.module_path, status=status)


def test_scheduling_queues_one_tick_however_often_it_is_asked():
    before = timezone.now()
    assert reminders_schedule() is True
    assert reminders_schedule() is False
    (tick,) = ticks()
    assert before + TICK_EVERY <= tick.run_after <= timezone.now() + TICK_EVERY


def test_a_tick_queues_its_successor_unless_another_is_waiting():
    # Nothing waiting: the tick carries the chain on.
    reminders_tick.call()
    assert ticks().count() == 1
    # Two chains (say, two workers started before either queued one): the next tick that
    # runs finds the other one waiting and queues nothing, so one chain is left.
    reminders_tick.using(run_after=timezone.now() + TICK_EVERY).enqueue()
    assert ticks().count() == 2
    reminders_tick.call()
    assert ticks().count() == 2


def test_a_tick_sends_what_is_due(inline):
    referral = set_due(refer(), just_overdue())
    assert "overdue escalations: " + referral.reference in reminders_tick.call()
    assert len(mail.outbox) == 1


def test_old_finished_ticks_are_deleted():
    old = reminders_tick.using(run_after=timezone.now()).enqueue()
    DBTaskResult.objects.filter(id=old.id).update(
        status="SUCCESSFUL", finished_at=timezone.now() - timedelta(days=2)
    )
    recent = reminders_tick.using(run_after=timezone.now()).enqueue()
    DBTaskResult.objects.filter(id=recent.id).update(
        status="SUCCESSFUL", finished_at=timezone.now() - timedelta(hours=1)
    )
    reminders_tick.call()
    assert [str(id) for id in ticks("SUCCESSFUL").values_list("id", flat=True)] == [recent.id]


def run_worker(*options):
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        call_command("task_worker", "--no-startup-delay", *options, verbosity=0)
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


# Transactional: the worker closes a connection that is inside a transaction.
@pytest.mark.django_db(transaction=True)
def test_the_long_running_worker_starts_the_chain_and_a_batch_run_does_not(settings):
    # The lease thread of a long-running worker wakes every quarter lease: not in this test.
    settings.RST_TASK_LEASE_SECONDS = 10**7
    refer()
    run_worker("--batch")
    assert not ticks().exists()

    refer()  # two notices for the worker to send, then it stops (--max-tasks)
    run_worker("--interval", "0", "--max-tasks", "2")
    (tick,) = ticks()
    assert tick.run_after > timezone.now()


def test_send_reminders_runs_one_round(inline, capsys):
    referral = set_due(refer(), just_overdue())
    call_command("send_reminders")
    assert referral.reference in capsys.readouterr().out
    call_command("send_reminders")
    assert "nothing due" in capsys.readouterr().out
    assert len(mail.outbox) == 1
