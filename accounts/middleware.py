"""Staff pages: logged in, second factor verified, one-time password replaced, never cached.

Every view not marked public (accounts.pages) goes through this, so a new staff view
cannot forget it. Goes after django-otp's OTPMiddleware, which tells whether the
session is verified.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponseRedirect
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.http import urlencode

from . import sessions, time_zones, two_factor
from .pages import PUBLIC, SIGN_IN_STEP, access_of

CHANGE_ONE_TIME_PASSWORD = (
    "Choose your own password before you go on: yours was set by someone else."
)
# Views a one-time password may still reach (to replace it, or to leave).
PASSWORD_CHANGE_VIEWS = {"password_change", "password_change_done"}


class StaffPagesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(request, "_rst_staff_page", False):
            # Case data must not stay in a shared computer's cache or a proxy's; this
            # also keeps the back button from showing a page after logout.
            add_never_cache_headers(response)
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        access = access_of(view_func)
        if access == PUBLIC:
            return None
        request._rst_staff_page = True
        user = request.user
        if not user.is_authenticated:
            if access == SIGN_IN_STEP:
                return None  # the step's own view answers (a redirect, or 401 for the API)
            return redirect_to_login(request.get_full_path(), self._login_url(request))
        reason = sessions.expired(request)
        if reason:
            logout(request)
            messages.info(request, reason)
            return redirect_to_login(request.get_full_path(), self._login_url(request))
        if access == SIGN_IN_STEP:
            return None
        if two_factor.required() and not user.is_verified():
            step = "two_factor_verify" if two_factor.has_second_factor(user) else "two_factor_enrol"
            return self._redirect(step, request.get_full_path())
        url_name = request.resolver_match.url_name if request.resolver_match else None
        if url_name not in PASSWORD_CHANGE_VIEWS and sessions.must_change_password(request):
            messages.warning(request, CHANGE_ONE_TIME_PASSWORD)
            return self._redirect("password_change", request.get_full_path())
        return None

    @staticmethod
    def _login_url(request) -> str:
        # The admin keeps its own login page (it answers the same, with the same lockout).
        match = request.resolver_match
        if match and "admin" in match.namespaces:
            return reverse("admin:login")
        return resolve_url(settings.LOGIN_URL)

    @staticmethod
    def _redirect(view_name: str, next_url: str):
        return HttpResponseRedirect(f"{reverse(view_name)}?{urlencode({'next': next_url})}")


class StaffTimeZoneMiddleware:
    """Show a staff page's times in the staff member's own zone (their profile's).

    Activated for logged-in users on staff pages only: public pages show the case's or
    the office's zone, whoever reads them. The zone comes from the session (put there at
    login, accounts.time_zones), so a page costs no query for it; a session from before
    the profile page existed reads the profile once. Goes after StaffPagesMiddleware.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            return self.get_response(request)
        finally:
            # The zone is per thread: the next request on this thread starts from the office's.
            timezone.deactivate()

    def process_view(self, request, view_func, view_args, view_kwargs):
        if access_of(view_func) == PUBLIC or not request.user.is_authenticated:
            return None
        name = request.session.get(time_zones.SESSION_KEY)
        if name is None:
            name = request.session[time_zones.SESSION_KEY] = time_zones.time_zone_of(request.user)
        timezone.activate(time_zones.zone_named(name))
        return None
