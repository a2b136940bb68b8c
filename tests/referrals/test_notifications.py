"""Notification e-mails: who gets them, what they never carry, the outbox, retries, limits.

The faults against a real mail server and a real worker process are in
test_notification_faults.py.
"""

import importlib
import smtplib
from datetime import timedelta

import pytest
from django.apps import apps as django_apps
from django.contrib.admin.models import LogEntry
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from django.template import TemplateDoesNotExist
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from referrals import services, tasks
from referrals.models import Notification, Referral
from referrals.notifications import RECEIPT_LIMIT_REACHED, address_hash, notification_queue
from referrals.tasks import NoticeNotSent, SendFailure, classify, send_notification
from regions.models import Jurisdiction, ResourceSpecialist
from tests.factories import ReferralFactory
from tests.helpers import as_user, page_text
from tests.referrals.notices import REFERRER, create_referral

pytestmark = pytest.mark.usefixtures("reference_data")

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
NOTICES = "/admin/referrals/notification/"
WORKLOAD = "/admin/referrals/referral/workload/"


@pytest.fixture(autouse=True)
def _fresh_mail_pause():
    tasks.mail_pause.end()
    yield
    tasks.mail_pause.end()


@pytest.fixture
def tasks_run_inline(settings):
    settings.TASKS = IMMEDIATE
    settings.SITE_URL = "https://rst.example.org"


@pytest.fixture
def retry_delays(settings):
    settings.RST_NOTICE_RETRY_DELAYS = [60, 300]
    return settings.RST_NOTICE_RETRY_DELAYS


def submit(client, form_data):
    response = client.post("/refer/", form_data)
    assert response.status_code == 302
    return Referral.objects.get()


def assert_no_child_details(message, form_data):
    text = message.subject + message.body
    for secret in (form_data["summary"], "older adult", "Hennepin", "age 15", " JD"):
        assert secret not in text, secret


def send(notification: Notification):
    notification.refresh_from_db()
    return send_notification.call(notification_id=notification.pk, token=notification.task_token)


def failing_send(monkeypatch, error: BaseException) -> list:
    """Make every send raise `error`; returns the list of attempts made."""
    calls = []

    def send_message(self, *args, **kwargs):
        calls.append(self.to)
        raise error

    monkeypatch.setattr("django.core.mail.EmailMessage.send", send_message)
    return calls


# Who gets what.


def test_submission_notifies_the_specialist_and_the_referrer(client, form_data, tasks_run_inline):
    referral = submit(client, form_data)
    to_specialist, receipt = sorted(mail.outbox, key=lambda m: m.to != ["SLSchultz@ncmec.org"])
    assert to_specialist.to == ["SLSchultz@ncmec.org"]
    assert to_specialist.subject == f"[RST] referral {referral.reference} for you (Region 3)"
    assert f"https://rst.example.org/queue/{referral.reference}/" in to_specialist.body
    assert receipt.to == ["jordan@example.org"]
    assert referral.reference in receipt.subject
    assert "Stacy Schultz, SLSchultz@ncmec.org, 612.757.6586" in receipt.body
    for message in mail.outbox:
        assert_no_child_details(message, form_data)
    assert set(referral.notifications.values_list("kind", "status")) == {
        ("assigned", "sent"),
        ("receipt", "sent"),
    }


def test_urgent_referral_says_so_in_the_subject(client, form_data, tasks_run_inline):
    form_data["urgency"] = "urgent"
    referral = submit(client, form_data)
    subjects = [m.subject for m in mail.outbox]
    assert f"[RST] URGENT referral {referral.reference} for you (Region 3)" in subjects


def test_supervisor_intake_notifies_the_supervisor_and_the_team_mailbox(
    client, form_data, tasks_run_inline
):
    ResourceSpecialist.objects.filter(region__number=3).update(is_active=False)
    referral = submit(client, form_data)
    intake = next(m for m in mail.outbox if "needs assigning" in m.subject)
    assert sorted(intake.to) == ["RecoveryServices@NCMEC.ORG", "sasahl@ncmec.org"]
    assert "no Resource Specialist available" in intake.body
    assert referral.reference in intake.body
    assert_no_child_details(intake, form_data)


