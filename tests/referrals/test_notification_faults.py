"""Notification faults against a real SMTP server (aiosmtpd) and the real task worker.

Each test ends by counting what the mail server accepted: every notice delivered once,
none lost, none doubled. Timeouts, delays and the lease are shortened through
settings (and the environment, for the worker run as a separate process).
"""

import asyncio
import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import timedelta
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import OperationalError, connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from referrals import tasks
from referrals.models import Notification, Referral
from tests.helpers import as_user, page_text, wait_for
from tests.referrals.notices import REFERRER, SUMMARY, create_referral

STACY = "SLSchultz@ncmec.org"
KYLA = "KBConlee@ncmec.org"
NOTICES = "/admin/referrals/notification/"
WORKLOAD = "/admin/referrals/referral/workload/"


class ScriptedMailServer:
    """An aiosmtpd handler that accepts mail unless a test scripts other answers."""

    def __init__(self):
        self.delivered = []  # (recipient, message, time accepted), in order
        # address → the replies to its next RCPT commands; then it is accepted.
        self.rcpt_replies: dict[str, list[str]] = {}
        self.stall_data = False
        self.data_started = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        replies = self.rcpt_replies.get(address.lower())
        if replies:
            return replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.data_started.set()
        if self.stall_data:
            # Never answer; when the client goes away aiosmtpd cancels this, and the
            # message, never accepted, is dropped (as a real server drops it).
            await asyncio.sleep(3600)
        message = message_from_bytes(envelope.content)
        for recipient in envelope.rcpt_tos:
            self.delivered.append((recipient, message, time.time()))
        return "250 2.0.0 Accepted"

    def to(self, address: str) -> list:
        return [message for recipient, message, _ in self.delivered if recipient == address]

    def recipients(self) -> list[str]:
        return [recipient for recipient, _, _ in self.delivered]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def mail_server():
    # The server's own log names every address; these tests look for ours in the logs.
    server_log = logging.getLogger("mail.log")
    level = server_log.level
    server_log.setLevel(logging.WARNING)
    handler = ScriptedMailServer()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port
    yield handler
    handler.stall_data = False
    controller.stop()
    server_log.setLevel(level)


class SilentMailServer:
    """Accepts connections and never says a word (a hung mail server)."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                self.connections.append(self.listener.accept()[0])
            except OSError:
                return  # closed

    def close(self):
        self.listener.close()
        for held in self.connections:
            held.close()


@pytest.fixture
def silent_mail_server():
    server = SilentMailServer()
    yield server
    server.close()


@pytest.fixture
def smtp(settings, mail_server):
    """Send through the scripted server, with short delays."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = mail_server.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 1
    settings.RST_NOTICE_RETRY_DELAYS = [0.3, 0.3]
    settings.RST_MAIL_PAUSE_SECONDS = 1
    tasks.mail_pause.end()
    yield settings
    tasks.mail_pause.end()


def run_worker():
    """Run the real worker in this process until no task is due (`task_worker --batch`)."""
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        call_command("task_worker", "--batch", "--no-startup-delay", verbosity=1)
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


def wait_until_due(notifications):
    """Sleep until every given notice's next attempt is due."""
    due = max(n.next_attempt_at for n in notifications)
    time.sleep(max(0.0, (due - timezone.now()).total_seconds()) + 0.05)


def statuses(referral: Referral) -> dict[str, str]:
    return dict(referral.notifications.values_list("kind", "status"))


# Greylisting, refusal, resend.


