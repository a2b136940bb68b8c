"""Run the task worker: django-tasks-db's db_worker, plus a lease on running tasks.

db_worker marks a task RUNNING when it takes it and finished when it ends; if the
worker dies in between (kill -9, out of memory, power loss) the task stays RUNNING for
good and its e-mail is never sent. This worker takes the same options and also puts
every task that has been RUNNING longer than RST_TASK_LEASE_SECONDS back in the queue:
when it starts, and then every quarter lease while it runs. The notification task
knows from its ledger whether the notice still needs sending (referrals/tasks.py).
On the same rounds it gives a new task to any notice left pending without one, and
once a day it runs the retention purge (manage.py rst_purge_closed). Unless run with
--batch, it also starts the deadline reminders' chain of ticks (referrals/reminders.py)
and starts it again on those rounds should it ever break.
"""

import logging
import os
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.core.management.base import CommandError
from django.db import InterfaceError, OperationalError, close_old_connections, connection
from django.utils import timezone
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import is_locked_database_exception

from referrals.reminders import reminders_schedule
from referrals.retention import referrals_purge
from referrals.tasks import requeue_orphaned_notices

logger = logging.getLogger("django_tasks_db")

# How long the worker waits before trying a database that did not answer.
DATABASE_RETRY_SECONDS = 5
# The retention purge is idempotent: several workers running it is harmless.
PURGE_INTERVAL_SECONDS = 24 * 60 * 60


def requeue_stale_tasks(*, backend_name: str, lease: timedelta) -> int:
    """Put tasks RUNNING for longer than `lease` back in the queue; return how many."""
    cutoff = timezone.now() - lease
    stale = DBTaskResult.objects.running().filter(backend_name=backend_name, started_at__lt=cutoff)
    requeued = 0
    for task_id, started_at, worker_ids in stale.values_list("id", "started_at", "worker_ids"):
        # Only if still RUNNING since then: the worker may have finished it meanwhile.
        if (
            DBTaskResult.objects.running()
            .filter(id=task_id, started_at=started_at)
            .update(status="READY")
        ):
            requeued += 1
            logger.warning(
                "Task id=%s has been running since %s on worker %s, longer than the lease "
                "(%d s): taken as abandoned and queued again.",
                task_id,
                started_at.isoformat(),
                worker_ids[-1] if worker_ids else "?",
                lease.total_seconds(),
            )
    return requeued


class LeasedWorker(db_worker.Worker):
    def __init__(self, *, lease_seconds: float, **kwargs):
        super().__init__(**kwargs)
        self.lease = timedelta(seconds=lease_seconds)
        self.last_purge = None

    def requeue_stale(self) -> None:
        try:
            requeue_stale_tasks(backend_name=self.backend_name, lease=self.lease)
            requeue_orphaned_notices(older_than=self.lease)
        except OperationalError as error:
            # SQLite busy: try again at the next round.
            if not is_locked_database_exception(error):
                raise

    def schedule_reminders(self) -> None:
        """Keep one reminders tick queued (a no-op while one is waiting or running)."""
        try:
            if reminders_schedule():
                logger.info("Deadline reminders: a tick is queued (then one every few minutes).")
        except OperationalError as error:
            # SQLite busy: try again at the next round.
            if not is_locked_database_exception(error):
                raise

    def purge_if_due(self) -> None:
        """Redact closed referrals past the retention period, once a day."""
        if self.last_purge is not None and time.monotonic() - self.last_purge < (
            PURGE_INTERVAL_SECONDS
        ):
            return
        result = referrals_purge()
        self.last_purge = time.monotonic()
        if result.redacted:
            logger.warning(
                "Retention: redacted %d closed referrals (%s).",
                len(result.redacted),
                ", ".join(result.redacted[:20]),
            )

    def _keep_leases(self) -> None:
        while True:
            time.sleep(self.lease.total_seconds() / 4)
            try:
                self.requeue_stale()
                self.purge_if_due()
                self.schedule_reminders()
            except Exception:
                logger.exception("Could not re-queue abandoned tasks; trying again later.")
            finally:
                connection.close()  # this thread's own connection

    def run(self) -> None:
        keeping_leases = False
        while True:
            try:
                self.requeue_stale()  # what a worker that died (maybe this one) left behind
                if not self.batch:
                    # --batch runs what is due and exits: no chain of future ticks.
                    self.schedule_reminders()
                if not self.batch and not keeping_leases:
                    threading.Thread(
                        target=self._keep_leases, name="task-leases", daemon=True
                    ).start()
                    keeping_leases = True
                super().run()
                return
            except (OperationalError, InterfaceError) as error:
                # The database went away (restart, failover): wait for it rather than die
                # and leave every notice unsent until someone restarts the worker.
                if self.batch or not self.running:
                    raise
                logger.error(
                    "The database is unavailable (%s); the worker tries again in %d s.",
                    type(error).__name__,
                    DATABASE_RETRY_SECONDS,
                )
                close_old_connections()
                time.sleep(DATABASE_RETRY_SECONDS)


class Command(db_worker.Command):
    help = (
        "Run the database task worker (db_worker's options); tasks left RUNNING by a worker "
        "that died run again after RST_TASK_LEASE_SECONDS."
    )

    def handle(
        self,
        *,
        verbosity: int,
        queue_name: str,
        interval: float,
        batch: bool,
        backend_name: str,
        startup_delay: bool,
        reload: bool,
        max_tasks: int | None,
        worker_id: str,
        exclude_queues: str,
        **options,
    ) -> None:
        # As db_worker's handle(), with the leased worker.
        self.configure_logging(verbosity)
        if reload and batch:
            logger.warning("--reload and --batch cannot be specified together. Not reloading.")
            reload = False
        queue_names = queue_name.split(",")
        excluded_queue_names = exclude_queues.split(",") if exclude_queues else []
        if excluded_queue_names and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        worker = LeasedWorker(
            lease_seconds=settings.RST_TASK_LEASE_SECONDS,
            queue_names=queue_names,
            interval=interval,
            batch=batch,
            backend_name=backend_name,
            startup_delay=startup_delay,
            max_tasks=max_tasks,
            worker_id=worker_id,
            excluded_queue_names=excluded_queue_names,
        )
        if reload:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                worker.configure_signals()  # only in the child that runs tasks
            run_with_reloader(worker.run)
        else:
            worker.configure_signals()
            worker.run()