def test_transfer_and_reassign_notify_the_new_specialist_only(
    specialist_user, supervisor_user, tasks_run_inline
):
    referral = ReferralFactory()
    services.referral_reroute(referral=referral, actor=supervisor_user)
    assert mail.outbox == []  # routed to the same specialist: nothing new to say
    services.referral_transfer(
        referral=referral,
        actor=specialist_user,
        jurisdiction=Jurisdiction.objects.get(code="TX"),
        reason="Moved",
    )
    assert [m.to for m in mail.outbox] == [["KBConlee@ncmec.org"]]
    services.referral_reassign(
        referral=referral,
        actor=supervisor_user,
        specialist=ResourceSpecialist.objects.get(name="Courtney Desilet"),
    )
    assert [m.to for m in mail.outbox][-1] == ["CMDesilet@ncmec.org"]


def test_an_assigned_notice_for_someone_no_longer_assigned_is_skipped(supervisor_user):
    referral = ReferralFactory()
    stale = notification_queue(referral=referral, kind="assigned")
    services.referral_reassign(
        referral=referral,
        actor=supervisor_user,
        specialist=ResourceSpecialist.objects.get(name="Kyla Conlee"),
    )
    assert send(stale).startswith("skipped")
    assert mail.outbox == []
    stale.refresh_from_db()
    assert stale.status == "skipped"
    assert "assigned to someone else" in stale.skip_reason
    kyla = referral.notifications.get(specialist__name="Kyla Conlee")
    send(kyla)
    assert [m.to for m in mail.outbox] == [["KBConlee@ncmec.org"]]


def test_intake_falls_back_to_supervisor_logins_and_fails_loudly_with_nobody(supervisor_user):
    from contacts.models import ProgramContact

    referral = ReferralFactory(assigned_specialist=None)
    ProgramContact.objects.all().delete()
    supervisor_user.email = "duty-supervisor@example.org"
    supervisor_user.save()
    send(notification_queue(referral=referral, kind="intake"))
    assert [m.to for m in mail.outbox] == [["duty-supervisor@example.org"]]

    supervisor_user.groups.clear()
    nobody = notification_queue(referral=referral, kind="intake")
    with pytest.raises(NoticeNotSent, match="nobody to send it to; marked failed"):
        send(nobody)
    nobody.refresh_from_db()
    assert nobody.status == "failed"
    assert nobody.last_error == "nobody to send it to"


# The outbox: notices are written in the change's own transaction.


def test_notices_are_queued_inside_the_changes_transaction_not_on_commit(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks() as callbacks:
        referral = create_referral()
        # Still inside the test's transaction, before any commit: the task rows exist.
        tasks_queued = list(DBTaskResult.objects.values_list("args_kwargs", flat=True))
    assert callbacks == []
    shown = Referral.objects.with_receipt_status().get(pk=referral.pk)
    assert shown.receipt_status == "pending"  # the confirmation page: "being e-mailed"
    notices = {n.pk: n for n in referral.notifications.all()}
    assert {n.kind for n in notices.values()} == {"assigned", "receipt"}
    assert sorted(task["kwargs"]["notification_id"] for task in tasks_queued) == sorted(notices)
    for task in tasks_queued:
        assert task["kwargs"]["token"] == notices[task["kwargs"]["notification_id"]].task_token


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_leaves_no_email_behind_and_a_committed_one_has_all(
    reference_data, specialist_user
):
    # Real COMMIT and ROLLBACK (a transactional test), on SQLite and PostgreSQL alike.
    class Interrupted(Exception):
        pass

    with pytest.raises(Interrupted), transaction.atomic():
        referral = create_referral()
        services.referral_transfer(
            referral=referral,
            actor=specialist_user,
            jurisdiction=Jurisdiction.objects.get(code="TX"),
            reason="Moved",
        )
        assert DBTaskResult.objects.count() == 3  # queued, not yet committed
        raise Interrupted  # e.g. the next statement of the same transaction fails

    assert Referral.objects.count() == 0
    assert Notification.objects.count() == 0
    assert DBTaskResult.objects.count() == 0
    call_command("task_worker", "--batch", "--no-startup-delay", verbosity=0)
    assert mail.outbox == []

    referral = create_referral()
    assert DBTaskResult.objects.filter(status="READY").count() == 2
    call_command("task_worker", "--batch", "--no-startup-delay", verbosity=0)
    assert sorted(m.to[0] for m in mail.outbox) == ["SLSchultz@ncmec.org", REFERRER]
    assert set(referral.notifications.values_list("status", flat=True)) == {"sent"}
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}


