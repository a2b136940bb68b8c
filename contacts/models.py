"""Program contacts and the partner resource directory (after the Open Referral HSDS core).

The directory: a PartnerOrganization offers PartnerServices; each service serves the whole
country or a list of ServiceAreas (a jurisdiction, optionally one county of it), has topics
from a fixed list and the languages it is offered in. contacts/exchange.py maps these
fields to the CSV columns and to HSDS names.
"""

import uuid

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse

from regions.models import Jurisdiction

# Digits with the usual separators, or a short code such as 988 or 211; optional extension.
PHONE_REGEX = r"^\+?[0-9][0-9 ().\-]{1,24}[0-9](\s*(ext\.?|x)\s*[0-9]{1,6})?$"
PHONE_MESSAGE = "Enter a phone number: digits, spaces, dots, dashes or brackets (1-800-786-2929)."
validate_phone = RegexValidator(PHONE_REGEX, PHONE_MESSAGE)
MAX_AGE = 120
AGES_REVERSED = "The minimum age is above the maximum age."
ORGANIZATION_EXISTS = "An organization with this name (in any capitalization) is already listed."
SERVICE_EXISTS = "This organization already lists a service with this name."


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


class Topic(models.TextChoices):
    """What a service helps with: the fixed list the directory is searched by."""

    SURVIVOR_SERVICES = "survivor-services", "Survivor services"
    HOUSING = "housing", "Housing and shelter"
    MENTAL_HEALTH = "mental-health", "Mental health"
    SUBSTANCE_USE = "substance-use", "Substance use"
    LEGAL = "legal", "Legal help"
    EDUCATION_EMPLOYMENT = "education-employment", "Education and employment"
    MENTORING = "mentoring", "Mentoring"
    MEDICAL = "medical", "Medical care"
    HOTLINE = "hotline", "Hotline"
    TRAINING = "training", "Training for professionals"


class Language(models.TextChoices):
    """Languages a service is offered in, by ISO 639 code (as HSDS exchanges them)."""

    ENGLISH = "en", "English"
    SPANISH = "es", "Spanish"
    AMERICAN_SIGN_LANGUAGE = "ase", "American Sign Language"
    ARABIC = "ar", "Arabic"
    CHINESE = "zh", "Chinese"
    FRENCH = "fr", "French"
    HAITIAN_CREOLE = "ht", "Haitian Creole"
    HMONG = "hmn", "Hmong"
    KOREAN = "ko", "Korean"
    PORTUGUESE = "pt", "Portuguese"
    RUSSIAN = "ru", "Russian"
    SOMALI = "so", "Somali"
    TAGALOG = "tl", "Tagalog"
    VIETNAMESE = "vi", "Vietnamese"


class PartnerOrganization(models.Model):
    """A local or national organization specialists connect professionals to (HSDS organization)."""

    # Stable across exports and imports: the HSDS `id`.
    uid = models.UUIDField("exchange id", default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    website = models.URLField(blank=True)
    phone = models.CharField(max_length=30, blank=True, validators=[validate_phone])
    email = models.EmailField(blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="partner_organization_name_ci",
                violation_error_message=ORGANIZATION_EXISTS,
            ),
        ]

    def __str__(self):
        return self.name


class PartnerServiceQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status=PartnerService.Status.ACTIVE)

    def serving(self, jurisdiction):
        """National services and those with an area in `jurisdiction` (a code or a Jurisdiction)."""
        code = getattr(jurisdiction, "code", jurisdiction)
        local = ServiceArea.objects.filter(service=models.OuterRef("pk"), jurisdiction_id=code)
        return self.filter(models.Q(is_national=True) | models.Exists(local))

    def with_topic(self, topic):
        return self.filter(
            models.Exists(ServiceTopic.objects.filter(service=models.OuterRef("pk"), topic=topic))
        )

    def in_language(self, language):
        """Offered in `language`, or through interpreters (who cover any language)."""
        offered = ServiceLanguage.objects.filter(service=models.OuterRef("pk"), language=language)
        return self.filter(models.Exists(offered) | ~models.Q(interpretation=""))


