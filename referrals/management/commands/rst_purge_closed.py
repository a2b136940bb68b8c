"""Redact closed referrals past the retention period (RST_RETENTION_DAYS)."""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from referrals.retention import REDACTED_FIELDS, redaction_due, referrals_purge


class Command(BaseCommand):
    help = (
        "Remove the child's details, the referrer's contact details and the notes of "
        f"referrals closed more than RST_RETENTION_DAYS ago ({', '.join(REDACTED_FIELDS)} "
        "and the history's free text). Keeps region, jurisdiction, dates, services, "
        "outcome and the kinds of events. Safe to run again: it changes nothing twice."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="List what would be redacted; change nothing."
        )

    def handle(self, *args, dry_run=False, **options):
        days = settings.RST_RETENTION_DAYS
        now = timezone.now()
        if dry_run:
            due = list(redaction_due(now=now).values_list("reference", "closed_at"))
            for reference, closed_at in due:
                self.stdout.write(f"would redact {reference} (closed {closed_at:%Y-%m-%d})")
            self.stdout.write(
                f"{len(due)} referral{'s' if len(due) != 1 else ''} closed more than "
                f"{days} days ago would be redacted (dry run: nothing changed)."
            )
            return
        result = referrals_purge(now=now)
        for reference in result.redacted:
            self.stdout.write(f"redacted {reference}")
        self.stdout.write(
            f"{len(result.redacted)} referral{'s' if len(result.redacted) != 1 else ''} "
            f"closed more than {days} days ago redacted ({result.events} notes emptied)."
        )
