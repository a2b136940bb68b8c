"""Notification e-mails: who gets them, what they never carry, retries, the real worker."""

import smtplib

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from referrals import services
from referrals.models import Referral
from referrals.tasks import MAX_ATTEMPTS, send_referral_notice
from regions.models import Jurisdiction, ResourceSpecialist
from tests.factories import ReferralFactory
from tests.helpers import as_user

pytestmark = pytest.mark.usefixtures("reference_data")

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def tasks_run_inline(settings):
    settings.TASKS = IMMEDIATE
    settings.SITE_URL = "https://rst.example.org"


def submit(client, form_data, capture):
    with capture(execute=True):
        response = client.post("/refer/", form_data)
    assert response.status_code == 302
    return Referral.objects.get()


def assert_no_child_details(message, form_data):
    text = message.subject + message.body
    for secret in (form_data["summary"], "older adult", "Hennepin", "age 15", " JD"):
        assert secret not in text, secret


def test_submission_notifies_the_specialist_and_the_referrer(
    client, form_data, tasks_run_inline, django_capture_on_commit_callbacks
):
    referral = submit(client, form_data, django_capture_on_commit_callbacks)
    to_specialist, receipt = sorted(mail.outbox, key=lambda m: m.to != ["SLSchultz@ncmec.org"])
    assert to_specialist.to == ["SLSchultz@ncmec.org"]
    assert to_specialist.subject == f"[RST] referral {referral.reference} for you (Region 3)"
    assert f"https://rst.example.org/queue/{referral.reference}/" in to_specialist.body
    assert receipt.to == ["jordan@example.org"]
    assert referral.reference in receipt.subject
    assert "Stacy Schultz, SLSchultz@ncmec.org, 612.757.6586" in receipt.body
    for message in mail.outbox:
        assert_no_child_details(message, form_data)


def test_urgent_referral_says_so_in_the_subject(
    client, form_data, tasks_run_inline, django_capture_on_commit_callbacks
):
    form_data["urgency"] = "urgent"
    referral = submit(client, form_data, django_capture_on_commit_callbacks)
    subjects = [m.subject for m in mail.outbox]
    assert f"[RST] URGENT referral {referral.reference} for you (Region 3)" in subjects


def test_supervisor_intake_notifies_the_supervisor_and_the_team_mailbox(
    client, form_data, tasks_run_inline, django_capture_on_commit_callbacks
):
    ResourceSpecialist.objects.filter(region__number=3).update(is_active=False)
    referral = submit(client, form_data, django_capture_on_commit_callbacks)
    intake = next(m for m in mail.outbox if "needs assigning" in m.subject)
    assert sorted(intake.to) == ["RecoveryServices@NCMEC.ORG", "sasahl@ncmec.org"]
    assert "no Resource Specialist available" in intake.body
    assert referral.reference in intake.body
    assert_no_child_details(intake, form_data)


def test_transfer_and_reassign_notify_the_new_specialist_only(
    specialist_user, supervisor_user, tasks_run_inline, django_capture_on_commit_callbacks
):
    referral = ReferralFactory()
    with django_capture_on_commit_callbacks(execute=True):
        services.referral_reroute(referral=referral, actor=supervisor_user)
    assert mail.outbox == []  # routed to the same specialist: nothing new to say
    with django_capture_on_commit_callbacks(execute=True):
        services.referral_transfer(
            referral=referral,
            actor=specialist_user,
            jurisdiction=Jurisdiction.objects.get(code="TX"),
            reason="Moved",
        )
    assert [m.to for m in mail.outbox] == [["KBConlee@ncmec.org"]]
    with django_capture_on_commit_callbacks(execute=True):
        services.referral_reassign(
            referral=referral,
            actor=supervisor_user,
            specialist=ResourceSpecialist.objects.get(name="Courtney Desilet"),
        )
    assert [m.to for m in mail.outbox][-1] == ["CMDesilet@ncmec.org"]


