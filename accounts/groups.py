"""The staff groups and their permissions: the table, and the sync that makes the database match.

The table is the one place to change what a role may do. `migrate` (and `flush`) run the
sync through post_migrate, as contrib.auth creates permissions; a permission granted to
one of these groups by hand in the admin is removed at the next migrate.
"""

from django.apps import apps as global_apps
from django.contrib.auth import get_permission_codename
from django.contrib.auth.management import create_permissions
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, router, transaction

from .roles import SPECIALISTS_GROUP, SUPERVISORS_GROUP

# Specialists work in /queue/; what they may see there is scoped by region in code, and
# the admin refuses them whatever they hold (accounts.access).
SPECIALIST_PERMISSIONS = frozenset(
    {
        "referrals.view_referral",
        "referrals.view_referralevent",
        "referrals.view_service",
        "regions.view_region",
        "regions.view_jurisdiction",
        "regions.view_resourcespecialist",
        "contacts.view_programcontact",
        "contacts.view_partnerorganization",
    }
)
# Supervisors review and correct assignments in the admin. Referral rows are never added
# or deleted there (they come from the form and are kept), and events are append-only,
# so neither add nor delete is granted for them.
SUPERVISOR_PERMISSIONS = SPECIALIST_PERMISSIONS | {
    "referrals.change_referral",
    # The e-mail notices: see them, resend a failed one, mark it handled.
    "referrals.view_notification",
    "referrals.change_notification",
    "regions.change_jurisdiction",
    "regions.change_region",
    "regions.add_resourcespecialist",
    "regions.change_resourcespecialist",
    "contacts.change_programcontact",
    "contacts.add_partnerorganization",
    "contacts.change_partnerorganization",
    "contacts.delete_partnerorganization",
    # Failed notification tasks, in django-tasks-db's own admin.
    "django_tasks_database.view_dbtaskresult",
    # Who read which referral (append-only: view only).
    "referrals.view_referralaccess",
    # The daily digests the reminders sent (made by the worker: view only).
    "referrals.view_dailydigest",
    # Possible duplicates: see every pair (across regions), confirm or dismiss them.
    "referrals.view_possibleduplicate",
    "referrals.change_possibleduplicate",
    # Staff logins: see them, reset a lost second factor, clear a lockout (accounts/admin.py).
    "accounts.view_stafflogin",
    "accounts.reset_two_factor",
    "accounts.view_securityevent",
    "axes.view_accessattempt",
    "axes.delete_accessattempt",
}

STAFF_GROUP_PERMISSIONS: dict[str, frozenset[str]] = {
    SPECIALISTS_GROUP: SPECIALIST_PERMISSIONS,
    SUPERVISORS_GROUP: SUPERVISOR_PERMISSIONS,
}

UNKNOWN_PERMISSION = (
    "The staff group table names {permission!r}, which no installed model defines. "
    "Write permissions as 'app_label.codename' (see accounts/groups.py)."
)


def sync_staff_groups(*, table=None, using: str = DEFAULT_DB_ALIAS, apps=global_apps) -> list[str]:
    """Make the staff groups hold exactly the permissions in the table; return what changed.

    Idempotent. Creates missing groups, adds missing permissions and removes the ones the
    table no longer lists. Never deletes a group and never touches who is in one. A
    permission whose model is not migrated yet is skipped; the migrate that adds the
    model grants it.
    """
    table = STAFF_GROUP_PERMISSIONS if table is None else table
    try:
        Group = apps.get_model("auth", "Group")
        Permission = apps.get_model("auth", "Permission")
    except LookupError:  # auth migrated back to zero
        return []
    if not router.allow_migrate_model(using, Group):
        return []
    wanted = {name: {_split(permission) for permission in perms} for name, perms in table.items()}
    app_labels = {app_label for perms in wanted.values() for app_label, _ in perms}
    for app_label in app_labels:
        # post_migrate makes permissions app by app; do not depend on the order of apps.
        create_permissions(
            global_apps.get_app_config(app_label), verbosity=0, using=using, apps=apps
        )

    changes = []
    with transaction.atomic(using=using):
        available = {
            (permission.content_type.app_label, permission.codename): permission
            for permission in Permission.objects.using(using)
            .filter(content_type__app_label__in=app_labels)
            .select_related("content_type")
        }
        for name, perms in wanted.items():
            group, created = Group.objects.using(using).get_or_create(name=name)
            if created:
                changes.append(f"{name}: created")
            held = {
                (permission.content_type.app_label, permission.codename): permission
                for permission in group.permissions.select_related("content_type")
            }
            missing = sorted(key for key in perms - held.keys() if key in available)
            extra = sorted(held.keys() - perms)
            group.permissions.add(*(available[key] for key in missing))
            group.permissions.remove(*(held[key] for key in extra))
            changes += [f"{name}: added {'.'.join(key)}" for key in missing]
            changes += [f"{name}: removed {'.'.join(key)}" for key in extra]
    return changes


def sync_staff_groups_after_migrate(
    *, verbosity=1, using=DEFAULT_DB_ALIAS, apps=global_apps, **kwargs
):
    """The post_migrate receiver (connected in AccountsConfig.ready)."""
    for change in sync_staff_groups(using=using, apps=apps):
        if verbosity >= 2:
            print(f"Staff group {change}")


def _split(permission: str) -> tuple[str, str]:
    """'app_label.codename' as a pair, checked against the installed models."""
    app_label, _, codename = permission.partition(".")
    try:
        app_config = global_apps.get_app_config(app_label)
    except LookupError:
        raise ImproperlyConfigured(UNKNOWN_PERMISSION.format(permission=permission)) from None
    defined = set()
    for model in app_config.get_models():
        opts = model._meta
        defined.update(get_permission_codename(action, opts) for action in opts.default_permissions)
        defined.update(custom for custom, _ in opts.permissions)
    if codename not in defined:
        raise ImproperlyConfigured(UNKNOWN_PERMISSION.format(permission=permission))
    return app_label, codename