# Failures: temporary ones are retried, permanent ones fail at once, nothing leaks.


def test_a_temporary_failure_is_retried_later_then_marked_failed(monkeypatch, retry_delays):
    notification = notification_queue(referral=ReferralFactory(), kind="receipt")
    failing_send(monkeypatch, smtplib.SMTPDataError(451, b"4.3.0 Try again later"))
    before = timezone.now()
    with pytest.raises(NoticeNotSent, match=r"attempt 1 of 3.*451.*next attempt"):
        send(notification)
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("pending", 1)
    assert (
        notification.last_error == "the mail server refused the message (451 4.3.0 Try again later)"
    )
    retry = DBTaskResult.objects.get(args_kwargs__kwargs__token=notification.task_token)
    delay = (retry.run_after - before).total_seconds()
    assert 59 < delay <= 61
    assert notification.next_attempt_at == retry.run_after

    with pytest.raises(NoticeNotSent, match="attempt 2 of 3"):
        send(notification)
    with pytest.raises(NoticeNotSent, match="attempt 3 of 3.*marked failed"):
        send(notification)
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("failed", 3)
    assert notification.next_attempt_at is None
    assert DBTaskResult.objects.count() == 3  # the first task and two retries, no fourth
    assert Referral.objects.filter(pk=notification.referral_id).exists()


@pytest.mark.parametrize(
    ("error", "temporary"),
    [
        (
            smtplib.SMTPRecipientsRefused(
                {REFERRER: (450, b"4.2.0 <jordan@example.org> Greylisted")}
            ),
            True,
        ),
        (
            smtplib.SMTPRecipientsRefused(
                {REFERRER: (550, b"5.1.1 <jordan@example.org> No such user")}
            ),
            False,
        ),
        (smtplib.SMTPSenderRefused(451, b"4.7.1 Slow down", "noreply@localhost"), True),
        (smtplib.SMTPDataError(554, b"5.7.1 Rejected as spam"), False),
        (smtplib.SMTPConnectError(421, b"Too busy"), True),
        (smtplib.SMTPAuthenticationError(535, b"Bad credentials"), False),
        (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), True),
        (TimeoutError("timed out"), True),
        (ConnectionRefusedError(111, "Connection refused"), True),
        (TemplateDoesNotExist("referrals/emails/receipt.txt"), False),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else str(value),
)
def test_temporary_failures_are_retried_and_permanent_ones_fail_at_once(
    monkeypatch, retry_delays, caplog, error, temporary
):
    notification = notification_queue(referral=ReferralFactory(), kind="receipt")
    failing_send(monkeypatch, error)
    with pytest.raises(NoticeNotSent) as raised:
        send(notification)
    notification.refresh_from_db()
    assert notification.status == ("pending" if temporary else "failed")
    assert DBTaskResult.objects.count() == (2 if temporary else 1)
    # The refused address never reaches the error, the exception or the logs.
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    for text in (notification.last_error, str(raised.value), caplog.text):
        assert "example.org" not in text
        assert "jordan" not in text


def test_every_recipient_must_refuse_temporarily_for_a_retry():
    mixed = smtplib.SMTPRecipientsRefused(
        {"a@example.org": (450, b"later"), "b@example.org": (550, b"no such user")}
    )
    failure = classify(mixed)
    assert failure == SendFailure(
        "the mail server refused the recipient (450, 550 later; no such user)", temporary=False
    )


def test_after_a_timeout_the_next_notices_are_deferred_without_trying(monkeypatch, retry_delays):
    first, second, third = (
        notification_queue(referral=ReferralFactory(), kind="receipt") for _ in range(3)
    )
    attempts = failing_send(monkeypatch, TimeoutError("timed out"))
    with pytest.raises(NoticeNotSent, match="did not answer in time"):
        send(first)
    assert send(second).startswith("deferred")
    assert send(third).startswith("deferred")
    assert len(attempts) == 1  # one wait for the silent server, not three
    second.refresh_from_db()
    assert second.status == "pending"
    assert second.last_error.startswith("not tried, sending paused")
    assert second.next_attempt_at >= tasks.mail_pause.until

    # After the pause the server is tried again.
    tasks.mail_pause.until = timezone.now()
    monkeypatch.undo()
    assert send(second).startswith("sent")
    assert len(mail.outbox) == 1


