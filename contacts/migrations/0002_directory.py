# The partner directory after the Open Referral HSDS core: organizations offer services,
# services have areas, topics and languages. An organization's old free-text "services",
# "is_national" and "areas_served" become one service of that organization.

import uuid

import django.core.validators
import django.db.models.deletion
import django.db.models.functions.text
from django.db import migrations, models

import contacts.models


def fill_organization_uids(apps, schema_editor):
    PartnerOrganization = apps.get_model("contacts", "PartnerOrganization")
    for organization in PartnerOrganization.objects.filter(uid__isnull=True):
        organization.uid = uuid.uuid4()
        organization.save(update_fields=["uid"])


def services_from_old_fields(apps, schema_editor):
    PartnerOrganization = apps.get_model("contacts", "PartnerOrganization")
    PartnerService = apps.get_model("contacts", "PartnerService")
    ServiceArea = apps.get_model("contacts", "ServiceArea")
    for organization in PartnerOrganization.objects.prefetch_related("areas_served"):
        service = PartnerService.objects.create(
            uid=uuid.uuid4(),
            organization=organization,
            name="Services",
            description=organization.services_text,
            is_national=organization.is_national,
        )
        ServiceArea.objects.bulk_create(
            ServiceArea(service=service, jurisdiction=jurisdiction)
            for jurisdiction in organization.areas_served.all()
        )


def old_fields_from_services(apps, schema_editor):
    PartnerOrganization = apps.get_model("contacts", "PartnerOrganization")
    for organization in PartnerOrganization.objects.prefetch_related("services__areas"):
        services = list(organization.services.all())
        organization.services_text = "\n\n".join(
            f"{s.name}: {s.description}" if s.description else s.name for s in services
        )
        organization.is_national = any(s.is_national for s in services)
        organization.save(update_fields=["services_text", "is_national"])
        organization.areas_served.set(
            {area.jurisdiction_id for s in services for area in s.areas.all()}
        )


