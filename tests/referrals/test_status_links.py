"""The referrer's status links and follow-ups (referrals/status_links.py): tokens, expiry,
revocation, re-issue, follow-ups and who is told, and where the token never goes."""

import base64
import hashlib
import json
import logging
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.forms.models import model_to_dict
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from referrals import services, status_links, tasks
from referrals.models import Notification, Referral, ReferralEvent, StatusLink
from referrals.status_links import LinkState
from regions.models import Jurisdiction, ResourceSpecialist
from tests.factories import ReferralFactory
from tests.helpers import as_user
from tests.referrals.notices import REFERRER, create_referral

pytestmark = pytest.mark.usefixtures("reference_data")

STATUS_URL = re.compile(r"https?://\S+/status/([A-Za-z0-9_-]+)/")
FOLLOW_UP = "She ran again last night; police have been told."


@pytest.fixture(autouse=True)
def _fresh_mail_pause():
    tasks.mail_pause.end()
    yield
    tasks.mail_pause.end()


def run_worker():
    """Send every pending notice, as the worker's tasks do (the real worker needs real
    commits on PostgreSQL: see the transactional test at the end)."""
    pending = Notification.objects.filter(status=Notification.Status.PENDING).order_by("pk")
    for notification in pending:
        tasks.send_notification.call(notification_id=notification.pk, token=notification.task_token)


def tokens_in(text: str) -> list[str]:
    return STATUS_URL.findall(text)


def mint(referral, **kwargs):
    return status_links.status_link_mint(referral=referral, **kwargs)


def state_of(token: str) -> str:
    return status_links.status_link_state(status_links.status_link_find(token=token))


def follow_up(link, text=FOLLOW_UP, token="a" * 32):
    return status_links.status_link_follow_up(link=link, text=text, action_token=token)


# The token.


def test_tokens_are_long_random_and_distinct():
    referral = ReferralFactory()
    tokens = [mint(referral)[1] for _ in range(200)]
    assert len(set(tokens)) == len(tokens)
    for token in tokens:
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
        # 43 URL-safe base64 characters hold 32 random bytes: 256 bits.
        assert len(base64.urlsafe_b64decode(token + "=")) == 32
    # Every position takes many values: no fixed prefix, counter or timestamp (the last
    # character holds the last 4 bits only).
    for position in range(42):
        assert len({token[position] for token in tokens}) > 20


def test_only_the_hash_is_stored():
    referral = ReferralFactory()
    link, token = mint(referral)
    link.refresh_from_db()
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in json.dumps(model_to_dict(link), default=str)
    assert status_links.status_link_find(token=token) == link


def test_a_link_works_until_it_expires(settings):
    settings.RST_STATUS_LINK_DAYS = 90
    referral = ReferralFactory()
    link, token = mint(referral)
    assert link.expires_at - link.created_at == timedelta(days=90)
    assert state_of(token) == LinkState.USABLE
    StatusLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert state_of(token) == LinkState.EXPIRED


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # one character changed
        lambda t: t[1:] + t[0],  # shifted
        lambda t: t[:-1],  # cut short
        lambda t: t + "x",  # one more
        lambda t: t.upper(),
        lambda t: "x" * 500,  # not even shaped like one
        lambda t: "",
    ],
)
def test_a_tampered_token_opens_nothing(change):
    link, token = mint(ReferralFactory())
    assert state_of(change(token)) == LinkState.UNKNOWN


def test_a_redacted_referrals_link_opens_nothing():
    referral = ReferralFactory(status=Referral.Status.CLOSED, outcome="connected")
    _, token = mint(referral)
    Referral.objects.filter(pk=referral.pk).update(redacted_at=timezone.now())
    assert state_of(token) == LinkState.REDACTED


# Revoking and re-issuing.


def test_the_assigned_specialist_revokes_every_link(specialist_user):
    referral = ReferralFactory()
    assert referral.assigned_specialist.user == specialist_user
    (_, first), (_, second) = mint(referral), mint(referral)
    other_link, other = mint(ReferralFactory())

    assert status_links.status_links_revoke(referral=referral, actor=specialist_user) == 2

    assert state_of(first) == state_of(second) == LinkState.REVOKED
    assert state_of(other) == LinkState.USABLE
    event = referral.events.get(kind=ReferralEvent.Kind.LINK_REVOKED)
    assert event.actor == specialist_user
    assert "2 status link(s) revoked" in event.message
    assert not StatusLink.objects.filter(referral=referral).exclude(revoked_by=specialist_user)


