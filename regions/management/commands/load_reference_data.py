"""Load the reference data from fixtures/ into a database that has none of it yet."""

import json
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from regions.reference import REFERENCE_FIXTURES


def reference_models() -> list:
    """The models the reference fixtures fill, in load order (read from the fixture files)."""
    labels = {}
    for name in REFERENCE_FIXTURES:
        for directory in settings.FIXTURE_DIRS:
            path = Path(directory) / f"{name}.json"
            if path.exists():
                labels.update(dict.fromkeys(row["model"] for row in json.loads(path.read_text())))
    return [apps.get_model(label) for label in labels]


def describe(models) -> str:
    return ", ".join(
        f"{model.objects.count()} {model._meta.verbose_name_plural}" for model in models
    )


class Command(BaseCommand):
    help = (
        "Load the regions, jurisdictions, specialists, services and program contacts from "
        "fixtures/ into a database that has none of them; otherwise change nothing."
    )

    @transaction.atomic
    def handle(self, *args, verbosity=1, **options):
        models = reference_models()
        if any(model.objects.exists() for model in models):
            # Reloading would undo the supervisor's changes, to the mapping above all.
            message = f"Reference data already present ({describe(models)}): nothing loaded."
        else:
            call_command("loaddata", *REFERENCE_FIXTURES, verbosity=0)
            message = self.style.SUCCESS(f"Loaded the reference data: {describe(models)}.")
        if verbosity:
            self.stdout.write(message)