@pytest.mark.django_db(transaction=True)
def test_a_greylisting_server_gets_the_receipt_on_the_retry_exactly_once(
    reference_data, smtp, mail_server
):
    mail_server.rcpt_replies[REFERRER] = ["450 4.2.0 Greylisted, please try again later"]
    referral = create_referral()

    run_worker()
    receipt = Notification.objects.receipt_for(referral)
    assert (receipt.status, receipt.attempts) == ("pending", 1)
    assert receipt.last_error.startswith("the mail server refused the recipient (450")
    assert mail_server.recipients() == [STACY]  # the specialist was not held up

    wait_until_due([receipt])
    run_worker()
    assert sorted(mail_server.recipients()) == sorted([STACY, REFERRER])
    (copy,) = mail_server.to(REFERRER)
    assert copy["Subject"] == f"[RST] We received your referral {referral.reference}"
    assert SUMMARY not in copy.get_payload()
    receipt.refresh_from_db()
    assert (receipt.status, receipt.attempts) == ("sent", 2)
    assert statuses(referral) == {"assigned": "sent", "receipt": "sent"}
    assert Referral.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_permanent_refusal_fails_at_once_is_shown_to_the_supervisor_and_can_be_resent(
    reference_data, smtp, mail_server, supervisor_user, caplog, capsys
):
    refusal = f"550 5.1.1 <{REFERRER}>: Recipient address rejected: User unknown"
    mail_server.rcpt_replies[REFERRER] = [refusal]
    referral = create_referral()

    run_worker()
    receipt = Notification.objects.receipt_for(referral)
    assert (receipt.status, receipt.attempts) == ("failed", 1)
    assert receipt.last_error == (
        "the mail server refused the recipient "
        "(550 5.1.1 <[address]>: Recipient address rejected: User unknown)"
    )
    assert DBTaskResult.objects.filter(status="READY").count() == 0  # no retry queued
    failed_task = DBTaskResult.objects.get(status="FAILED")
    assert failed_task.exception_class_path == "referrals.tasks.NoticeNotSent"
    # The address the server refused is nowhere: not in the task result, the logs or the output.
    worker_output = capsys.readouterr()
    for text in (failed_task.traceback, caplog.text, worker_output.out, worker_output.err):
        assert REFERRER not in text
        assert "SMTPRecipientsRefused" not in text
    assert f"Could not send the receipt notice of {referral.reference}" in caplog.text

    supervisor = as_user(supervisor_user)
    assert "E-mail notices that failed (not sent after every attempt) 1" in page_text(
        supervisor.get(WORKLOAD)
    )
    failed_list = supervisor.get(NOTICES, {"status__exact": "failed"})
    assert [n.pk for n in failed_list.context["cl"].result_list] == [receipt.pk]

    # The address is corrected at the mail server's end; the supervisor resends.
    supervisor.post(NOTICES, {"action": "resend", "index": 0, "_selected_action": [receipt.pk]})
    run_worker()
    assert len(mail_server.to(REFERRER)) == 1
    assert len(mail_server.to(STACY)) == 1
    receipt.refresh_from_db()
    assert (receipt.status, receipt.resends, receipt.attempts) == ("sent", 1, 1)
    assert "E-mail notices that failed (not sent after every attempt) 0" in page_text(
        supervisor.get(WORKLOAD)
    )


# A silent mail server, and order.


@pytest.mark.django_db(transaction=True)
def test_a_silent_mail_server_costs_one_timeout_not_one_per_notice(
    reference_data, smtp, mail_server, silent_mail_server
):
    smtp.EMAIL_PORT = silent_mail_server.port
    referrals = [create_referral(email=f"referrer{i}@example.org") for i in range(3)]

    started = time.monotonic()
    run_worker()
    elapsed = time.monotonic() - started
    # Six notices; one waited EMAIL_TIMEOUT (1 s), the other five were deferred at once.
    assert elapsed < 2 * smtp.EMAIL_TIMEOUT, elapsed
    assert len(silent_mail_server.connections) == 1
    pending = list(Notification.objects.all())
    assert [n.status for n in pending] == ["pending"] * 6
    assert sum(n.last_error == "the mail server did not answer in time" for n in pending) == 1
    assert sum(n.last_error.startswith("not tried, sending paused") for n in pending) == 5

    # The mail server answers again: everything goes, once.
    smtp.EMAIL_PORT = mail_server.port
    wait_until_due(pending)
    run_worker()
    assert sorted(mail_server.recipients()) == sorted(
        [STACY] * 3 + [f"referrer{i}@example.org" for i in range(3)]
    )
    for referral in referrals:
        assert statuses(referral) == {"assigned": "sent", "receipt": "sent"}


@pytest.mark.django_db(transaction=True)
def test_urgent_referrals_notices_are_sent_before_routine_ones(reference_data, smtp, mail_server):
    routine = create_referral(code="MN", email="routine@example.org")
    urgent = create_referral(code="TX", email="urgent@example.org", urgency="urgent")
    run_worker()
    assert mail_server.recipients() == [KYLA, "urgent@example.org", STACY, "routine@example.org"]
    subjects = [message["Subject"] for _, message, _ in mail_server.delivered]
    assert subjects[0] == f"[RST] URGENT referral {urgent.reference} for you (Region 4)"
    assert routine.reference in subjects[2]


@pytest.mark.django_db(transaction=True)
def test_a_notice_whose_task_failed_before_sending_gets_a_new_task_after_the_lease(
    reference_data, smtp, mail_server, monkeypatch
):
    referral = create_referral()

    def database_unreachable(notification_id):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(tasks, "_locked", database_unreachable)
    run_worker()
    monkeypatch.undo()
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"FAILED"}
    assert statuses(referral) == {"assigned": "pending", "receipt": "pending"}

    run_worker()
    assert mail_server.delivered == []  # within the lease its task may still be coming
    lease = timedelta(seconds=smtp.RST_TASK_LEASE_SECONDS)
    Notification.objects.update(created_at=timezone.now() - lease - timedelta(seconds=1))
    run_worker()
    assert sorted(mail_server.recipients()) == sorted([STACY, REFERRER])
    assert statuses(referral) == {"assigned": "sent", "receipt": "sent"}
    run_worker()
    assert len(mail_server.delivered) == 2


# A worker killed while sending.


