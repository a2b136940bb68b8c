"""Let supervisors see notification task results (failed sends) in the admin."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

SUPERVISORS = "RST Supervisors"


def grant(apps, schema_editor):
    app_config = apps.get_app_config("django_tasks_database")
    models_module = getattr(app_config, "models_module", None)
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = models_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.get(
        content_type__app_label="django_tasks_database", codename="view_dbtaskresult"
    )
    Group.objects.get(name=SUPERVISORS).permissions.add(permission)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    Group.objects.get(name=SUPERVISORS).permissions.remove(
        *Permission.objects.filter(
            content_type__app_label="django_tasks_database", codename="view_dbtaskresult"
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("referrals", "0003_neutral_referrer_labels"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
