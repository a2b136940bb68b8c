"""Where cases are and who covers them: regions, jurisdictions, Resource Specialists."""

from django.conf import settings
from django.db import models
from django.utils import timezone


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

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(code__regex=r"^[A-Z]{2}$"), name="jurisdiction_code_usps"
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.code})"


def available_q(*, on=None) -> models.Q:
    """The rule for a specialist who takes new referrals: active, not out of office on `on`."""
    on = on or timezone.localdate()
    return models.Q(is_active=True) & (
        models.Q(out_of_office_until__isnull=True) | models.Q(out_of_office_until__lt=on)
    )


class ResourceSpecialistQuerySet(models.QuerySet):
    def available(self, *, on=None):
        return self.filter(available_q(on=on))

    def with_availability(self, *, on=None):
        """Annotate `available_now`, so a list of specialists costs no query per row."""
        return self.annotate(
            available_now=models.ExpressionWrapper(
                available_q(on=on), output_field=models.BooleanField()
            )
        )


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

    def is_available(self, *, on=None):
        """Whether they take new referrals now, as saved (the rule is available_q())."""
        return type(self).objects.available(on=on).filter(pk=self.pk).exists()