def test_nothing_is_sent_if_the_change_is_rolled_back(
    specialist_user, tasks_run_inline, django_capture_on_commit_callbacks
):
    referral = ReferralFactory(status="closed", outcome="training")
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Exception):  # noqa: B017
        services.referral_transfer(
            referral=referral,
            actor=specialist_user,
            jurisdiction=Jurisdiction.objects.get(code="TX"),
            reason="Moved",
        )
    assert mail.outbox == []


def test_a_failed_send_is_retried_later_and_recorded(monkeypatch, settings):
    referral = ReferralFactory()

    def smtp_down(self, *args, **kwargs):
        raise smtplib.SMTPServerDisconnected("mail server down")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", smtp_down)
    specialist_id = referral.assigned_specialist_id
    with pytest.raises(smtplib.SMTPServerDisconnected):
        send_referral_notice.call(
            referral_id=referral.pk, notice="assigned", specialist_id=specialist_id
        )
    retry = DBTaskResult.objects.get()
    assert retry.args_kwargs["kwargs"] == {
        "referral_id": referral.pk,
        "notice": "assigned",
        "specialist_id": specialist_id,
        "attempt": 2,
    }
    delay = (retry.run_after - timezone.now()).total_seconds()
    assert 50 < delay <= 60
    # The last attempt gives up instead of queueing another.
    with pytest.raises(smtplib.SMTPServerDisconnected):
        send_referral_notice.call(
            referral_id=referral.pk,
            notice="assigned",
            specialist_id=specialist_id,
            attempt=MAX_ATTEMPTS,
        )
    assert DBTaskResult.objects.count() == 1
    assert Referral.objects.filter(pk=referral.pk).exists()  # the referral is never lost


# Transactional: the worker commits and closes its database connection, as in production.
@pytest.mark.django_db(transaction=True)
def test_the_database_worker_sends_what_the_form_queued(client, form_data):
    assert client.post("/refer/", form_data).status_code == 302
    referral = Referral.objects.get()
    assert mail.outbox == []  # queued, not sent by the web request
    assert DBTaskResult.objects.filter(status="READY").count() == 2
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}
    assert sorted(m.to[0] for m in mail.outbox) == ["SLSchultz@ncmec.org", "jordan@example.org"]
    assert all(referral.reference in m.subject for m in mail.outbox)


def test_supervisors_see_task_results_in_the_admin(supervisor_user, specialist_user):
    task_results = "/admin/django_tasks_database/dbtaskresult/"
    assert as_user(supervisor_user).get(task_results).status_code == 200
    specialist_user.is_staff = True
    specialist_user.save()
    assert as_user(specialist_user).get(task_results).status_code == 403


def test_a_refused_address_is_not_retried(monkeypatch):
    referral = ReferralFactory()

    def refused(self, *args, **kwargs):
        raise smtplib.SMTPRecipientsRefused({"alex@example.org": (550, b"No such user")})

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refused)
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send_referral_notice.call(referral_id=referral.pk, notice="receipt")
    assert DBTaskResult.objects.count() == 0


def test_an_assigned_notice_for_someone_no_longer_assigned_is_skipped(
    supervisor_user, tasks_run_inline
):
    referral = ReferralFactory()
    stacy_id = referral.assigned_specialist_id
    services.referral_reassign(
        referral=referral,
        actor=supervisor_user,
        specialist=ResourceSpecialist.objects.get(name="Kyla Conlee"),
    )
    result = send_referral_notice.call(
        referral_id=referral.pk, notice="assigned", specialist_id=stacy_id
    )
    assert result.startswith("skipped")
    assert mail.outbox == []


def test_intake_falls_back_to_supervisor_logins_and_fails_loudly_with_nobody(
    supervisor_user, tasks_run_inline
):
    from contacts.models import ProgramContact
    from referrals.tasks import NoRecipient

    referral = ReferralFactory(assigned_specialist=None)
    ProgramContact.objects.all().delete()
    supervisor_user.email = "duty-supervisor@example.org"
    supervisor_user.save()
    send_referral_notice.call(referral_id=referral.pk, notice="intake")
    assert [m.to for m in mail.outbox] == [["duty-supervisor@example.org"]]

    supervisor_user.groups.clear()
    with pytest.raises(NoRecipient):
        send_referral_notice.call(referral_id=referral.pk, notice="intake")