def test_revoking_again_changes_nothing(specialist_user):
    referral = ReferralFactory()
    mint(referral)
    token = "b" * 32
    assert status_links.status_links_revoke(
        referral=referral, actor=specialist_user, action_token=token
    )
    assert not status_links.status_links_revoke(
        referral=referral, actor=specialist_user, action_token=token
    )
    assert not status_links.status_links_revoke(referral=referral, actor=specialist_user)
    assert referral.events.filter(kind=ReferralEvent.Kind.LINK_REVOKED).count() == 1


def test_a_supervisor_may_revoke(supervisor_user):
    referral = ReferralFactory()
    _, token = mint(referral)
    status_links.status_links_revoke(referral=referral, actor=supervisor_user)
    assert state_of(token) == LinkState.REVOKED


def test_another_regions_specialist_may_not_touch_the_links(other_specialist_user):
    referral = ReferralFactory()  # Minnesota: Region 3
    _, token = mint(referral)
    for change in (status_links.status_links_revoke, status_links.status_link_reissue):
        with pytest.raises(ValidationError) as refused:
            change(referral=referral, actor=other_specialist_user)
        assert refused.value.messages == [services.NOT_IN_SCOPE]
    assert state_of(token) == LinkState.USABLE
    assert not referral.events.filter(
        kind__in=[ReferralEvent.Kind.LINK_ISSUED, ReferralEvent.Kind.LINK_REVOKED]
    ).exists()


def test_a_colleague_in_the_region_who_does_not_have_the_case_may_not(specialist_user):
    colleague = ResourceSpecialist.objects.create(
        name="Pat Colleague",
        email="pat@example.org",
        phone="571.555.0101",
        region=ResourceSpecialist.objects.get(user=specialist_user).region,
    )
    referral = ReferralFactory(assigned_specialist=colleague)
    with pytest.raises(ValidationError) as refused:
        status_links.status_links_revoke(referral=referral, actor=specialist_user)
    assert refused.value.messages == [status_links.LINKS_ASSIGNED_ONLY]


def test_reissue_emails_a_new_link_and_records_it(specialist_user, settings):
    settings.SITE_URL = "https://rst.example.org"
    referral = ReferralFactory()
    _, old = mint(referral)

    event = status_links.status_link_reissue(referral=referral, actor=specialist_user)
    run_worker()

    assert event.kind == ReferralEvent.Kind.LINK_ISSUED and event.actor == specialist_user
    notice = referral.notifications.get(kind=Notification.Kind.STATUS_LINK)
    assert notice.status == Notification.Status.SENT
    [message] = mail.outbox
    assert message.to == [referral.referrer_email]
    [new] = tokens_in(message.body)
    assert message.body.count("https://rst.example.org/status/") == 1
    assert new != old
    assert state_of(new) == state_of(old) == LinkState.USABLE  # the old one still works
    for detail in (referral.summary, referral.child_initials, referral.referrer_name):
        assert detail not in message.subject + message.body


def test_reissue_posted_twice_sends_one_link(specialist_user):
    referral = ReferralFactory()
    token = "c" * 32
    first = status_links.status_link_reissue(
        referral=referral, actor=specialist_user, action_token=token
    )
    again = status_links.status_link_reissue(
        referral=referral, actor=specialist_user, action_token=token
    )
    assert again == first
    assert referral.notifications.filter(kind=Notification.Kind.STATUS_LINK).count() == 1


def test_no_new_link_once_the_referrer_details_are_gone(supervisor_user):
    referral = ReferralFactory(status=Referral.Status.CLOSED, outcome="connected")
    Referral.objects.filter(pk=referral.pk).update(redacted_at=timezone.now(), referrer_email="")
    with pytest.raises(ValidationError) as refused:
        status_links.status_link_reissue(referral=referral, actor=supervisor_user)
    assert refused.value.messages == [status_links.LINK_NO_ADDRESS]
    assert not referral.notifications.exists()


