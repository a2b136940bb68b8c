"""Formerly let supervisors see notification task results; now a no-op kept for the history.

The groups and their permissions (django_tasks_database.view_dbtaskresult among them) now
come from accounts' post_migrate sync (accounts/groups.py), which runs after every migrate.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("referrals", "0003_neutral_referrer_labels"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop)]
