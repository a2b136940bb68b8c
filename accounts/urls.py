"""Login, logout, passwords, and the second-factor steps, under /accounts/.

Django's auth views by their usual names ("login", "password_change" …), each marked
public or left a staff page on purpose (accounts.pages).
"""

from django.contrib.auth import views as auth_views
from django.urls import include, path
from django_otp_webauthn import urls as passkey_urls

from . import views
from .pages import mark_patterns, public, sign_in_step

urlpatterns = [
    path("login/", public(auth_views.LoginView.as_view()), name="login"),
    path("logout/", public(auth_views.LogoutView.as_view()), name="logout"),
    path("password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("password_reset/", public(views.PasswordResetView.as_view()), name="password_reset"),
    path(
        "password_reset/done/",
        public(auth_views.PasswordResetDoneView.as_view()),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        public(auth_views.PasswordResetConfirmView.as_view()),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        public(auth_views.PasswordResetCompleteView.as_view()),
        name="password_reset_complete",
    ),
    path("profile/", views.profile, name="profile"),
    path("security/", views.security, name="two_factor"),
    path("security/verify/", sign_in_step(views.verify), name="two_factor_verify"),
    path("security/enrol/", sign_in_step(views.enrol), name="two_factor_enrol"),
    path("security/backup-codes/", views.backup_codes, name="two_factor_backup_codes"),
    # django-otp-webauthn's JSON API: its own checks refuse what a step must not do
    # (registering a passkey takes a verified session once a factor is enrolled).
    path(
        "passkeys/",
        include((mark_patterns(passkey_urls.urlpatterns, sign_in_step), passkey_urls.app_name)),
    ),
]
