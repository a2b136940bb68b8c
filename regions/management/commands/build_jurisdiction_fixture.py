"""Write fixtures/jurisdictions.json from the `us` package and the provisional mapping."""

import json

from django.conf import settings
from django.core.management.base import BaseCommand

from regions.reference import jurisdiction_fixture


class Command(BaseCommand):
    help = "Regenerate fixtures/jurisdictions.json (56 jurisdictions, provisional regions)."

    def handle(self, *args, **options):
        path = settings.BASE_DIR / "fixtures" / "jurisdictions.json"
        objects = jurisdiction_fixture()
        path.write_text(json.dumps(objects, indent=2, ensure_ascii=False) + "\n")
        self.stdout.write(self.style.SUCCESS(f"Wrote {len(objects)} jurisdictions to {path}"))