class PartnerService(models.Model):
    """What an organization offers, where, to whom and how to refer (HSDS service)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        INACTIVE = "inactive", "Inactive (not shown in searches)"

    uid = models.UUIDField("exchange id", default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        PartnerOrganization, on_delete=models.CASCADE, related_name="services"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    is_national = models.BooleanField(
        "serves the whole country",
        default=False,
        help_text="National services are listed for every state and territory.",
    )
    phone = models.CharField(
        max_length=30,
        blank=True,
        validators=[validate_phone],
        help_text="The number to call for this service (a hotline); empty: the organization's.",
    )
    website = models.URLField(blank=True)
    email = models.EmailField(blank=True)
    how_to_refer = models.TextField(
        blank=True, help_text="What a professional does to connect someone."
    )
    minimum_age = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(MAX_AGE)]
    )
    maximum_age = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(MAX_AGE)]
    )
    eligibility = models.TextField(blank=True, help_text="Who may use it, beyond the ages.")
    interpretation = models.CharField(
        "interpretation services",
        max_length=200,
        blank=True,
        help_text="E.g. 'Interpreters for other languages'. Matches every language in searches.",
    )
    last_verified_on = models.DateField(
        null=True, blank=True, help_text="When someone last checked these details."
    )

    objects = PartnerServiceQuerySet.as_manager()

    class Meta:
        ordering = ["organization__name", "name"]
        constraints = [
            models.UniqueConstraint(
                "organization",
                Lower("name"),
                name="partner_service_name_per_organization",
                violation_error_message=SERVICE_EXISTS,
            ),
            models.CheckConstraint(
                condition=models.Q(minimum_age__isnull=True)
                | models.Q(maximum_age__isnull=True)
                | models.Q(minimum_age__lte=models.F("maximum_age")),
                name="partner_service_ages_ordered",
                violation_error_message=AGES_REVERSED,
            ),
        ]

    def __str__(self):
        return f"{self.organization.name}: {self.name}"

    def get_absolute_url(self):
        return reverse("contacts:service", args=[self.pk])

    def clean(self):
        if (
            self.minimum_age is not None
            and self.maximum_age is not None
            and self.minimum_age > self.maximum_age
        ):
            raise ValidationError({"maximum_age": AGES_REVERSED})

    @property
    def contact_phone(self):
        return self.phone or self.organization.phone

    @property
    def contact_website(self):
        return self.website or self.organization.website

    @property
    def contact_email(self):
        return self.email or self.organization.email

    @property
    def ages(self) -> str:
        low, high = self.minimum_age, self.maximum_age
        if low is None and high is None:
            return ""
        if high is None:
            return f"{low} and older"
        if low is None:
            return f"up to {high}"
        return f"{low}–{high}"


class ServiceArea(models.Model):
    """A jurisdiction a service covers, or one county of it (HSDS service_area)."""

    service = models.ForeignKey(PartnerService, on_delete=models.CASCADE, related_name="areas")
    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="service_areas"
    )
    county = models.CharField(
        max_length=80, blank=True, help_text="Empty: the whole state or territory."
    )

    class Meta:
        ordering = ["jurisdiction__name", "county"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "jurisdiction", "county"], name="service_area_unique"
            ),
        ]

    def __str__(self):
        name = self.jurisdiction.name
        return f"{self.county}, {name}" if self.county else name


class ServiceTopic(models.Model):
    service = models.ForeignKey(PartnerService, on_delete=models.CASCADE, related_name="topics")
    topic = models.CharField(max_length=24, choices=Topic.choices)

    class Meta:
        ordering = ["topic"]
        constraints = [
            models.UniqueConstraint(fields=["service", "topic"], name="service_topic_unique"),
        ]

    def __str__(self):
        return self.get_topic_display()


class ServiceLanguage(models.Model):
    service = models.ForeignKey(PartnerService, on_delete=models.CASCADE, related_name="languages")
    language = models.CharField(max_length=8, choices=Language.choices)

    class Meta:
        ordering = ["language"]
        constraints = [
            models.UniqueConstraint(fields=["service", "language"], name="service_language_unique"),
        ]

    def __str__(self):
        return self.get_language_display()
