"""Staff sessions: when they end (idle timeout, absolute limit) and one-time passwords.

Set up at login (the user_logged_in receiver, connected in AccountsConfig.ready) and
checked on every staff page by accounts.middleware.StaffPagesMiddleware.
"""

import time

from django.conf import settings

from .models import OneTimePassword

SIGNED_IN_AT = "rst_signed_in_at"
SEEN_AT = "rst_seen_at"
# The session's password hash while it is still a one-time password (see must_change_password).
ONE_TIME_PASSWORD = "rst_one_time_password"
# Writing the session on every request would cost a query each; a minute is precise enough.
SEEN_RESOLUTION_SECONDS = 60

IDLE = "You were logged out after {minutes} minutes without activity. Log in again."
TOO_LONG = "You were logged out: a staff session lasts at most {hours:g} hours. Log in again."


def on_login(sender, request, user, **kwargs):
    """Start the session's clocks; remember whether the password is a one-time password."""
    if request is None or not hasattr(request, "session"):
        return
    now = int(time.time())
    request.session[SIGNED_IN_AT] = now
    request.session[SEEN_AT] = now
    one_time = OneTimePassword.objects.filter(user=user).select_related("user").first()
    if one_time is not None and one_time.still_in_use:
        request.session[ONE_TIME_PASSWORD] = user.get_session_auth_hash()
    else:
        request.session.pop(ONE_TIME_PASSWORD, None)
        if one_time is not None:
            one_time.delete()  # replaced since: nothing left to ask for


def expired(request) -> str:
    """Why the staff session has ended ("" if it has not); refreshes its last-seen time."""
    session = request.session
    now = int(time.time())
    signed_in_at = session.get(SIGNED_IN_AT)
    seen_at = session.get(SEEN_AT)
    if signed_in_at is None or seen_at is None:
        # A session from before these clocks: start them now.
        session[SIGNED_IN_AT] = session[SEEN_AT] = now
        return ""
    idle_limit = settings.RST_STAFF_IDLE_MINUTES * 60
    if idle_limit and now - seen_at > idle_limit:
        return IDLE.format(minutes=settings.RST_STAFF_IDLE_MINUTES)
    if now - signed_in_at > settings.SESSION_COOKIE_AGE:
        return TOO_LONG.format(hours=settings.SESSION_COOKIE_AGE / 3600)
    if now - seen_at >= SEEN_RESOLUTION_SECONDS:
        session[SEEN_AT] = now
    return ""


def must_change_password(request) -> bool:
    """Whether the user still logs in with a one-time password (no query: the session knows)."""
    remembered = request.session.get(ONE_TIME_PASSWORD)
    if remembered is None:
        return False
    if remembered == request.user.get_session_auth_hash():
        return True
    request.session.pop(ONE_TIME_PASSWORD)  # changed since login
    return False


def one_time_password_set(*, user, password: str) -> None:
    """Give `user` a password chosen for them, which they must replace at first login."""
    user.set_password(password)
    user.save(update_fields=["password"])
    OneTimePassword.objects.update_or_create(user=user, defaults={"password": user.password})
