"""Export the partner directory as CSV (re-importable) or as Open Referral HSDS JSON."""

import io
import json
from pathlib import Path

from django.core.management.base import BaseCommand

from contacts.exchange import hsds_document, write_csv
from contacts.selectors import directory_for_export


class Command(BaseCommand):
    help = "Write the partner directory as CSV (the import's columns) or HSDS JSON."

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=["csv", "hsds"], default="csv")
        parser.add_argument("--output", "-o", type=Path, help="write to this file, not stdout")

    def handle(self, *args, format="csv", output=None, **options):
        if format == "csv":
            buffer = io.StringIO(newline="")
            write_csv(directory_for_export(), buffer)
            text = buffer.getvalue()
        else:
            document = hsds_document(directory_for_export())
            text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        if output:
            output.write_text(text, encoding="utf-8", newline="")
        else:
            self.stdout.write(text, ending="")
