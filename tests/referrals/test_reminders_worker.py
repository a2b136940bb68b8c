"""Deadline reminders run by the real worker on PostgreSQL: each e-mail once, each event once.

A tick run twice, two workers running ticks at the same moment, and many processes
recording the same reminders, the digest or the schedule at once: every reminder is
recorded and sent once, and one chain of ticks is left. PostgreSQL only (row locks,
SKIP LOCKED, advisory locks); CI runs these with RST_REQUIRE_POSTGRES=1.
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time as time_module
from collections import Counter
from datetime import datetime, time, timedelta
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings as django_settings
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from referrals import reminders
from referrals.deadlines import add_business_hours, is_working_day, office_zone
from referrals.models import DailyDigest, Notification, Referral, ReferralEvent
from referrals.reminders import reminders_run, reminders_schedule, reminders_tick, send_daily_digest
from tests.helpers import wait_for
from tests.referrals.notices import create_referral

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="Needs PostgreSQL's row locks, SKIP LOCKED and advisory locks; CI runs this "
        "on PostgreSQL (RST_REQUIRE_POSTGRES=1 makes a non-PostgreSQL CI run fail).",
    ),
    # Transactional: the worker closes a connection that is inside a transaction, and the
    # other processes and threads must see the test's rows.
    pytest.mark.django_db(transaction=True),
]

STACY = "SLSchultz@ncmec.org"
KYLA = "KBConlee@ncmec.org"
SUPERVISORS = ["RecoveryServices@NCMEC.ORG", "sasahl@ncmec.org"]


@pytest.fixture(autouse=True)
def _settings(settings, reference_data):
    settings.SITE_URL = "https://rst.example.org"
    settings.RST_DUE_SOON_BUSINESS_HOURS = 1


def no_digest_today():
    """Today's (and tomorrow's) digest already went: rounds at the real time send none."""
    today = timezone.localdate(timezone.now(), office_zone())
    for day in (today, today + timedelta(days=1)):
        DailyDigest.objects.create(day=day, status="sent", sent_at=timezone.now())


def due_soon_and_overdue(count: int) -> tuple[list[Referral], list[Referral]]:
    """`count` Minnesota referrals (Stacy's) due within the hour, `count` Texas ones
    (Kyla's) overdue; their submission e-mails are already out of the queue."""
    due_soon = [create_referral(code="MN") for _ in range(count)]
    overdue = [create_referral(code="TX") for _ in range(count)]
    Referral.objects.filter(pk__in=[r.pk for r in due_soon]).update(
        first_contact_due_at=add_business_hours(timezone.now(), 0.5)
    )
    Referral.objects.filter(pk__in=[r.pk for r in overdue]).update(
        first_contact_due_at=timezone.now() - timedelta(minutes=10)
    )
    run_db_worker()
    mail.outbox.clear()
    return due_soon, overdue


def run_db_worker():
    """django-tasks-db's own worker, in this process, until nothing is due."""
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


def ticks(status="READY"):
    return DBTaskResult.objects.filter(task_path=reminders_tick.module_path, status=status)


def reminder_events(kind: str) -> Counter:
    return Counter(ReferralEvent.objects.filter(kind=kind).values_list("referral_id", flat=True))


def test_the_worker_sends_each_reminder_once_when_the_tick_runs_twice(settings, monkeypatch):
    # The digest is due now, whatever day and time the test runs.
    settings.RST_DIGEST_AT = "00:00"
    monkeypatch.setattr(reminders, "is_working_day", lambda day: True)
    (due_soon,), (overdue,) = due_soon_and_overdue(1)
    reminders_tick.enqueue()
    reminders_tick.enqueue()

    run_db_worker()
    run_db_worker()  # and once more: nothing left to do

    assert sorted(tuple(sorted(m.to)) for m in mail.outbox) == sorted(
        [(STACY,), tuple(SUPERVISORS), tuple(SUPERVISORS)]
    )
    (reminder,) = [m for m in mail.outbox if m.to == [STACY]]
    assert due_soon.reference in reminder.subject
    (escalation,) = [m for m in mail.outbox if "overdue:" in m.subject]
    assert overdue.reference in escalation.subject
    (digest,) = [m for m in mail.outbox if "digest" in m.subject.lower()]
    assert overdue.reference in digest.body
    assert reminder_events(ReferralEvent.Kind.DUE_SOON) == {due_soon.pk: 1}
    assert reminder_events(ReferralEvent.Kind.ESCALATED) == {overdue.pk: 1}
    assert DailyDigest.objects.get().status == "sent"
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}
    # Both ticks ran; one successor waits for its time: one chain.
    assert ticks("SUCCESSFUL").count() == 2
    (successor,) = ticks()
    assert successor.run_after > timezone.now()


# Two workers in their own processes, as production runs them.


class MailSink:
    """An SMTP server that keeps what it is given: (recipient, subject) pairs."""

    def __init__(self):
        self.delivered: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        subject = message_from_bytes(envelope.content)["Subject"]
        with self.lock:
            self.delivered += [(recipient, subject) for recipient in envelope.rcpt_tos]
        return "250 2.0.0 Accepted"


@pytest.fixture
def mail_sink():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    sink.port = port
    yield sink
    controller.stop()


def start_db_worker(mail_port: int) -> subprocess.Popen:
    """`manage.py db_worker` in its own process, polling every 0.1 s until stopped."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    environment = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CONN_MAX_AGE": "0",
        "DEBUG": "true",  # the local-memory cache passes the system checks
        "SECRET_KEY": django_settings.SECRET_KEY,
        "SITE_URL": "https://rst.example.org",
        "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
        "EMAIL_URL": f"smtp://127.0.0.1:{mail_port}",
        "RST_DUE_SOON_BUSINESS_HOURS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--no-startup-delay", "--interval=0.1"],
        cwd=django_settings.BASE_DIR,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_two_workers_running_ticks_at_once_send_each_reminder_once(mail_sink):
    no_digest_today()
    due_soon, overdue = due_soon_and_overdue(12)
    # Due a few seconds from now: both workers are up and polling by then, and each takes
    # a tick at the same moment, so the two rounds work through the same referrals at once.
    start_at = timezone.now() + timedelta(seconds=6)
    for _ in range(2):
        reminders_tick.using(run_after=start_at).enqueue()
    expected_mail = len(due_soon) + len(overdue) * len(SUPERVISORS)

    workers = [start_db_worker(mail_sink.port) for _ in range(2)]
    try:
        done = wait_for(
            lambda: (
                ticks("SUCCESSFUL").count() == 2
                and not DBTaskResult.objects.ready().exists()
                and len(mail_sink.delivered) >= expected_mail
            ),
            timeout=120,
        )
        time_module.sleep(1)  # time for a wrong extra e-mail to arrive before counting
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        outputs = [worker.communicate(timeout=30)[0] for worker in workers]
    assert done, outputs

    def recipients(referral):
        return sorted(to for to, subject in mail_sink.delivered if referral.reference in subject)

    assert {r.reference: recipients(r) for r in due_soon} == {
        r.reference: [STACY] for r in due_soon
    }
    assert {r.reference: recipients(r) for r in overdue} == {
        r.reference: SUPERVISORS for r in overdue
    }
    assert len(mail_sink.delivered) == expected_mail
    assert reminder_events(ReferralEvent.Kind.DUE_SOON) == {r.pk: 1 for r in due_soon}
    assert reminder_events(ReferralEvent.Kind.ESCALATED) == {r.pk: 1 for r in overdue}
    # Each worker ran one of the ticks, and one chain is left.
    assert sorted(len(t.worker_ids) for t in ticks("SUCCESSFUL")) == [1, 1]
    assert len({t.worker_ids[0] for t in ticks("SUCCESSFUL")}) == 2
    assert ticks().count() == 1
    reminders_sent = Notification.objects.filter(kind__in=["due_soon", "overdue"])
    assert set(reminders_sent.values_list("status", flat=True)) == {"sent"}


# Many at once, in threads of this process (each with its own connection).


def at_once(count: int, action) -> list:
    barrier = threading.Barrier(count)
    results, errors = [], []

    def run():
        try:
            barrier.wait(timeout=10)
            results.append(action())
        except Exception as error:  # noqa: BLE001 - returned to the test
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    return results


def test_rounds_at_once_record_each_reminder_and_its_notice_once():
    no_digest_today()
    due_soon, overdue = due_soon_and_overdue(6)

    rounds = at_once(4, reminders_run)

    assert sorted(ref for r in rounds for ref in r.due_soon) == sorted(
        r.reference for r in due_soon
    )
    assert sorted(ref for r in rounds for ref in r.escalated) == sorted(
        r.reference for r in overdue
    )
    assert reminder_events(ReferralEvent.Kind.DUE_SOON) == {r.pk: 1 for r in due_soon}
    notices = Counter(
        Notification.objects.filter(kind__in=["due_soon", "overdue"]).values_list(
            "referral_id", flat=True
        )
    )
    assert notices == {r.pk: 1 for r in due_soon + overdue}


def test_the_digest_recorded_at_once_is_recorded_and_queued_once():
    day = timezone.localdate(timezone.now(), office_zone()) + timedelta(days=1)
    while not is_working_day(day):
        day += timedelta(days=1)
    at_nine = datetime.combine(day, time(9), tzinfo=office_zone())

    made = at_once(4, lambda: reminders.daily_digest_if_due(now=at_nine))

    assert len([digest for digest in made if digest is not None]) == 1
    assert DailyDigest.objects.filter(day=day).count() == 1
    assert DBTaskResult.objects.filter(task_path=send_daily_digest.module_path).count() == 1


def test_workers_starting_at_once_start_one_chain():
    started = at_once(4, reminders_schedule)
    assert started.count(True) == 1
    assert ticks().count() == 1
