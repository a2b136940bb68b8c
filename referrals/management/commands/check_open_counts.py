"""Recount each specialist's open referrals and compare with the count routing reads.

The services keep `ResourceSpecialist.open_referral_count` as referrals change
(referrals/counts.py). This command counts the referrals again and lists every
specialist whose kept count differs; with --fix it sets those counts to the recount,
under the same row locks the services take. Exits 1 when it found drift without --fix,
so a scheduled run can raise the alarm.
"""

from django.core.management.base import BaseCommand, CommandError

from referrals.counts import open_count_drift, open_counts_repair


class Command(BaseCommand):
    help = __doc__.splitlines()[0]

    def add_arguments(self, parser):
        parser.add_argument(
            "--fix", action="store_true", help="set every drifted count to the recount"
        )

    def handle(self, *args, fix=False, **options):
        drift = open_counts_repair() if fix else open_count_drift()
        for found in drift:
            self.stdout.write(
                f"{found.specialist.name} (id {found.specialist.pk}): kept "
                f"{found.kept}, counted {found.counted}" + (": repaired" if fix else "")
            )
        if not drift:
            self.stdout.write("Every open-referral count matches a recount.")
        elif not fix:
            raise CommandError(
                f"{len(drift)} open-referral count(s) differ from a recount; "
                "run with --fix to repair them."
            )
