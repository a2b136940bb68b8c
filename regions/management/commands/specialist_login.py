"""Create or link the login a Resource Specialist uses for the queue.

An existing account is linked only on purpose: one with another e-mail address than the
specialist's needs --link-existing (and a superuser or supervisor login never is).
"""

import secrets

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.services import specialist_link_login, specialist_login_validate
from accounts.sessions import one_time_password_set
from regions.models import ResourceSpecialist


class Command(BaseCommand):
    help = (
        "Create a login for the Resource Specialist with this e-mail and put it in the "
        "Resource Specialists group. A new login gets a random one-time password, printed "
        "once, which must be changed at first login. An existing account with the same "
        "username is linked only if its e-mail is the specialist's, or with --link-existing."
    )

    def add_arguments(self, parser):
        parser.add_argument("email", help="The specialist's e-mail, as in the admin.")
        parser.add_argument(
            "--username", help="Link or create this username (default: the e-mail's local part)."
        )
        parser.add_argument(
            "--link-existing",
            action="store_true",
            help="Link an existing account even though its e-mail is not the specialist's.",
        )

    @transaction.atomic
    def handle(self, *args, email, username=None, link_existing=False, **options):
        try:
            specialist = ResourceSpecialist.objects.select_for_update().get(email__iexact=email)
        except ResourceSpecialist.DoesNotExist:
            known = ", ".join(ResourceSpecialist.objects.values_list("email", flat=True))
            raise CommandError(
                f"No Resource Specialist has the e-mail {email!r}. "
                f"Known e-mails: {known or 'none'}."
            ) from None

        User = get_user_model()
        username = username or specialist.email.split("@")[0].lower()
        username_field = User._meta.get_field(User.USERNAME_FIELD)
        try:
            username_field.run_validators(username)
            if len(username) > username_field.max_length:
                raise ValidationError(f"at most {username_field.max_length} characters")
        except ValidationError as error:
            raise CommandError(
                f"{username!r} cannot be a username: {' '.join(error.messages)}"
            ) from None
        user = User.objects.filter(username=username).first()
        # Replacing a specialist's login is for the admin, where the current one is shown.
        if specialist.user_id and (user is None or specialist.user_id != user.pk):
            raise CommandError(
                f"{specialist.name} already has the login {specialist.user.get_username()!r}."
            )

        password = None
        if user is None:
            password = secrets.token_urlsafe(12)
            first, _, last = specialist.name.partition(" ")
            user = User.objects.create_user(
                username=username, email=specialist.email, first_name=first, last_name=last
            )
            one_time_password_set(user=user, password=password)
            done = f"Created the login {username!r}."
        elif specialist.user_id == user.pk:
            done = f"{username!r} is already {specialist.name}'s login: nothing changed."
        else:
            self._check_existing(specialist, user, link_existing=link_existing)
            done = (
                f"Linked the existing account {username!r} ({user.email or 'no e-mail'}); "
                "its password is unchanged."
            )
        try:
            specialist_link_login(specialist=specialist, user=user)
        except ValidationError as error:
            raise CommandError(
                f"{' '.join(error.messages)} Choose another with --username."
            ) from None

        self.stdout.write(done)
        self.stdout.write(f"{specialist.name} ({specialist.region.label}) logs in as {username!r}.")
        if password:
            self.stdout.write(f"One-time password (change it after logging in): {password}")

    @staticmethod
    def _check_existing(specialist, user, *, link_existing: bool) -> None:
        """Refuse an existing account that is not plainly the specialist's own."""
        try:
            # Superusers, supervisors and another specialist's login: never.
            specialist_login_validate(specialist=specialist, user=user)
        except ValidationError as error:
            raise CommandError(
                f"{' '.join(error.messages)} Choose another with --username."
            ) from None
        if user.email.strip().lower() != specialist.email.strip().lower() and not link_existing:
            raise CommandError(
                f"An account named {user.get_username()!r} already exists, with the e-mail "
                f"{user.email or '(none)'!r}, not {specialist.email!r}. Nothing was changed. "
                "If it is the specialist's, run again with --link-existing; otherwise choose "
                "another username with --username."
            )
