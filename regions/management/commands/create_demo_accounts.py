"""Create demo logins for a local trial: one supervisor and one per specialist."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.roles import SPECIALISTS_GROUP, SUPERVISORS_GROUP
from regions.models import ResourceSpecialist

SUPERVISOR_USERNAME = "supervisor"


class Command(BaseCommand):
    help = "Create demo accounts on a local SQLite database and print their passwords once."

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset", action="store_true", help="Give existing demo accounts new passwords."
        )

    @staticmethod
    def database_is_local() -> bool:
        """Demo logins with printed passwords belong on a laptop's SQLite file only."""
        return "sqlite" in settings.DATABASES["default"]["ENGINE"]

    @transaction.atomic
    def handle(self, *args, reset=False, **options):
        if not self.database_is_local():
            raise CommandError("Demo accounts are only for the local SQLite database.")
        if not ResourceSpecialist.objects.exists():
            raise CommandError("Load the fixtures first (manage.py loaddata ...).")

        User = get_user_model()
        accounts = [
            (SUPERVISOR_USERNAME, "Samantha", "Sahl", SUPERVISORS_GROUP, None, "RST supervisor")
        ]
        for specialist in ResourceSpecialist.objects.select_related("region"):
            first, _, last = specialist.name.partition(" ")
            username = specialist.email.split("@")[0].lower()
            accounts.append(
                (username, first, last, SPECIALISTS_GROUP, specialist, specialist.region.label)
            )

        rows = []
        for username, first, last, group, specialist, role in accounts:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={"first_name": first, "last_name": last, "is_staff": specialist is None},
            )
            password = ""
            if created or reset:
                password = secrets.token_urlsafe(9)
                user.set_password(password)
                user.save()
            user.groups.add(Group.objects.get(name=group))
            linked = ResourceSpecialist.objects.filter(user=user).exclude(
                pk=getattr(specialist, "pk", None)
            )
            if linked.exists():
                raise CommandError(
                    f"The login {username!r} already belongs to {linked.get().name}; "
                    "link this specialist with manage.py specialist_login --username."
                )
            if specialist is not None and specialist.user_id != user.pk:
                specialist.user = user
                specialist.save(update_fields=["user"])
            rows.append((username, password or "(unchanged)", role))

        self.stdout.write("Demo accounts (local only; passwords are shown once):")
        for username, password, role in rows:
            self.stdout.write(f"  {username:<12} {password:<14} {role}")
