"""Reads of the partner directory: the staff search, one service, exports, what is shared."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from .models import PartnerService, ServiceArea

MAX_SEARCH_WORDS = 8


@dataclass(frozen=True)
class DirectoryFilters:
    """What the staff search asks for; empty values do not filter."""

    jurisdiction: str = ""  # USPS code: its services and the national ones
    topic: str = ""  # a Topic value
    language: str = ""  # a Language value (services with interpreters match any)
    text: str = ""  # every word must appear in a name, a description or how to refer


def with_details(services: QuerySet) -> QuerySet:
    """Everything a result shows, in a fixed number of queries whatever the number of rows."""
    return services.select_related("organization").prefetch_related(
        "topics",
        "languages",
        Prefetch("areas", queryset=ServiceArea.objects.select_related("jurisdiction")),
    )


def directory_search(*, filters: DirectoryFilters) -> QuerySet:
    """Active services matching `filters`; with a jurisdiction, its own services come first."""
    services = PartnerService.objects.active()
    order = ["organization__name", "name", "pk"]
    if filters.jurisdiction:
        services = services.serving(filters.jurisdiction).annotate(
            is_local=Exists(
                ServiceArea.objects.filter(
                    service=OuterRef("pk"), jurisdiction_id=filters.jurisdiction
                )
            )
        )
        order = ["-is_local", *order]
    if filters.topic:
        services = services.with_topic(filters.topic)
    if filters.language:
        services = services.in_language(filters.language)
    for word in filters.text.split()[:MAX_SEARCH_WORDS]:
        services = services.filter(
            Q(name__icontains=word)
            | Q(description__icontains=word)
            | Q(organization__name__icontains=word)
            | Q(organization__description__icontains=word)
            | Q(how_to_refer__icontains=word)
            | Q(eligibility__icontains=word)
        )
    return with_details(services.order_by(*order))


def directory_page(*, filters: DirectoryFilters, page_number, per_page: int) -> Page:
    return Paginator(directory_search(filters=filters), per_page).get_page(page_number)


def directory_service(*, pk: int) -> PartnerService:
    """One service with its details, inactive ones too (a referral may name one).

    Raises PartnerService.DoesNotExist.
    """
    return with_details(PartnerService.objects.all()).get(pk=pk)


def directory_for_export() -> QuerySet:
    """Every service, active or not, for the CSV and HSDS exports."""
    return with_details(PartnerService.objects.order_by("organization__name", "name", "pk"))


def directory_services_by_ids(*, ids: Iterable[int], active_only: bool = True) -> list:
    """The services with these ids, with their details, in the order given.

    Unknown ids (and, with `active_only`, inactive services) are left out. For a
    referral-side caller that stores the ids a specialist picked.
    """
    ids = list(dict.fromkeys(int(pk) for pk in ids))
    services = PartnerService.objects.filter(pk__in=ids)
    if active_only:
        services = services.active()
    found = {service.pk: service for service in with_details(services)}
    return [found[pk] for pk in ids if pk in found]


def shared_resource(service: PartnerService) -> dict:
    """What a referral records when a specialist shares this service: its contacts, as of now.

    No child data: names, phones, websites and how to refer, safe to show the referrer. A
    snapshot, so the referral's history keeps saying what was passed on if the directory
    entry changes later.
    """
    return {
        "service_id": service.pk,
        "uid": str(service.uid),
        "organization": service.organization.name,
        "service": service.name,
        "phone": service.contact_phone,
        "website": service.contact_website,
        "email": service.contact_email,
        "how_to_refer": service.how_to_refer,
    }
