"""Settings for the RST Referral Portal, read from the environment (or a .env file)."""

from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from .release import source_digest

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

# Off unless asked for: a forgotten DEBUG=True leaks stack traces with case data.
DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment or .env (DEBUG is off)."
        )
    SECRET_KEY = "django-insecure-local-development-only"  # noqa: S105 - DEBUG only

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Where links in e-mails point; required in production, or they would point at localhost.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000" if DEBUG else "")
if not SITE_URL:
    raise ImproperlyConfigured(
        "SITE_URL is not set (e.g. https://rst.example.org). E-mail links need it (DEBUG is off)."
    )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "bootstrap",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",
    "csp",
    "django_tasks",
    "django_tasks_db",
    "django_ratelimit",
    "regions",
    "referrals",
    "contacts",
    "accounts",
]

MIDDLEWARE = [
    "rst_portal.middleware.RequestSizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Marks the session verified by a second factor (request.user.is_verified()).
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Every view not marked public is a staff page: login, second factor, no caching.
    "accounts.middleware.StaffPagesMiddleware",
    # Staff pages show times in the staff member's own zone (their profile page).
    "accounts.middleware.StaffTimeZoneMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes requires.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "rst_portal.urls"
WSGI_APPLICATION = "rst_portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# SQLite file by default (zero set-up); postgres://… in CI and production.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Take the write lock when a transaction starts and wait for it, so simultaneous
    # submissions queue up instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20}
    )
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
FIXTURE_DIRS = [BASE_DIR / "fixtures"]

# Redis in production (the form's rate limit needs atomic increments shared by all
# workers); process-local memory is only good enough for one local process.
CACHES = {
    "default": env.cache_url("CACHE_URL", default="locmemcache://"),
    # Process-local: the blank referral form and its choices. Never Redis, so the public
    # form still opens when Redis is down.
    "local": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "rst"},
}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # Fail fast when Redis is down or unreachable: the form then goes on without its
    # rate limit rather than waiting for a socket.
    CACHES["default"].setdefault("OPTIONS", {}).update(
        {"socket_connect_timeout": 1, "socket_timeout": 1}
    )

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first, as django-axes requires
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "referrals:queue"
LOGOUT_REDIRECT_URL = "home"

# The client's address (accounts/client_ip.py, django-ipware): the number of reverse
# proxies in front of the app that each append to X-Forwarded-For. 0: the connection's
# own address, forwarding headers ignored (anyone can write them).
RST_TRUSTED_PROXIES = env.int("RST_TRUSTED_PROXIES", default=0)

# Lockout after repeated failed logins: per account from any address, and per address
# across accounts (either reaching the limit locks). Supervisors clear it in the admin.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "accounts.client_ip.client_ip"
AXES_USERNAME_CALLABLE = "accounts.lockout.username_of"
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_ENABLE_ADMIN = False  # accounts/admin.py shows lockouts to supervisors, with unlock

# Two factors for every staff page (accounts/two_factor.py): an authenticator app or a
# passkey, with backup codes. On unless DEBUG: scripts/serve's demo logins go without.
RST_REQUIRE_2FA = env.bool("RST_REQUIRE_2FA", default=not DEBUG)
OTP_TOTP_ISSUER = env.str("RST_TOTP_ISSUER", default="RST Referral Portal")
# Nobody, superusers included, reads a TOTP secret (or its QR code) back from the admin.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# Passkeys are a second factor after the password, never a login on their own.
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
OTP_WEBAUTHN_RP_NAME = "RST Referral Portal"
# The origins passkeys work on: SITE_URL's in production (https). Browsers allow them on
# plain http only at localhost, so for a laptop: http://localhost:8000, not 127.0.0.1.
OTP_WEBAUTHN_ALLOWED_ORIGINS = env.list(
    "RST_PASSKEY_ORIGINS",
    default=[SITE_URL.rstrip("/")]
    if SITE_URL.startswith("https://")
    else ["http://localhost:8000"],
)
OTP_WEBAUTHN_RP_ID = env.str(
    "RST_PASSKEY_RP_ID", default=urlsplit(OTP_WEBAUTHN_ALLOWED_ORIGINS[0]).hostname
)

# Staff sessions end after this long without a staff page (0: never); SESSION_COOKIE_AGE
# (8 hours) is the absolute limit from login, however active.
RST_STAFF_IDLE_MINUTES = env.int("RST_STAFF_IDLE_MINUTES", default=30)