def test_a_superseded_task_does_nothing(monkeypatch, retry_delays):
    notification = notification_queue(referral=ReferralFactory(), kind="receipt")
    old_token = notification.task_token
    failing_send(monkeypatch, TimeoutError("timed out"))
    with pytest.raises(NoticeNotSent):
        send(notification)
    monkeypatch.undo()
    tasks.mail_pause.end()
    # The first task, run again (say its worker died after queueing the retry).
    result = send_notification.call(notification_id=notification.pk, token=old_token)
    assert result.startswith("nothing to do")
    assert mail.outbox == []
    send(notification)
    assert len(mail.outbox) == 1
    assert send_notification.call(
        notification_id=notification.pk, token=notification.task_token
    ).startswith("nothing to do")  # already sent: never twice
    assert len(mail.outbox) == 1


def test_notices_queued_by_the_previous_release_are_adopted_by_the_ledger(tasks_run_inline):
    referral = ReferralFactory(urgency="urgent")
    old_kwargs = {"referral_id": referral.pk, "notice": "receipt"}
    DBTaskResult.objects.create(
        args_kwargs={"args": [], "kwargs": old_kwargs},
        task_path="referrals.tasks.send_referral_notice",
        backend_name="default",
        priority=0,
    )
    migration = importlib.import_module("referrals.migrations.0005_notification")
    migration.adopt_queued_notices(django_apps, None)

    receipt = Notification.objects.receipt_for(referral)
    assert receipt.status == "pending"
    task = DBTaskResult.objects.get()
    assert task.task_path == "referrals.tasks.send_notification"
    assert task.args_kwargs["kwargs"] == {
        "notification_id": receipt.pk,
        "token": receipt.task_token,
    }
    send_notification.call(**task.args_kwargs["kwargs"])
    assert [m.to for m in mail.outbox] == [[referral.referrer_email]]


# Order: urgent first.


def test_urgent_referrals_notices_are_queued_before_routine_ones():
    routine = create_referral(code="MN")
    urgent = create_referral(code="TX", urgency="urgent")
    ready = list(DBTaskResult.objects.ready())  # in the order the worker takes them
    owners = [
        Notification.objects.get(pk=task.args_kwargs["kwargs"]["notification_id"]) for task in ready
    ]
    assert [(n.referral_id, n.kind) for n in owners] == [
        (urgent.pk, "assigned"),
        (urgent.pk, "receipt"),
        (routine.pk, "assigned"),
        (routine.pk, "receipt"),
    ]


# The receipt limit per address.


def test_receipts_to_one_address_are_limited_per_hour(settings, tasks_run_inline):
    settings.RST_RECEIPTS_PER_ADDRESS_PER_HOUR = 3
    made = [create_referral(email=email) for email in [REFERRER, "Jordan@Example.org"] * 2]
    receipts = [m for m in mail.outbox if "We received" in m.subject]
    assert len(receipts) == 3  # the fourth is to the same address (case does not matter)
    fourth = Notification.objects.receipt_for(made[3])
    assert fourth.status == "skipped"
    assert not fourth.is_on_its_way
    assert fourth.skip_reason == RECEIPT_LIMIT_REACHED.format(limit=3)
    assert Notification.objects.receipt_for(made[0]).is_sent
    # The referral itself is made and its specialist told, as for every other.
    assert made[3].notifications.get(kind="assigned").status == "sent"

    shown = Referral.objects.with_receipt_status().in_bulk([r.pk for r in made])
    assert [shown[r.pk].receipt_status for r in made] == ["sent", "sent", "sent", "skipped"]

    other = create_referral(email="someone.else@example.org")
    assert Notification.objects.receipt_for(other).is_sent

    # An hour later the address gets receipts again.
    Notification.objects.filter(kind="receipt").update(
        created_at=timezone.now() - timedelta(minutes=61)
    )
    assert Notification.objects.receipt_for(create_referral()).is_sent


def test_the_receipt_limit_stores_no_address():
    referral = create_referral()
    receipt = Notification.objects.receipt_for(referral)
    assert receipt.recipient_hash == address_hash(" JORDAN@example.org")
    assert "jordan" not in receipt.recipient_hash


# The supervisor: failed notices in the admin and the overview, and resending them.