class Migration(migrations.Migration):

    dependencies = [
        ("contacts", "0001_initial"),
        ("regions", "0002_active_help_text"),
    ]

    operations = [
        # Exchange ids for the organizations already listed.
        migrations.AddField(
            model_name="partnerorganization",
            name="uid",
            field=models.UUIDField(null=True, editable=False, verbose_name="exchange id"),
        ),
        migrations.RunPython(fill_organization_uids, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="partnerorganization",
            name="uid",
            field=models.UUIDField(
                default=uuid.uuid4, editable=False, unique=True, verbose_name="exchange id"
            ),
        ),
        migrations.AlterField(
            model_name="partnerorganization",
            name="name",
            field=models.CharField(max_length=200),
        ),
        migrations.AlterField(
            model_name="partnerorganization",
            name="description",
            field=models.TextField(blank=True),
        ),
        migrations.AlterField(
            model_name="partnerorganization",
            name="phone",
            field=models.CharField(
                blank=True,
                max_length=30,
                validators=[
                    django.core.validators.RegexValidator(
                        contacts.models.PHONE_REGEX, contacts.models.PHONE_MESSAGE
                    )
                ],
            ),
        ),
        migrations.AddConstraint(
            model_name="partnerorganization",
            constraint=models.UniqueConstraint(
                django.db.models.functions.text.Lower("name"),
                name="partner_organization_name_ci",
                violation_error_message=contacts.models.ORGANIZATION_EXISTS,
            ),
        ),
        # The old free-text fields make way for the services relation; they become a service below.
        migrations.RenameField(
            model_name="partnerorganization", old_name="services", new_name="services_text"
        ),
        migrations.AlterField(
            model_name="partnerorganization",
            name="services_text",
            field=models.TextField(blank=True),
        ),
        migrations.CreateModel(
            name="PartnerService",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("uid", models.UUIDField(default=uuid.uuid4, editable=False, unique=True, verbose_name="exchange id")),
                ("name", models.CharField(max_length=200)),
                ("description", models.TextField(blank=True)),
                ("status", models.CharField(choices=[("active", "Active"), ("inactive", "Inactive (not shown in searches)")], default="active", max_length=8)),
                ("is_national", models.BooleanField(default=False, help_text="National services are listed for every state and territory.", verbose_name="serves the whole country")),
                ("phone", models.CharField(blank=True, help_text="The number to call for this service (a hotline); empty: the organization's.", max_length=30, validators=[django.core.validators.RegexValidator(contacts.models.PHONE_REGEX, contacts.models.PHONE_MESSAGE)])),
                ("website", models.URLField(blank=True)),
                ("email", models.EmailField(blank=True, max_length=254)),
                ("how_to_refer", models.TextField(blank=True, help_text="What a professional does to connect someone.")),
                ("minimum_age", models.PositiveSmallIntegerField(blank=True, null=True, validators=[django.core.validators.MaxValueValidator(120)])),
                ("maximum_age", models.PositiveSmallIntegerField(blank=True, null=True, validators=[django.core.validators.MaxValueValidator(120)])),
                ("eligibility", models.TextField(blank=True, help_text="Who may use it, beyond the ages.")),
                ("interpretation", models.CharField(blank=True, help_text="E.g. 'Interpreters for other languages'. Matches every language in searches.", max_length=200, verbose_name="interpretation services")),
                ("last_verified_on", models.DateField(blank=True, help_text="When someone last checked these details.", null=True)),
                ("organization", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="services", to="contacts.partnerorganization")),
            ],
            options={
                "ordering": ["organization__name", "name"],
                "constraints": [
                    models.UniqueConstraint(models.F("organization"), django.db.models.functions.text.Lower("name"), name="partner_service_name_per_organization", violation_error_message=contacts.models.SERVICE_EXISTS),
                    models.CheckConstraint(condition=models.Q(("minimum_age__isnull", True), ("maximum_age__isnull", True), ("minimum_age__lte", models.F("maximum_age")), _connector="OR"), name="partner_service_ages_ordered", violation_error_message=contacts.models.AGES_REVERSED),
                ],
            },
        ),
        migrations.CreateModel(
            name="ServiceArea",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("county", models.CharField(blank=True, help_text="Empty: the whole state or territory.", max_length=80)),
                ("jurisdiction", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="service_areas", to="regions.jurisdiction")),
                ("service", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="areas", to="contacts.partnerservice")),
            ],
            options={
                "ordering": ["jurisdiction__name", "county"],
                "constraints": [models.UniqueConstraint(fields=("service", "jurisdiction", "county"), name="service_area_unique")],
            },
        ),
        migrations.CreateModel(
            name="ServiceTopic",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("topic", models.CharField(choices=[("survivor-services", "Survivor services"), ("housing", "Housing and shelter"), ("mental-health", "Mental health"), ("substance-use", "Substance use"), ("legal", "Legal help"), ("education-employment", "Education and employment"), ("mentoring", "Mentoring"), ("medical", "Medical care"), ("hotline", "Hotline"), ("training", "Training for professionals")], max_length=24)),
                ("service", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="topics", to="contacts.partnerservice")),
            ],
            options={
                "ordering": ["topic"],
                "constraints": [models.UniqueConstraint(fields=("service", "topic"), name="service_topic_unique")],
            },
        ),
        migrations.CreateModel(
            name="ServiceLanguage",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("language", models.CharField(choices=[("en", "English"), ("es", "Spanish"), ("ase", "American Sign Language"), ("ar", "Arabic"), ("zh", "Chinese"), ("fr", "French"), ("ht", "Haitian Creole"), ("hmn", "Hmong"), ("ko", "Korean"), ("pt", "Portuguese"), ("ru", "Russian"), ("so", "Somali"), ("tl", "Tagalog"), ("vi", "Vietnamese")], max_length=8)),
                ("service", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="languages", to="contacts.partnerservice")),
            ],
            options={
                "ordering": ["language"],
                "constraints": [models.UniqueConstraint(fields=("service", "language"), name="service_language_unique")],
            },
        ),
        # ... and come back from the services on the way down.
        migrations.RunPython(services_from_old_fields, old_fields_from_services),
        migrations.RemoveField(model_name="partnerorganization", name="services_text"),
        migrations.RemoveField(model_name="partnerorganization", name="is_national"),
        migrations.RemoveField(model_name="partnerorganization", name="areas_served"),
    ]
