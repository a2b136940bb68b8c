"""Where cases are and who covers them: regions, jurisdictions, Resource Specialists."""

from datetime import date, datetime
from zoneinfo import ZoneInfo, available_timezones

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import StaffProfile
from accounts.time_zones import zone_named


class Region(models.Model):
    number = models.PositiveSmallIntegerField(unique=True)
    name = models.CharField(max_length=80)

    class Meta:
        ordering = ["number"]

    def __str__(self):
        return f"Region {self.number} – {self.name}"

    @property
    def label(self):
        return f"Region {self.number}"


def time_zone_choices():
    """Every IANA zone name this machine knows, sorted (a callable: not in migrations)."""
    return [(name, name.replace("_", " ")) for name in sorted(available_timezones())]


class Jurisdiction(models.Model):
    """A state, the District of Columbia or a territory, by its USPS code."""

    class Kind(models.TextChoices):
        STATE = "state", "State"
        DISTRICT = "district", "District"
        TERRITORY = "territory", "Territory"

    code = models.CharField("USPS code", max_length=2, primary_key=True)
    name = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # Unset means referrals from here go to the supervisor intake queue.
    region = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="jurisdictions",
    )
    # Times on the referrer's pages and e-mails are shown in the case's zone.
    time_zone = models.CharField(
        max_length=64,
        choices=time_zone_choices,
        default="America/New_York",
        help_text="The referrer's pages and e-mails show times in this zone.",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(code__regex=r"^[A-Z]{2}$"), name="jurisdiction_code_usps"
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.code})"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


def takes_referrals(*, is_active: bool, out_of_office_until: date | None, today: date) -> bool:
    """The rule for a specialist who takes new referrals: active, and not out of office.

    `today` is the specialist's own date (ResourceSpecialist.local_today): out of office
    ends at their local midnight after `out_of_office_until`, the last day away.
    """
    return is_active and (out_of_office_until is None or out_of_office_until < today)


class ResourceSpecialistQuerySet(models.QuerySet):
    def with_availability(self):
        """Annotate the login's time zone, so that `available_now` (which needs each
        specialist's own date) costs no query per row.

        A correlated subquery rather than a join: routing locks these rows FOR UPDATE,
        which PostgreSQL refuses on the nullable side of an outer join.
        """
        profile = StaffProfile.objects.filter(user_id=models.OuterRef("user_id"))
        return self.annotate(login_time_zone=models.Subquery(profile.values("time_zone")[:1]))


class ResourceSpecialist(models.Model):
    name = models.CharField(max_length=120)
    email = models.EmailField(unique=True)
    phone = models.CharField(max_length=20)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="specialists")
    is_active = models.BooleanField(
        "active",
        default=True,
        help_text="Inactive specialists (no longer on the team) get no new referrals and lose "
        "access to the queue. For an absence, use out of office instead.",
    )
    out_of_office_until = models.DateField(
        null=True,
        blank=True,
        help_text="Last day away (inclusive). No new referrals are routed to them until after.",
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="resource_specialist",
        help_text="The login this specialist uses for the queue.",
    )
    # Breaks ties between equally loaded specialists: the one assigned least recently wins.
    last_assigned_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Open referrals assigned to them: the load routing compares. Kept by the referral
    # services under this row's lock, so routing reads it instead of counting referrals;
    # `manage.py check_open_counts` recounts it and reports (or repairs) any drift.
    open_referral_count = models.PositiveIntegerField("open referrals", default=0, editable=False)

    objects = ResourceSpecialistQuerySet.as_manager()

    class Meta:
        ordering = ["region__number", "name"]

    def __str__(self):
        return self.name

    @property
    def zone(self) -> ZoneInfo:
        """Their own time zone: their login's profile's, or the office's."""
        if not hasattr(self, "login_time_zone"):
            # Not read with with_availability(): one query.
            self.login_time_zone = (
                StaffProfile.objects.filter(user_id=self.user_id)
                .values_list("time_zone", flat=True)
                .first()
                if self.user_id
                else None
            )
        return zone_named(self.login_time_zone or "")

    def local_today(self, *, now: datetime | None = None) -> date:
        """Their date now (or at `now`), where they are."""
        return timezone.localdate(now or timezone.now(), self.zone)

    def is_available(self, *, now: datetime | None = None) -> bool:
        """Whether they take new referrals now (or at `now`), by the rule takes_referrals()."""
        return takes_referrals(
            is_active=self.is_active,
            out_of_office_until=self.out_of_office_until,
            today=self.local_today(now=now),
        )

    @property
    def available_now(self) -> bool:
        return self.is_available()
