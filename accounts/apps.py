from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    """Staff logins: the two roles, second factors, sessions, access to the admin."""

    name = "accounts"
    verbose_name = "Staff accounts"

    def ready(self):
        from .groups import sync_staff_groups_after_migrate
        from .sessions import on_login
        from .time_zones import remember_time_zone

        # Sent once per migrate or flush, after every migration has run (accounts has a
        # models module for this: Django sends post_migrate only to apps that have one).
        post_migrate.connect(
            sync_staff_groups_after_migrate,
            sender=self,
            dispatch_uid="accounts.groups.sync_staff_groups",
        )
        user_logged_in.connect(on_login, dispatch_uid="accounts.sessions.on_login")
        user_logged_in.connect(
            remember_time_zone, dispatch_uid="accounts.time_zones.remember_time_zone"
        )
