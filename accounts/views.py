"""The sign-in steps after the password (second factor, enrolment), the security page and
the staff member's own settings (their time zone).

Login, logout and the password pages are Django's own views (accounts/urls.py); the
password reset is Django's with a rate limit in front.
"""

import logging
from base64 import b32encode

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice
from django_ratelimit.core import is_ratelimited

from . import time_zones, two_factor
from .client_ip import client_ip
from .forms import CodeForm, TimeZoneForm
from .services import staff_time_zone_set

logger = logging.getLogger(__name__)

WRONG_CODE = "That code is not right (or was already used). Try the newest code from your app."
WAIT_BEFORE_NEXT_TRY = " Too many wrong codes: wait {seconds} seconds before the next try."
APP_CODE_HELP = "The 6-digit code your authenticator app shows now, or one of your backup codes."
ENROL_CODE_HELP = "The 6-digit code the app shows after you have added the account."
APP_ADDED = "Authenticator app added."
TIME_ZONE_SAVED = "Times are now shown in {zone}."
BACKUP_CODE_USED = (
    "You logged in with a backup code; it cannot be used again. {left} left. "
    "Make new ones on your security page if you are running out."
)


def _next_url(request) -> str:
    """Where to go after this step: the page the user asked for, if it is on this site."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _with_next(view_name: str, next_url: str) -> str:
    return f"{reverse(view_name)}?{urlencode({'next': next_url})}"


@login_required
@require_http_methods(["GET", "POST"])
def verify(request):
    """Second step of signing in: a code from the app, a backup code, or a passkey."""
    user = request.user
    next_url = _next_url(request)
    if user.is_verified():
        return redirect(next_url)
    if not two_factor.has_second_factor(user):
        return redirect(_with_next("two_factor_enrol", next_url))
    form = CodeForm(request.POST or None, help_text=APP_CODE_HELP)
    status = 200
    if form.is_valid():
        device = two_factor.verify_code(user, form.cleaned_data["code"])
        if device is not None:
            otp_login(request, device)
            if isinstance(device, StaticDevice):
                left = two_factor.backup_codes_left(user)
                messages.warning(request, BACKUP_CODE_USED.format(left=left))
            return redirect(next_url)
        wait = two_factor.wait_before_next_try(user)
        waiting = WAIT_BEFORE_NEXT_TRY.format(seconds=wait) if wait else ""
        form.add_error("code", WRONG_CODE + waiting)
    if form.is_bound:
        status = 400
    return render(
        request,
        "accounts/verify.html",
        {"form": form, "next": next_url, "passkey": two_factor.has_passkey(user)},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def enrol(request):
    """Set up a second factor: an authenticator app (QR code) or a passkey."""
    user = request.user
    next_url = _next_url(request)
    if two_factor.has_second_factor(user) and not user.is_verified():
        # Adding a factor takes one already enrolled: a stolen password must not add its own.
        return redirect(_with_next("two_factor_verify", next_url))
    device = two_factor.totp_device_to_enrol(user)
    form = CodeForm(request.POST or None, help_text=ENROL_CODE_HELP)
    first = not two_factor.has_second_factor(user)
    if form.is_valid():
        if two_factor.totp_confirm(device=device, code=form.cleaned_data["code"]):
            otp_login(request, device)
            if first:
                codes = two_factor.backup_codes_generate(user)
                return _show_backup_codes(request, codes, next_url)
            messages.success(request, APP_ADDED)
            return redirect(next_url)
        form.add_error("code", WRONG_CODE)
    secret = b32encode(device.bin_key).decode()
    return render(
        request,
        "accounts/enrol.html",
        {
            "form": form,
            "next": next_url,
            "qr_code": segno.make(device.config_url, error="m").svg_data_uri(scale=5),
            "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            "enrolled": not first,
        },
        status=400 if form.is_bound else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def backup_codes(request):
    """Make a new set of backup codes (the old ones stop working) and show them once."""
    next_url = _next_url(request)
    if request.method == "POST":
        return _show_backup_codes(request, two_factor.backup_codes_generate(request.user), next_url)
    return redirect("two_factor")


def _show_backup_codes(request, codes, next_url):
    return render(request, "accounts/backup_codes.html", {"codes": codes, "next": next_url})


@login_required
def security(request):
    """The user's own second factors: what is enrolled, backup codes, add a passkey or app."""
    user = request.user
    return render(
        request,
        "accounts/security.html",
        {
            "devices": two_factor.device_summaries(user),
            "backup_codes_left": two_factor.backup_codes_left(user),
            "required": two_factor.required(),
        },
    )


@require_http_methods(["GET", "POST"])
def profile(request):
    """The staff member's own settings: the time zone their pages show times in."""
    user = request.user
    chosen = time_zones.time_zone_of(user)
    # The session's copy is what every other page uses; this page reads the profile, so
    # a change made in another session reaches this one here.
    if request.session.get(time_zones.SESSION_KEY) != chosen:
        request.session[time_zones.SESSION_KEY] = chosen
    timezone.activate(time_zones.zone_named(chosen))
    form = TimeZoneForm(request.POST or None, initial={"time_zone": chosen or settings.TIME_ZONE})
    if form.is_valid():
        name = form.cleaned_data["time_zone"]
        try:
            staff_time_zone_set(user=user, time_zone=name)
        except ValidationError as error:
            form.add_error("time_zone", error)
        else:
            request.session[time_zones.SESSION_KEY] = name
            messages.success(request, TIME_ZONE_SAVED.format(zone=time_zones.time_zone_label(name)))
            return redirect("profile")
    return render(
        request,
        "accounts/profile.html",
        {
            "form": form,
            "zone_label": time_zones.time_zone_label(chosen or settings.TIME_ZONE),
            "now": timezone.now(),
        },
        status=400 if form.is_bound else 200,
    )


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset form, limited per client address and per e-mail address.

    Past either limit nothing is sent, and the answer is the same page as when an e-mail
    went out: the form tells nobody which addresses have an account, or that a limit hit.
    """

    def form_valid(self, form):
        if _reset_limited(self.request, form.cleaned_data["email"]):
            logger.warning("Password reset refused: rate limit reached (nothing was sent).")
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)


def _reset_limited(request, email: str) -> bool:
    if not settings.RATELIMIT_ENABLE:
        return False
    account = email.strip().lower()
    try:
        by_address = is_ratelimited(
            request,
            group="accounts.password_reset.address",
            key=lambda group, request: client_ip(request),
            rate=settings.RST_PASSWORD_RESET_RATE_LIMIT,
            method="POST",
            increment=True,
        )
        by_account = is_ratelimited(
            request,
            group="accounts.password_reset.account",
            key=lambda group, request: account,
            rate=settings.RST_PASSWORD_RESET_RATE_LIMIT,
            method="POST",
            increment=True,
        )
    except Exception:  # noqa: BLE001 - a cache outage must not stop a reset
        logger.exception("The password reset rate limit could not be checked.")
        return False
    return by_address or by_account
