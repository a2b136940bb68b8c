"""Factories for the partner directory (the example organizations come from fixtures/)."""

import factory

from contacts.models import (
    PartnerOrganization,
    PartnerService,
    ServiceArea,
    ServiceLanguage,
    ServiceTopic,
)
from regions.models import Jurisdiction


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PartnerOrganization

    name = factory.Sequence(lambda n: f"Partner Organization {n}")
    description = "Helps young people and the professionals who work with them."
    website = factory.Sequence(lambda n: f"https://partner{n}.example.org")
    phone = "612-555-0100"


class ServiceFactory(factory.django.DjangoModelFactory):
    """A service; pass areas=["MN", ("MN", "Hennepin County")], topics=[...], languages=[...]."""

    class Meta:
        model = PartnerService
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Service {n}")
    description = "Case management for young survivors."
    how_to_refer = "Call the intake line; ask for the youth program."

    @factory.post_generation
    def areas(self, create, extracted, **kwargs):
        for area in extracted or []:
            code, county = (area, "") if isinstance(area, str) else area
            ServiceArea.objects.create(
                service=self, jurisdiction=Jurisdiction.objects.get(code=code), county=county
            )

    @factory.post_generation
    def topics(self, create, extracted, **kwargs):
        for topic in ["survivor-services"] if extracted is None else extracted:
            ServiceTopic.objects.create(service=self, topic=topic)

    @factory.post_generation
    def languages(self, create, extracted, **kwargs):
        for language in extracted or []:
            ServiceLanguage.objects.create(service=self, language=language)