def test_a_failed_email_leaves_no_working_link(monkeypatch, specialist_user):
    referral = ReferralFactory()
    status_links.status_link_reissue(referral=referral, actor=specialist_user)

    def refuse(self, *args, **kwargs):
        raise ConnectionRefusedError

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    with pytest.raises(tasks.NoticeNotSent):
        run_worker()
    link = StatusLink.objects.get(referral=referral)
    assert link.revoked_at is not None  # its e-mail never went: it must never work
    assert link.revoked_by is None
    assert not referral.events.filter(kind=ReferralEvent.Kind.LINK_REVOKED).exists()


# Follow-ups.


def test_a_follow_up_is_recorded_and_tells_the_specialist_without_its_text(settings):
    settings.SITE_URL = "https://rst.example.org"
    referral = create_referral()
    run_worker()
    mail.outbox.clear()
    link, _ = mint(referral)

    event, created = follow_up(link, text="  She ran again\u200b last night;\n\n\n\npolice told.  ")

    assert created
    assert event.kind == ReferralEvent.Kind.FOLLOW_UP and event.actor is None
    assert event.message == "She ran again last night;\n\npolice told."  # cleaned like the form
    referral.refresh_from_db()
    assert referral.has_new_information
    notice = referral.notifications.get(kind=Notification.Kind.FOLLOW_UP)
    assert notice.specialist == referral.assigned_specialist
    run_worker()
    [message] = mail.outbox
    assert message.to == ["SLSchultz@ncmec.org"]
    assert referral.reference in message.subject
    assert f"https://rst.example.org/queue/{referral.reference}/" in message.body
    for secret in ("ran again", "police told", referral.summary, referral.child_initials):
        assert secret not in message.subject + message.body


def test_a_follow_up_in_intake_goes_to_the_intake_recipients():
    referral = ReferralFactory(assigned_specialist=None)
    link, _ = mint(referral)
    follow_up(link)
    run_worker()
    notice = referral.notifications.get(kind=Notification.Kind.FOLLOW_UP)
    assert notice.specialist is None and notice.status == Notification.Status.SENT
    [message] = mail.outbox
    assert "RecoveryServices@NCMEC.ORG".lower() in [a.lower() for a in message.to]


def test_a_follow_up_on_a_closed_referral_reopens_nothing_and_tells_the_supervisors(
    specialist_user,
):
    referral = create_referral()
    services.referral_close(
        referral=referral, actor=specialist_user, outcome="connected", note="Connected."
    )
    run_worker()
    mail.outbox.clear()
    link, _ = mint(referral)

    follow_up(link)
    run_worker()

    referral.refresh_from_db()
    assert referral.status == Referral.Status.CLOSED
    assert referral.events.filter(kind=ReferralEvent.Kind.FOLLOW_UP).count() == 1
    assert not referral.notifications.filter(kind=Notification.Kind.FOLLOW_UP).exists()
    closed = referral.notifications.get(kind=Notification.Kind.FOLLOW_UP_CLOSED)
    assert closed.status == Notification.Status.SENT
    [message] = mail.outbox
    assert "SLSchultz@ncmec.org" not in message.to
    assert "sasahl@ncmec.org" in [a.lower() for a in message.to]
    assert "closed" in message.subject.lower()
    assert "ran again" not in message.body


def test_the_same_form_sent_twice_records_one_follow_up():
    referral = ReferralFactory()
    link, _ = mint(referral)
    first, created = follow_up(link, token="d" * 32)
    again, created_again = follow_up(link, token="d" * 32)
    assert created and not created_again and again == first
    assert referral.notifications.filter(kind=Notification.Kind.FOLLOW_UP).count() == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Too short", status_links.FOLLOW_UP_TOO_SHORT),
        ("\u200b\u200b  ran  \u200b again ", status_links.FOLLOW_UP_TOO_SHORT),  # 9 seen
        ("x" * 2001, status_links.FOLLOW_UP_TOO_LONG.format(length=2001)),
    ],
)
def test_a_follow_up_too_short_or_too_long_is_refused(text, message):
    referral = ReferralFactory()
    link, _ = mint(referral)
    with pytest.raises(ValidationError) as refused:
        follow_up(link, text=text)
    assert refused.value.messages == [message]
    assert not referral.events.filter(kind=ReferralEvent.Kind.FOLLOW_UP).exists()
    assert not Referral.objects.get(pk=referral.pk).has_new_information


