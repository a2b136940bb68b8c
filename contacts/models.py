"""Program contacts and the directory of partner organizations."""

from django.db import models

from regions.models import Jurisdiction


class ProgramContact(models.Model):
    """Someone (or a mailbox) the public page lists for the program as a whole."""

    class Role(models.TextChoices):
        DIRECTOR = "director", "Executive Director"
        SUPERVISOR = "supervisor", "RST Supervisor"
        MAILBOX = "mailbox", "Team mailbox"

    role = models.CharField(max_length=12, choices=Role.choices, unique=True)
    name = models.CharField(max_length=120)
    credentials = models.CharField(max_length=60, blank=True)
    email = models.EmailField()
    phone = models.CharField(max_length=20, blank=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "role"]

    def __str__(self):
        return f"{self.get_role_display()}: {self.name}"

    @property
    def display_name(self):
        return f"{self.name}, {self.credentials}" if self.credentials else self.name


class PartnerOrganization(models.Model):
    """A local or national organization specialists connect professionals to.

    Fields after the Open Referral HSDS `organization`/`service` core.
    """

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField()
    services = models.TextField(help_text="What the organization provides.")
    is_national = models.BooleanField("serves the whole country", default=False)
    areas_served = models.ManyToManyField(Jurisdiction, blank=True, related_name="partners")
    website = models.URLField(blank=True)
    phone = models.CharField(max_length=30, blank=True)
    email = models.EmailField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name
