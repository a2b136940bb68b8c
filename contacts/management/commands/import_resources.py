"""Import partner organizations and services from a CSV file (the columns: contacts/exchange.py)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from contacts.models import PartnerService
from contacts.services import directory_import


class Command(BaseCommand):
    help = (
        "Import partner services from a CSV file, one row per service. Every row is checked "
        "first; if any is bad, the problems are listed by row and column and nothing is "
        "imported (unless --skip-invalid). Importing the same file again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="the CSV file (UTF-8)")
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="import the valid rows and list the bad ones, instead of importing nothing",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="check the file and report, write nothing"
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="import only into an empty directory (scripts/serve: never undo the "
            "supervisor's changes)",
        )

    def handle(self, *args, file: Path, skip_invalid=False, dry_run=False, verbosity=1, **options):
        if options.get("if_empty") and PartnerService.objects.exists():
            if verbosity:
                count = PartnerService.objects.count()
                self.stdout.write(f"The directory lists {count} services already: none imported.")
            return
        try:
            data = file.read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}.") from None
        report = directory_import(data=data, skip_invalid=skip_invalid, dry_run=dry_run)
        for error in report.errors:
            self.stderr.write(f"{file.name}: {error}")
        if report.blocked:
            raise CommandError(
                f"{report.summary()} Fix them, or run again with --skip-invalid to import "
                "the valid rows."
            )
        if verbosity:
            self.stdout.write(self.style.SUCCESS(report.summary()))
