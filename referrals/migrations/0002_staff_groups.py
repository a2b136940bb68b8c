"""Formerly created the two staff groups; now a no-op kept for the migration history.

The groups and their permissions now come from accounts' post_migrate sync
(accounts/groups.py), which runs after every migrate. The old reverse deleted the
groups, and with them every staff member's membership.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("regions", "0001_initial"),
        ("contacts", "0001_initial"),
        ("referrals", "0001_initial"),
    ]

    operations = [migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop)]