@pytest.fixture
def shared_database(reference_data, tmp_path):
    """A DATABASE_URL that a worker in another process can open, holding this test's data.

    PostgreSQL: the test database itself. SQLite: the test database is in memory, out
    of another process's reach, so for this test it is copied to a file and this
    process uses the file too.
    """
    if connection.vendor == "postgresql":
        db = connection.settings_dict
        password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
        yield f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        return
    path = tmp_path / "shared.sqlite3"
    connection.ensure_connection()
    copy = sqlite3.connect(path)
    connection.connection.backup(copy)
    copy.close()
    in_memory, name = connection.connection, connection.settings_dict["NAME"]
    connection.connection = None  # kept open in `in_memory`, or the database would vanish
    connection.settings_dict["NAME"] = str(path)
    try:
        yield f"sqlite:///{path}"
    finally:
        connection.close()
        connection.settings_dict["NAME"] = name
        connection.connection = in_memory


def start_worker(database_url: str, mail_port: int, *, lease: float) -> subprocess.Popen:
    """`manage.py task_worker` as production runs it, in its own process."""
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CONN_MAX_AGE": "0",
        "DEBUG": "true",  # the local-memory cache passes the system checks
        "SECRET_KEY": django_settings.SECRET_KEY,
        "SITE_URL": "http://testserver",
        "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
        "EMAIL_URL": f"smtp://127.0.0.1:{mail_port}",
        "EMAIL_TIMEOUT": str(lease - 1),
        "RST_TASK_LEASE_SECONDS": str(lease),
        "RST_NOTICE_RETRY_DELAYS": "1,1",
        "PYTHONUNBUFFERED": "1",
    }
    command = ["manage.py", "task_worker", "--no-reload", "--no-startup-delay", "--interval=0.2"]
    return subprocess.Popen(
        [sys.executable, *command],
        cwd=django_settings.BASE_DIR,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.django_db(transaction=True)
def test_a_notice_whose_worker_was_killed_while_sending_is_sent_once_after_the_lease(
    shared_database, mail_server
):
    lease = 5.0
    mail_server.stall_data = True
    referral = create_referral()
    assigned = referral.notifications.get(kind="assigned")

    first = start_worker(shared_database, mail_server.port, lease=lease)
    try:
        assert mail_server.data_started.wait(timeout=30), "the worker never started sending"
        first.kill()  # SIGKILL, mid-conversation: no clean-up of any kind
    finally:
        first_output = first.communicate(timeout=30)[0]
    assert first.returncode == -signal.SIGKILL

    abandoned = DBTaskResult.objects.get(status="RUNNING")
    assert abandoned.args_kwargs["kwargs"]["notification_id"] == assigned.pk
    assert mail_server.delivered == []
    mail_server.stall_data = False

    second = start_worker(shared_database, mail_server.port, lease=lease)
    try:
        both_delivered = wait_for(lambda: len(mail_server.delivered) >= 2, timeout=lease + 20)
        # Time for a wrong second copy to show up before counting.
        time.sleep(1)
    finally:
        second.send_signal(signal.SIGTERM)
        second_output = second.communicate(timeout=30)[0]
    assert both_delivered, second_output

    # The receipt went at once; the specialist's notice once the lease had run out.
    assert mail_server.recipients() == [REFERRER, STACY]
    delivered_to_stacy = mail_server.delivered[1][2]
    assert delivered_to_stacy >= abandoned.started_at.timestamp() + lease - 0.5
    assigned.refresh_from_db()
    assert (assigned.status, assigned.attempts) == ("sent", 2)  # the killed try counts
    assert statuses(referral) == {"assigned": "sent", "receipt": "sent"}
    abandoned.refresh_from_db()
    assert abandoned.status == "SUCCESSFUL"
    assert len(abandoned.worker_ids) == 2
    assert "taken as abandoned and queued again" in second_output
    for output in (first_output, second_output):
        assert REFERRER not in output
    assert Referral.objects.count() == 1


def test_a_lease_shorter_than_the_mail_timeout_is_refused_at_startup():
    # Or a slow send would be taken for a dead worker's and the e-mail sent twice.
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=django_settings.BASE_DIR,
        env={**os.environ, "DEBUG": "true", "EMAIL_TIMEOUT": "30", "RST_TASK_LEASE_SECONDS": "20"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "RST_TASK_LEASE_SECONDS must be longer than EMAIL_TIMEOUT" in result.stderr


@pytest.mark.django_db(transaction=True)
def test_the_worker_waits_out_a_database_outage_instead_of_dying(
    reference_data, smtp, mail_server, monkeypatch, caplog
):
    from django_tasks_db.management.commands import db_worker

    from referrals.management.commands import task_worker

    referral = create_referral()
    monkeypatch.setattr(task_worker, "DATABASE_RETRY_SECONDS", 0)
    real_ready = DBTaskResult.objects.ready
    outage = iter([True, True])  # the first two looks for work find no database

    def ready():
        if next(outage, False):
            raise OperationalError("connection to server failed: Connection refused")
        return real_ready()

    monkeypatch.setattr(db_worker.DBTaskResult.objects, "ready", ready)
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        # Not --batch: a long-running worker, stopped after the two notices.
        call_command("task_worker", "--no-startup-delay", "--interval", "0", "--max-tasks", "2")
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)
    assert "The database is unavailable (OperationalError)" in caplog.text
    assert sorted(mail_server.recipients()) == sorted([STACY, REFERRER])
    assert statuses(referral) == {"assigned": "sent", "receipt": "sent"}
