"""The notification ledger (the outbox); supervisors may see and resend notices.

Notices still queued as the old `send_referral_notice` tasks become ledger entries, so
a deploy in the middle of a queue loses none of them.
"""

import uuid

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

OLD_TASK = "referrals.tasks.send_referral_notice"
NEW_TASK = "referrals.tasks.send_notification"


def adopt_queued_notices(apps, schema_editor):
    DBTaskResult = apps.get_model("django_tasks_database", "DBTaskResult")
    Notification = apps.get_model("referrals", "Notification")
    Referral = apps.get_model("referrals", "Referral")
    queued = DBTaskResult.objects.filter(task_path=OLD_TASK, status__in=["READY", "RUNNING"])
    for task in queued:
        kwargs = task.args_kwargs.get("kwargs", {})
        referral = Referral.objects.filter(pk=kwargs.get("referral_id")).first()
        if referral is None:
            continue
        kind = kwargs.get("notice")
        specialist_id = kwargs.get("specialist_id") if kind == "assigned" else None
        if kind not in ("assigned", "intake", "receipt") or (
            kind == "assigned" and not specialist_id
        ):
            continue  # the old code never queued these
        notification = Notification(
            referral=referral,
            kind=kind,
            specialist_id=specialist_id,
            priority=task.priority,
            attempts=max(int(kwargs.get("attempt", 1)) - 1, 0),
            task_token=uuid.uuid4().hex,
        )
        notification.save()
        task.task_path = NEW_TASK
        task.status = "READY"
        task.args_kwargs = {
            "args": [],
            "kwargs": {"notification_id": notification.pk, "token": notification.task_token},
        }
        task.save(update_fields=["task_path", "status", "args_kwargs"])


class Migration(migrations.Migration):
    dependencies = [
        ("referrals", "0004_supervisors_see_task_results"),
        ("regions", "0002_active_help_text"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [
        migrations.CreateModel(
            name="Notification",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("assigned", "Assigned to a Resource Specialist"),
                            ("intake", "Waiting in supervisor intake"),
                            ("receipt", "Receipt to the referrer"),
                        ],
                        max_length=10,
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Pending"),
                            ("sent", "Sent"),
                            ("failed", "Failed"),
                            ("skipped", "Not sent"),
                        ],
                        default="pending",
                        max_length=8,
                    ),
                ),
                ("priority", models.SmallIntegerField(default=0)),
                ("attempts", models.PositiveSmallIntegerField(default=0)),
                ("last_error", models.CharField(blank=True, max_length=300)),
                ("skip_reason", models.CharField(blank=True, max_length=200)),
                ("recipient_hash", models.CharField(blank=True, editable=False, max_length=64)),
                ("task_token", models.CharField(blank=True, editable=False, max_length=32)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("last_attempt_at", models.DateTimeField(blank=True, null=True)),
                ("next_attempt_at", models.DateTimeField(blank=True, null=True)),
                ("sent_at", models.DateTimeField(blank=True, null=True)),
                ("resends", models.PositiveSmallIntegerField(default=0)),
                ("resent_at", models.DateTimeField(blank=True, null=True)),
                (
                    "referral",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="notifications",
                        to="referrals.referral",
                    ),
                ),
                (
                    "resent_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "specialist",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="regions.resourcespecialist",
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-pk"],
                "verbose_name": "e-mail notice",
                "indexes": [
                    models.Index(
                        condition=models.Q(("kind", "receipt")),
                        fields=["recipient_hash", "created_at"],
                        name="notification_receipt_rate",
                    ),
                    models.Index(fields=["status", "created_at"], name="notification_status_time"),
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("kind", "assigned"), ("specialist__isnull", False)),
                            models.Q(
                                models.Q(("kind", "assigned"), _negated=True),
                                ("specialist__isnull", True),
                            ),
                            _connector="OR",
                        ),
                        name="notification_specialist_iff_assigned",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("status", "sent"), _negated=True),
                            ("sent_at__isnull", False),
                            _connector="OR",
                        ),
                        name="notification_sent_has_time",
                    ),
                ],
            },
        ),
        # The supervisors' permissions on notices come from accounts/groups.py (post_migrate).
        migrations.RunPython(adopt_queued_notices, migrations.RunPython.noop),
    ]
