"""Staff logins: the one-time passwords still to be replaced, and the security log.

Also the reason Django sends accounts its post_migrate signal, which syncs the staff
groups (accounts/groups.py). Records about referrals (who read which case) live in
referrals, which sits above this app; these are about logins only.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models
from django.utils import timezone


class StaffLogin(get_user_model()):
    """A login as the supervisor's admin shows it: roles, second factors, lockouts.

    A proxy of the user model, so that supervisors can be given this page (and the
    permission to reset someone's second factors) without Django's user admin, which
    would let them change anyone's password, groups and superuser status.
    """

    class Meta:
        proxy = True
        verbose_name = "staff login"
        permissions = [("reset_two_factor", "Can reset a staff login's second factors")]


class OneTimePassword(models.Model):
    """A password someone else chose (manage.py specialist_login): it must be replaced.

    `password` is the user's password hash when it was set. As long as the user's hash
    is the same, the password has not been changed, whichever way it is changed later
    (the form, a reset, the admin), so no view has to remember to clear this.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="one_time_password"
    )
    password = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"one-time password of {self.user}"

    @property
    def still_in_use(self) -> bool:
        return self.user.password == self.password


class StaffProfile(models.Model):
    """A staff member's own settings: the time zone their pages show times in."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile"
    )
    # Empty: the office's zone (settings.TIME_ZONE).
    time_zone = models.CharField(max_length=64, blank=True)

    def __str__(self):
        return f"profile of {self.user}"


class SecurityEvent(models.Model):
    """Something a supervisor did to another login's security. Append-only."""

    class Kind(models.TextChoices):
        TWO_FACTOR_RESET = "two_factor_reset", "Second factors reset"
        LOCKOUT_CLEARED = "lockout_cleared", "Lockout cleared"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # The login acted on; empty for a lockout of an address or an unknown username.
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # What was acted on, in words: "3 devices", "username kbconlee from 203.0.113.5".
    detail = models.CharField(max_length=300, blank=True)
    ip_address = models.GenericIPAddressField("from address", null=True, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = "security log entry"
        verbose_name_plural = "security log"

    def __str__(self):
        return f"{self.get_kind_display()} by {self.actor} at {self.at:%Y-%m-%d %H:%M}"
