"""The supervisor's admin of staff logins: second factors, lockouts and the security log.

Read-only pages with one action each: reset a login's second factors, clear a lockout.
Each action is written to the security log, which nobody can change or delete here.
"""

from axes.models import AccessAttempt
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, IntegerField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from .access import SupervisorOnlyAdminMixin
from .client_ip import client_ip
from .lockout import lockout_clear
from .models import SecurityEvent, StaffLogin
from .roles import SPECIALISTS_GROUP, SUPERVISORS_GROUP, is_supervisor
from .two_factor import two_factor_reset


class ReadOnlyAdmin(SupervisorOnlyAdminMixin, admin.ModelAdmin):
    """Rows shown, never added, changed or deleted through a form."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _count(model, **filters):
    rows = model.objects.filter(**filters).order_by().values("user")
    return Coalesce(
        Subquery(rows.annotate(n=Count("pk")).values("n")[:1], output_field=IntegerField()), 0
    )


@admin.register(StaffLogin)
class StaffLoginAdmin(ReadOnlyAdmin):
    list_display = [
        "username",
        "full_name",
        "role",
        "is_active",
        "authenticator_apps",
        "passkeys",
        "backup_codes",
        "last_login",
    ]
    list_filter = ["is_active", "groups"]
    search_fields = ["username", "first_name", "last_name", "email"]
    fields = [
        ("username", "first_name", "last_name", "email"),
        ("is_active", "last_login", "date_joined"),
        ("role", "authenticator_apps", "passkeys", "backup_codes"),
    ]
    readonly_fields = [name for line in fields for name in line]
    actions = ["reset_two_factor"]
    ordering = ["username"]

    def get_queryset(self, request):
        logins = super().get_queryset(request)
        if not request.user.is_superuser:
            logins = logins.filter(is_superuser=False)  # not a supervisor's business
        return logins.annotate(
            totp_count=_count(TOTPDevice, user=OuterRef("pk"), confirmed=True),
            passkey_count=_count(WebAuthnCredential, user=OuterRef("pk"), confirmed=True),
            backup_count=Coalesce(
                Subquery(
                    StaticToken.objects.filter(device__user=OuterRef("pk"))
                    .order_by()
                    .values("device__user")
                    .annotate(n=Count("pk"))
                    .values("n")[:1],
                    output_field=IntegerField(),
                ),
                0,
            ),
            supervisor=Exists(
                StaffLogin.groups.through.objects.filter(
                    user=OuterRef("pk"), group__name=SUPERVISORS_GROUP
                )
            ),
            specialist=Exists(
                StaffLogin.groups.through.objects.filter(
                    user=OuterRef("pk"), group__name=SPECIALISTS_GROUP
                )
            ),
        )

    def has_reset_two_factor_permission(self, request):
        return is_supervisor(request.user) and request.user.has_perm(
            f"{self.opts.app_label}.reset_two_factor"
        )

    @admin.display(description="name")
    def full_name(self, user):
        return user.get_full_name()

    @admin.display(description="role")
    def role(self, user):
        if user.is_superuser:
            return "Superuser"
        if user.supervisor:
            return "RST supervisor"
        if user.specialist:
            return "Resource Specialist"
        return "—"

    @admin.display(description="authenticator apps")
    def authenticator_apps(self, user):
        return user.totp_count

    @admin.display(description="passkeys")
    def passkeys(self, user):
        return user.passkey_count

    @admin.display(description="backup codes left")
    def backup_codes(self, user):
        return user.backup_count

    @admin.action(
        description="Reset second factors of the selected logins (they enrol again)",
        permissions=["reset_two_factor"],
    )
    def reset_two_factor(self, request, queryset):
        done, refused = [], []
        for user in queryset:
            try:
                two_factor_reset(user=user, actor=request.user, ip_address=client_ip(request))
            except ValidationError as error:
                refused.append(" ".join(error.messages))
            else:
                done.append(user.get_username())
        if done:
            self.message_user(
                request,
                f"Second factors reset for {', '.join(done)}: they set up a new one at their "
                "next login (recorded in the security log).",
                level=messages.SUCCESS,
            )
        for reason in refused:
            self.message_user(request, reason, level=messages.ERROR)


def _failures(**filters):
    return Coalesce(
        Subquery(
            AccessAttempt.objects.filter(**filters)
            .order_by()
            .values(*filters.keys())
            .annotate(total=Sum("failures_since_start"))
            .values("total")[:1],
            output_field=IntegerField(),
        ),
        0,
    )


@admin.register(AccessAttempt)
class LockoutAdmin(ReadOnlyAdmin):
    """Failed logins by username and address; past the limit either one is locked out."""

    list_display = [
        "attempt_time",
        "username",
        "ip_address",
        "failures_since_start",
        "username_failures",
        "address_failures",
    ]
    list_filter = ["attempt_time"]
    search_fields = ["username", "ip_address"]
    date_hierarchy = "attempt_time"
    fields = [
        ("username", "ip_address"),
        ("attempt_time", "failures_since_start"),
        ("username_failures", "address_failures"),
        "user_agent",
    ]
    readonly_fields = [
        name for line in fields for name in (line if isinstance(line, tuple) else (line,))
    ]
    actions = ["unlock_usernames", "unlock_addresses"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                username_total=_failures(username=OuterRef("username")),
                address_total=_failures(ip_address=OuterRef("ip_address")),
            )
        )

    def has_unlock_permission(self, request):
        # Unlocking deletes the failures; the generic delete is not offered, so that
        # every unlock goes through the security log.
        return is_supervisor(request.user) and request.user.has_perm("axes.delete_accessattempt")

    @admin.display(description="failures of this username (every address)")
    def username_failures(self, attempt):
        return attempt.username_total

    @admin.display(description="failures from this address (every username)")
    def address_failures(self, attempt):
        return attempt.address_total

    @admin.action(
        description="Unlock the selected usernames (failures from every address)",
        permissions=["unlock"],
    )
    def unlock_usernames(self, request, queryset):
        usernames = set(queryset.values_list("username", flat=True))
        lockout_clear(usernames=usernames, actor=request.user, ip_address=client_ip(request))
        self.message_user(
            request, f"Unlocked {', '.join(sorted(usernames))}.", level=messages.SUCCESS
        )

    @admin.action(
        description="Unlock the selected addresses (failures for every username)",
        permissions=["unlock"],
    )
    def unlock_addresses(self, request, queryset):
        addresses = set(queryset.values_list("ip_address", flat=True))
        lockout_clear(addresses=addresses, actor=request.user, ip_address=client_ip(request))
        self.message_user(
            request, f"Unlocked {', '.join(sorted(addresses))}.", level=messages.SUCCESS
        )


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyAdmin):
    """Every second-factor reset and cleared lockout: who, whom, when, from where."""

    list_display = ["at", "kind", "actor", "subject", "detail", "ip_address"]
    list_filter = ["kind", ("actor", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["actor", "subject"]
    date_hierarchy = "at"
    search_fields = ["actor__username", "subject__username", "detail", "ip_address"]
