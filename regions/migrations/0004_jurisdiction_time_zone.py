"""Each jurisdiction gets its time zone, filled in from the `us` package (and the
territories' own zones, regions/reference.py) for the rows already there."""

import us
from django.db import migrations, models

import regions.models
from regions.reference import jurisdiction_time_zone


def fill_time_zones(apps, schema_editor):
    Jurisdiction = apps.get_model("regions", "Jurisdiction")
    for jurisdiction in Jurisdiction.objects.all():
        state = us.states.lookup(jurisdiction.code)
        if state is not None:
            jurisdiction.time_zone = jurisdiction_time_zone(state)
            jurisdiction.save(update_fields=["time_zone"])


class Migration(migrations.Migration):
    dependencies = [
        ("regions", "0003_resourcespecialist_open_referral_count"),
    ]

    operations = [
        migrations.AddField(
            model_name="jurisdiction",
            name="time_zone",
            field=models.CharField(
                choices=regions.models.time_zone_choices,
                default="America/New_York",
                help_text="The referrer's pages and e-mails show times in this zone.",
                max_length=64,
            ),
        ),
        migrations.RunPython(fill_time_zones, migrations.RunPython.noop, elidable=True),
    ]
