"""Run one round of the deadline reminders (for cron or a systemd timer).

The long-running worker (manage.py task_worker) already runs a round every few minutes;
this is for deployments that run the worker with --batch from a timer, or to catch up by
hand. Each reminder is recorded once however often or wherever this runs, and its e-mail
goes through the outbox: a worker sends it.
"""

from django.core.management.base import BaseCommand

from referrals.reminders import reminders_run


class Command(BaseCommand):
    help = (
        "Record the due-soon reminders, overdue escalations and daily digest due now and "
        "queue their e-mails (idempotent; the task worker sends them)."
    )

    def handle(self, *args, verbosity: int, **options) -> None:
        done = reminders_run()
        if verbosity >= 1:
            self.stdout.write(f"Reminders: {done}.")
