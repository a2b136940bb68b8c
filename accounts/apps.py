from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    """Staff logins: the two roles, access to the admin, linking a login to a specialist."""

    name = "accounts"
    verbose_name = "Staff accounts"

    def ready(self):
        from .groups import sync_staff_groups_after_migrate

        # Sent once per migrate or flush, after every migration has run (accounts has a
        # models module for this: Django sends post_migrate only to apps that have one).
        post_migrate.connect(
            sync_staff_groups_after_migrate,
            sender=self,
            dispatch_uid="accounts.groups.sync_staff_groups",
        )
