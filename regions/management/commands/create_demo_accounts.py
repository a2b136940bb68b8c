"""Create demo logins for a local trial: one supervisor and one per specialist.

Only on SQLite, the embedded database of a laptop: the passwords are printed, and a
production (PostgreSQL) database must never get demo logins. On any other database the
command says so and changes nothing, so scripts/serve can call it whatever the database.
"""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from accounts.roles import SUPERVISORS_GROUP
from accounts.services import specialist_link_login
from regions.models import ResourceSpecialist

SUPERVISOR_USERNAME = "supervisor"
NOT_LOCAL = (
    "No demo accounts: they are only for a local SQLite database, and this one is "
    "{database}. Nothing was changed."
)


class Command(BaseCommand):
    help = (
        "Create demo accounts on a local SQLite database and print their passwords once. "
        "On any other database, do nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset", action="store_true", help="Give existing demo accounts new passwords."
        )

    @staticmethod
    def database_is_local() -> bool:
        """Demo logins with printed passwords belong on a laptop's SQLite file only."""
        return connection.vendor == "sqlite"

    def handle(self, *args, reset=False, **options):
        if not self.database_is_local():
            self.stdout.write(NOT_LOCAL.format(database=connection.display_name))
            return
        with transaction.atomic():
            rows = self.create_accounts(reset=reset)
        self.stdout.write("Demo accounts (local only; passwords are shown once):")
        for username, password, role in rows:
            self.stdout.write(f"  {username:<12} {password:<14} {role}")

    def create_accounts(self, *, reset: bool) -> list[tuple[str, str, str]]:
        if not ResourceSpecialist.objects.exists():
            raise CommandError("Load the reference data first: manage.py load_reference_data.")
        accounts = [(SUPERVISOR_USERNAME, "Samantha", "Sahl", None, "RST supervisor")]
        for specialist in ResourceSpecialist.objects.select_related("region"):
            first, _, last = specialist.name.partition(" ")
            username = specialist.email.split("@")[0].lower()
            accounts.append((username, first, last, specialist, specialist.region.label))

        User = get_user_model()
        rows = []
        for username, first, last, specialist, role in accounts:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={"first_name": first, "last_name": last, "is_staff": specialist is None},
            )
            password = ""
            if created or reset:
                password = secrets.token_urlsafe(9)
                user.set_password(password)
                user.save()
            if specialist is None:
                user.groups.add(Group.objects.get(name=SUPERVISORS_GROUP))
            else:
                try:
                    specialist_link_login(specialist=specialist, user=user)
                except ValidationError as error:
                    raise CommandError(
                        f"{' '.join(error.messages)} Link {specialist.name} with "
                        "manage.py specialist_login --username."
                    ) from None
            rows.append((username, password or "(unchanged)", role))
        return rows
