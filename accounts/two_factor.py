"""Second factors: an authenticator app (TOTP), passkeys (WebAuthn), single-use backup codes.

django-otp keeps the devices and marks a session verified (`request.user.is_verified()`);
django-otp-webauthn adds passkeys as one more kind of device. This module is the
portal's use of them: enrolment, checking a code, backup codes, and the supervisor's reset.
"""

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_otp import devices_for_user
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from .models import SecurityEvent

AUTHENTICATOR_APP = "Authenticator app"
BACKUP_CODES = "Backup codes"
BACKUP_CODE_COUNT = 10

RESET_SUPERUSER = (
    "{username!r} is a superuser login: only another superuser can reset its second factors."
)


def required() -> bool:
    """Whether every staff page needs a verified second factor (RST_REQUIRE_2FA)."""
    return settings.RST_REQUIRE_2FA


def has_second_factor(user) -> bool:
    """Whether the user has enrolled: an authenticator app or a passkey (backup codes alone
    are a fallback, not an enrolment)."""
    return (
        TOTPDevice.objects.devices_for_user(user, confirmed=True).exists()
        or WebAuthnCredential.objects.devices_for_user(user, confirmed=True).exists()
    )


def has_passkey(user) -> bool:
    return WebAuthnCredential.objects.devices_for_user(user, confirmed=True).exists()


def totp_device_to_enrol(user) -> TOTPDevice:
    """The authenticator-app device being set up: unconfirmed until a code from it is given."""
    device = TOTPDevice.objects.devices_for_user(user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_APP, confirmed=False)
    return device


def totp_confirm(*, device: TOTPDevice, code: str) -> bool:
    """Confirm a new authenticator app with a code it shows; False if the code is wrong."""
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        if not device.verify_token(_digits(code)):
            return False
        device.confirmed = True
        device.save(update_fields=["confirmed"])
    return True


def verify_code(user, code: str):
    """The device that accepts `code` (an app's 6 digits or a backup code), or None.

    Each device counts its own failures and makes the next try wait longer (1, 2, 4 …
    seconds: django-otp's throttling), so guessing codes is hopeless. A backup code is
    deleted as it is accepted: each works once.
    """
    code = code.strip()
    with transaction.atomic():
        for device in devices_for_user(user, for_verify=True):
            if isinstance(device, TOTPDevice) and device.verify_token(_digits(code)):
                return device
            if isinstance(device, StaticDevice) and device.verify_token(code.lower()):
                return device
    return None


def wait_before_next_try(user) -> int:
    """Seconds until the user's devices accept another code (0 if they do now)."""
    waits = []
    for device in devices_for_user(user):
        allowed, details = device.verify_is_allowed()
        if not allowed and details and details.get("locked_until"):
            waits.append((details["locked_until"] - timezone.now()).total_seconds())
    return max(0, int(max(waits, default=0)) + 1) if waits else 0


def backup_codes_generate(user) -> list[str]:
    """Replace the user's backup codes with BACKUP_CODE_COUNT new ones and return them."""
    with transaction.atomic():
        device, _ = StaticDevice.objects.get_or_create(
            user=user, name=BACKUP_CODES, defaults={"confirmed": True}
        )
        device.token_set.all().delete()
        codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
        StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def backup_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


@dataclass(frozen=True)
class DeviceSummary:
    kind: str
    name: str
    created_at: object
    last_used_at: object


def device_summaries(user) -> list[DeviceSummary]:
    """The user's enrolled second factors, for their security page."""
    rows = [
        DeviceSummary(AUTHENTICATOR_APP, device.name, device.created_at, device.last_used_at)
        for device in TOTPDevice.objects.devices_for_user(user, confirmed=True)
    ]
    rows += [
        DeviceSummary("Passkey", device.name, device.created_at, device.last_used_at)
        for device in WebAuthnCredential.objects.devices_for_user(user, confirmed=True)
    ]
    return rows


@transaction.atomic
def two_factor_reset(*, user, actor, ip_address: str | None) -> int:
    """Remove every second factor of `user` (a lost phone); they enrol again at next login.

    Recorded in the security log. The user's sessions lose their verification at once:
    the device a session was verified with no longer exists.
    """
    if user.is_superuser and not actor.is_superuser:
        raise ValidationError(RESET_SUPERUSER.format(username=user.get_username()))
    removed = 0
    for model in (TOTPDevice, StaticDevice, WebAuthnCredential):
        _, per_model = model.objects.filter(user=user).delete()
        removed += per_model.get(model._meta.label, 0)
    SecurityEvent.objects.create(
        kind=SecurityEvent.Kind.TWO_FACTOR_RESET,
        actor=actor,
        subject=user,
        detail=f"{removed} second factor{'s' if removed != 1 else ''} removed",
        ip_address=ip_address,
    )
    return removed


def _digits(code: str) -> str:
    return "".join(code.split())