@pytest.fixture
def failed_receipt(monkeypatch, retry_delays):
    referral = create_referral()
    notification = Notification.objects.receipt_for(referral)
    error = smtplib.SMTPRecipientsRefused({REFERRER: (550, b"5.1.1 <jordan@example.org> unknown")})
    failing_send(monkeypatch, error)
    with pytest.raises(NoticeNotSent):
        send(notification)
    monkeypatch.undo()
    notification.refresh_from_db()
    return notification


def test_the_supervisor_finds_failed_notices_in_the_admin_and_the_overview(
    supervisor_user, failed_receipt
):
    client = as_user(supervisor_user)
    reference = failed_receipt.referral.reference
    response = client.get(NOTICES, {"status__exact": "failed"})
    assert [n.pk for n in response.context["cl"].result_list] == [failed_receipt.pk]
    text = page_text(response)
    assert reference in text
    assert "Failed: the mail server refused the recipient (550 5.1.1 <[address]> unknown)" in text
    assert REFERRER not in response.content.decode()

    overview = client.get(WORKLOAD)
    text = page_text(overview)
    assert "E-mail notices that failed (not sent after every attempt) 1" in text
    assert f"{reference} Receipt to the referrer The referrer 1" in text
    html = overview.content.decode()
    assert f'href="{NOTICES}?status__exact=failed"' in html
    assert f'href="{NOTICES}{failed_receipt.pk}/change/"' in html

    notice_page = client.get(f"{NOTICES}{failed_receipt.pk}/change/")
    assert notice_page.status_code == 200
    assert "the mail server refused the recipient (550 5.1.1 <[address]> unknown)" in page_text(
        notice_page
    )
    assert REFERRER not in notice_page.content.decode()

    referral_page = page_text(
        client.get(f"/admin/referrals/referral/{failed_receipt.referral_id}/change/")
    )
    assert "E-mail notices" in referral_page
    assert "Receipt to the referrer The referrer Failed" in referral_page


def test_the_supervisor_resends_a_failed_notice(supervisor_user, failed_receipt, tasks_run_inline):
    client = as_user(supervisor_user)
    response = client.post(
        NOTICES,
        {"action": "resend", "index": 0, "_selected_action": [failed_receipt.pk]},
        follow=True,
    )
    assert (
        f"Queued 1 notice again: Receipt to the referrer: {failed_receipt.referral.reference}"
        in page_text(response)
    )
    failed_receipt.refresh_from_db()
    assert failed_receipt.status == "sent"
    assert (failed_receipt.resends, failed_receipt.resent_by) == (1, supervisor_user)
    assert [m.to for m in mail.outbox] == [[REFERRER]]
    assert LogEntry.objects.get(object_id=str(failed_receipt.pk)).change_message == (
        "Resent: a fresh set of attempts."
    )

    # A notice that did not fail is not sent again.
    response = client.post(
        NOTICES,
        {"action": "resend", "index": 0, "_selected_action": [failed_receipt.pk]},
        follow=True,
    )
    assert "Only a failed notice can be resent; this one is sent." in page_text(response)
    assert len(mail.outbox) == 1


def test_a_failed_notice_told_another_way_leaves_the_failed_list(supervisor_user, failed_receipt):
    client = as_user(supervisor_user)
    response = client.post(
        NOTICES,
        {"action": "mark_handled", "index": 0, "_selected_action": [failed_receipt.pk]},
        follow=True,
    )
    assert "Marked 1 notice handled" in page_text(response)
    failed_receipt.refresh_from_db()
    assert failed_receipt.status == "skipped"
    assert failed_receipt.skip_reason == "Failed; Samantha Sahl told them another way."
    assert "E-mail notices that failed (not sent after every attempt) 0" in page_text(
        client.get(WORKLOAD)
    )
    assert mail.outbox == []


def test_notices_are_for_supervisors_only(specialist_user, failed_receipt):
    specialist_user.is_staff = True
    specialist_user.save()
    assert as_user(specialist_user).get(NOTICES).status_code == 403


def test_supervisors_see_task_results_in_the_admin(supervisor_user, specialist_user):
    task_results = "/admin/django_tasks_database/dbtaskresult/"
    assert as_user(supervisor_user).get(task_results).status_code == 200
    specialist_user.is_staff = True
    specialist_user.save()
    assert as_user(specialist_user).get(task_results).status_code == 403
