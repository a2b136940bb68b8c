"""First contact is due in business time now (referrals/deadlines.py): recompute the due
time of every referral still waiting for first contact, from when it was submitted."""

from django.db import migrations

from referrals.deadlines import first_contact_due


def recompute_due_times(apps, schema_editor):
    Referral = apps.get_model("referrals", "Referral")
    waiting = Referral.objects.filter(status="new").only("pk", "submitted_at", "urgency")
    for referral in waiting.iterator(chunk_size=500):
        referral.first_contact_due_at = first_contact_due(
            submitted_at=referral.submitted_at, urgency=referral.urgency
        )
        referral.save(update_fields=["first_contact_due_at"])


class Migration(migrations.Migration):
    dependencies = [
        ("referrals", "0010_business_time_status_links_duplicates"),
    ]

    operations = [
        migrations.RunPython(recompute_due_times, migrations.RunPython.noop, elidable=True),
    ]