def test_the_limits_are_inclusive():
    link, _ = mint(ReferralFactory())
    assert follow_up(link, text="x" * 10, token="e" * 32)[1]
    assert follow_up(link, text="y" * 2000, token="f" * 32)[1]


def test_a_follow_up_through_a_revoked_link_is_refused(specialist_user):
    referral = ReferralFactory()
    link, _ = mint(referral)
    status_links.status_links_revoke(referral=referral, actor=specialist_user)
    with pytest.raises(ValidationError) as refused:
        follow_up(link)
    assert refused.value.code == "link_not_usable"
    assert not referral.events.filter(kind=ReferralEvent.Kind.FOLLOW_UP).exists()


def test_only_the_assigned_specialist_opening_the_referral_clears_new_information(
    specialist_user, supervisor_user
):
    referral = ReferralFactory()
    link, _ = mint(referral)
    follow_up(link)
    page = f"/queue/{referral.reference}/"

    assert as_user(supervisor_user).get(page).status_code == 200
    assert Referral.objects.get(pk=referral.pk).has_new_information

    response = as_user(specialist_user).get(page)
    assert response.status_code == 200
    assert "New information" in response.content.decode()  # says why, this once
    assert not Referral.objects.get(pk=referral.pk).has_new_information


# Where the token never goes.


@pytest.mark.django_db(transaction=True)
def test_the_token_is_in_the_email_and_the_page_only(client, form_data, settings, caplog):
    settings.SITE_URL = "https://rst.example.org"
    caplog.set_level(logging.DEBUG)
    response = client.post("/refer/", form_data, follow=True)
    confirmation = response.content.decode()
    # The real worker, so that the task results it writes are searched too.
    call_command("task_worker", "--batch", "--no-startup-delay", verbosity=0)
    referral = Referral.objects.get()

    [receipt] = [m for m in mail.outbox if m.to == [REFERRER]]
    emailed = tokens_in(receipt.body)
    shown = tokens_in(confirmation)
    assert len(emailed) == len(shown) == 1
    assert emailed != shown  # the browser's link and the e-mail's are two links
    assert StatusLink.objects.filter(referral=referral).count() == 2

    stored = json.dumps(
        [
            *StatusLink.objects.values(),
            *Notification.objects.values(),
            *ReferralEvent.objects.values(),
            *DBTaskResult.objects.values(),
            *Referral.objects.values(),
        ],
        default=str,
    )
    for token in emailed + shown:
        assert token not in stored
        assert token not in caplog.text
        assert hashlib.sha256(token.encode()).hexdigest() in stored


# Revoking while a link e-mail waits; news after the case moved.


def test_a_link_email_still_queued_when_links_are_revoked_carries_no_working_link(
    specialist_user,
):
    referral = create_referral()  # its receipt is queued, not sent yet
    status_links.status_link_reissue(referral=referral, actor=specialist_user)
    status_links.status_links_revoke(referral=referral, actor=specialist_user)
    assert referral.events.filter(kind=ReferralEvent.Kind.LINK_REVOKED).exists()

    run_worker()

    receipt = referral.notifications.get(kind=Notification.Kind.RECEIPT)
    reissued = referral.notifications.get(kind=Notification.Kind.STATUS_LINK)
    assert receipt.status == Notification.Status.SENT  # the receipt still goes, linkless
    assert reissued.status == Notification.Status.SKIPPED
    assert [m for m in mail.outbox if tokens_in(m.body)] == []
    assert not StatusLink.objects.filter(referral=referral, revoked_at__isnull=True).exists()


def test_a_follow_up_after_a_transfer_goes_to_whoever_has_the_case_now(specialist_user):
    referral = create_referral()  # Minnesota: Stacy Schultz, Region 3
    run_worker()
    mail.outbox.clear()
    link, _ = mint(referral)
    follow_up(link)
    services.referral_transfer(
        referral=referral,
        actor=specialist_user,
        jurisdiction=Jurisdiction.objects.get(code="TX"),
        reason="The child was moved to Texas.",
    )
    referral.refresh_from_db()
    run_worker()

    notice = referral.notifications.get(kind=Notification.Kind.FOLLOW_UP)
    assert notice.status == Notification.Status.SENT
    assert notice.specialist == referral.assigned_specialist != specialist_user.resource_specialist
    [news] = [m for m in mail.outbox if "new information" in m.subject]
    assert news.to == [referral.assigned_specialist.email]
