"""Create the two staff groups with least-privilege permissions."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

SPECIALISTS = "Resource Specialists"
SUPERVISORS = "RST Supervisors"

# Specialists work in /queue/; what they may see there is scoped by region in code.
SPECIALIST_PERMISSIONS = [
    ("referrals", "view_referral"),
    ("referrals", "view_referralevent"),
    ("referrals", "view_service"),
    ("regions", "view_region"),
    ("regions", "view_jurisdiction"),
    ("regions", "view_resourcespecialist"),
    ("contacts", "view_programcontact"),
    ("contacts", "view_partnerorganization"),
]
# Supervisors review and correct assignments in the admin. Referral rows are never
# added or deleted there (they come from the form and are kept), and events are
# append-only, so neither add nor delete is granted.
SUPERVISOR_PERMISSIONS = SPECIALIST_PERMISSIONS + [
    ("referrals", "change_referral"),
    ("regions", "change_jurisdiction"),
    ("regions", "change_region"),
    ("regions", "add_resourcespecialist"),
    ("regions", "change_resourcespecialist"),
    ("contacts", "change_programcontact"),
    ("contacts", "add_partnerorganization"),
    ("contacts", "change_partnerorganization"),
    ("contacts", "delete_partnerorganization"),
]


def create_groups(apps, schema_editor):
    # Permissions are normally made after all migrations; make them now.
    for app_config in apps.get_app_configs():
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = models_module

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, wanted in ((SPECIALISTS, SPECIALIST_PERMISSIONS), (SUPERVISORS, SUPERVISOR_PERMISSIONS)):
        group, _ = Group.objects.get_or_create(name=name)
        permissions = [
            Permission.objects.get(content_type__app_label=app, codename=codename)
            for app, codename in wanted
        ]
        group.permissions.set(permissions)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=[SPECIALISTS, SUPERVISORS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("regions", "0001_initial"),
        ("contacts", "0001_initial"),
        ("referrals", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