# Rate limits (django-ratelimit) count per client address, as accounts/client_ip.py says.
RATELIMIT_IP_META_KEY = "accounts.client_ip.client_ip"
# Password reset e-mails per client address and, separately, per e-mail address.
RST_PASSWORD_RESET_RATE_LIMIT = env.str("RST_PASSWORD_RESET_RATE_LIMIT", default="5/h")
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)
SILENCED_SYSTEM_CHECKS = []
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # django-ratelimit 4.1 predates Django's own Redis backend, whose incr() is an
    # atomic INCRBY, so the warning that it is "not officially supported" is moot.
    SILENCED_SYSTEM_CHECKS += ["django_ratelimit.W001"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The queue's covering indexes INCLUDE columns on PostgreSQL; SQLite (the zero-set-up
    # default) ignores the INCLUDE part and the index still works.
    SILENCED_SYSTEM_CHECKS += ["models.W040"]
if DEBUG and CACHES["default"]["BACKEND"].endswith("LocMemCache"):
    # Local development only: one process, so a process-local counter is honest.
    SILENCED_SYSTEM_CHECKS += ["django_ratelimit.E003", "django_ratelimit.W001"]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="America/New_York")
USE_I18N = True
USE_TZ = True
# Every date and time shown with its zone's abbreviation ("Nov. 25, 2026, 5:28 p.m. EST").
FORMAT_MODULE_PATH = ["rst_portal.formats"]

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_BACKEND",
            default="django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage",
        )
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Notifications are tasks in the database, run by `manage.py db_worker` (a second process).
TASKS = {
    "default": {
        "BACKEND": env.str("TASKS_BACKEND", default="django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
# Without a timeout a mail server that accepts but never answers stalls the worker.
# Seconds per SMTP step (connect, each command): a silent server costs one notice this
# long, then the worker pauses sending (RST_MAIL_PAUSE_SECONDS) instead of waiting on each.
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="RST Referral Portal <noreply@localhost>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Notification e-mails (referrals/tasks.py). A temporary failure (SMTP 4xx, a timeout,
# no connection) is tried again after each of these delays, then the notice is marked
# failed for the supervisor; the defaults give up after about 2.6 hours.
RST_NOTICE_RETRY_DELAYS = env.list(
    "RST_NOTICE_RETRY_DELAYS", cast=float, default=[60, 5 * 60, 30 * 60, 2 * 60 * 60]
)
# After a timeout or lost connection, the worker defers the next sends this long
# without trying, so one silent mail server does not cost EMAIL_TIMEOUT per notice.
RST_MAIL_PAUSE_SECONDS = env.float("RST_MAIL_PAUSE_SECONDS", default=60)
# A task still RUNNING this long after it started is taken to belong to a worker that
# died (kill -9, power loss) and is queued again by `manage.py task_worker`. Longer
# than any real send: one SMTP conversation is a handful of steps of EMAIL_TIMEOUT each.
RST_TASK_LEASE_SECONDS = env.float("RST_TASK_LEASE_SECONDS", default=5 * 60)
if RST_TASK_LEASE_SECONDS <= EMAIL_TIMEOUT:
    raise ImproperlyConfigured(
        "RST_TASK_LEASE_SECONDS must be longer than EMAIL_TIMEOUT, or a slow send would "
        "be taken for a dead worker and sent twice."
    )
# Receipt copies the public form may send to one address per hour; past it the
# referral is still saved but no receipt is sent (the form must not spam an inbox).
RST_RECEIPTS_PER_ADDRESS_PER_HOUR = env.int("RST_RECEIPTS_PER_ADDRESS_PER_HOUR", default=5)

# Security. Secure cookies and HSTS follow DEBUG: on in production, off on a laptop.
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 60 * 60)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# A load balancer probes /healthz over plain HTTP: it must see 200/503, not a 301.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# /healthz answers 503 when a due notification task has waited longer than this
# (no `db_worker` is taking tasks). An empty queue is healthy.
RST_HEALTH_WORKER_MAX_DELAY_SECONDS = env.int("RST_HEALTH_WORKER_MAX_DELAY_SECONDS", default=300)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=False) else None
)
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Only the portal's own files run or style pages: no inline script, no CDN.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],  # Bootstrap draws its icons as data: SVGs
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # No status-link token in any log line (Django logs the path of each 4xx answer).
    "filters": {"status_tokens": {"()": "rst_portal.log_filters.RedactStatusTokens"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["status_tokens"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # django-axes logs every login at INFO; keep failures and lockouts (WARNING).
    "loggers": {"axes": {"level": "WARNING"}},
}

# Request sizes, set on purpose: the largest form (the referral, 5,000 characters of
# summary) is well under 100 KB even fully percent-encoded; no page takes files.
RST_MAX_REQUEST_BYTES = env.int("RST_MAX_REQUEST_BYTES", default=512 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = RST_MAX_REQUEST_BYTES
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000  # the admin's bulk actions post one field per row
FILE_UPLOAD_MAX_MEMORY_SIZE = RST_MAX_REQUEST_BYTES  # files are refused, never written to disk

# Project settings.
# Names this deploy: caches of rendered pages are keyed on it. Defaults to a digest of
# the code and templates, so a changed label is never served from before the deploy.
RST_RELEASE = env.str("RST_RELEASE", default="") or source_digest(BASE_DIR)
RST_BLANK_FORM_CACHE_SECONDS = env.int("RST_BLANK_FORM_CACHE_SECONDS", default=300)
# The same answers sent again from the same browser within this window land on the
# first referral's confirmation instead of making a copy (the Back button).
RST_RESUBMIT_WINDOW_MINUTES = env.int("RST_RESUBMIT_WINDOW_MINUTES", default=30)
# Shown when the form cannot be saved: from settings, because the database may be down.
RST_TEAM_EMAIL = env.str("RST_TEAM_EMAIL", default="RecoveryServices@NCMEC.ORG")
RST_TEAM_PHONE = env.str("RST_TEAM_PHONE", default="571.215.8540")
# First-contact deadlines run in business time (referrals/deadlines.py): weekdays between
# these hours in TIME_ZONE, except US federal holidays. 8 business hours is one business day.
RST_OFFICE_OPENS = env.str("RST_OFFICE_OPENS", default="09:00")
RST_OFFICE_CLOSES = env.str("RST_OFFICE_CLOSES", default="17:00")
RST_FIRST_CONTACT_BUSINESS_HOURS = env.float("RST_FIRST_CONTACT_BUSINESS_HOURS", default=8)
RST_URGENT_FIRST_CONTACT_BUSINESS_HOURS = env.float(
    "RST_URGENT_FIRST_CONTACT_BUSINESS_HOURS", default=4
)
# The assigned specialist's "due soon" reminder: this much business time before the deadline.
RST_DUE_SOON_BUSINESS_HOURS = env.float("RST_DUE_SOON_BUSINESS_HOURS", default=1)
# When the supervisor's daily digest of overdue and intake referrals goes out (TIME_ZONE).
RST_DIGEST_AT = env.str("RST_DIGEST_AT", default="08:00")
# The referrer's private status link: days it works, follow-up messages per link per hour.
RST_STATUS_LINK_DAYS = env.int("RST_STATUS_LINK_DAYS", default=90)
RST_FOLLOW_UP_RATE_LIMIT = env.str("RST_FOLLOW_UP_RATE_LIMIT", default="5/h")
# Status page views (valid link or not) per client IP: generous for an agency behind one
# address, and a wall for anyone trying links in bulk.
RST_STATUS_PAGE_RATE_LIMIT = env.str("RST_STATUS_PAGE_RATE_LIMIT", default="120/h")
# Submissions of the public form per client IP; "<count>/<period>" as django-ratelimit reads it.
RST_REFERRAL_RATE_LIMIT = env.str("RST_REFERRAL_RATE_LIMIT", default="20/h")
# How long a referral form may stay open before its submission token expires.
RST_FORM_TOKEN_MAX_AGE_HOURS = env.int("RST_FORM_TOKEN_MAX_AGE_HOURS", default=24)
RST_QUEUE_PAGE_SIZE = env.int("RST_QUEUE_PAGE_SIZE", default=25)
# The queue pages through this many pages at most (the filters narrow it down): its cost
# then stays the same however many referrals match.
RST_QUEUE_MAX_PAGES = env.int("RST_QUEUE_MAX_PAGES", default=40)
# The counts above the queue are cached until a referral they count changes, or the next
# one falls overdue; and never longer than this (a change made outside the services).
RST_QUEUE_COUNTS_MAX_AGE_SECONDS = env.int("RST_QUEUE_COUNTS_MAX_AGE_SECONDS", default=60)
# The jurisdiction → region mapping is provisional until the RST supervisor confirms it;
# the public pages and /specialists.json say so until this is turned on.
RST_MAPPING_CONFIRMED = env.bool("RST_MAPPING_CONFIRMED", default=False)
# Closed referrals keep the child's and the referrer's details this many days after they
# were closed, then `manage.py rst_purge_closed` redacts them (task_worker runs it daily).
RST_RETENTION_DAYS = env.int("RST_RETENTION_DAYS", default=365)
