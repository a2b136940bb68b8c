from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Staff logins: the two roles, access to the admin, linking a login to a specialist."""

    name = "accounts"
    verbose_name = "Staff accounts"
