"""Sharing directory resources on a referral: recorded as an event, scoped to the region."""

import pytest

from contacts.models import PartnerService
from referrals import services
from referrals.models import ReferralEvent
from tests.contacts.factories import ServiceFactory
from tests.factories import ReferralFactory
from tests.helpers import as_user, page_text

pytestmark = pytest.mark.usefixtures("reference_data")


def share(client, referral, **data):
    return client.post(f"/queue/{referral.reference}/share_resources/", data, follow=True)


@pytest.fixture
def resources():
    national = ServiceFactory(is_national=True)
    minnesota = ServiceFactory(areas=["MN"])
    texas = ServiceFactory(areas=["TX"])
    return national, minnesota, texas


def test_the_page_offers_the_states_and_national_resources(specialist_user, resources):
    national, minnesota, texas = resources
    referral = ReferralFactory()  # Minnesota, Region 3
    text = page_text(as_user(specialist_user).get(referral.get_absolute_url()))
    assert "Share resources from the directory" in text
    assert national.name in text and minnesota.name in text
    assert texas.name not in text


def test_the_page_shows_a_directory_change_at_once(specialist_user, resources):
    national, minnesota, texas = resources
    referral = ReferralFactory()  # Minnesota
    client = as_user(specialist_user)
    client.get(referral.get_absolute_url())  # the blank form is now kept
    added = ServiceFactory(areas=["MN"])
    minnesota.name = "Renamed service"
    minnesota.save()
    national.status = PartnerService.Status.INACTIVE
    national.save()
    text = page_text(client.get(referral.get_absolute_url()))
    assert added.name in text and "Renamed service" in text
    assert national.name not in text


def test_sharing_records_an_event_with_what_was_passed_on(specialist_user, resources):
    national, minnesota, _ = resources
    referral = ReferralFactory()
    response = share(
        as_user(specialist_user),
        referral,
        resources=[minnesota.pk, national.pk],
        note="Sent both numbers by e-mail.",
    )
    assert "Resources shared: recorded in the history." in page_text(response)
    event = referral.events.get(kind=ReferralEvent.Kind.RESOURCES_SHARED)
    assert event.actor == specialist_user
    assert [r["service"] for r in event.resources] == [minnesota.name, national.name]
    assert event.resources[0]["organization"] == minnesota.organization.name
    assert event.message.endswith("Sent both numbers by e-mail.")
    assert minnesota.name in page_text(response)  # listed in the history


def test_the_record_keeps_what_was_shared_when_the_directory_changes(specialist_user, resources):
    _, minnesota, _ = resources
    referral = ReferralFactory()
    services.referral_share_resources(
        referral=referral, actor=specialist_user, service_ids=[minnesota.pk]
    )
    old_name = minnesota.name
    PartnerService.objects.filter(pk=minnesota.pk).update(name="Renamed service")
    event = referral.events.get(kind=ReferralEvent.Kind.RESOURCES_SHARED)
    assert event.resources[0]["service"] == old_name


def test_another_states_resource_is_refused(specialist_user, resources):
    _, _, texas = resources
    referral = ReferralFactory()
    response = share(as_user(specialist_user), referral, resources=[texas.pk])
    # Refused: back on the referral's own page (post/redirect/get), the error on the field.
    assert response.redirect_chain[-1][0].startswith(referral.get_absolute_url())
    assert "is not one of the available choices" in page_text(response)
    assert not referral.events.filter(kind=ReferralEvent.Kind.RESOURCES_SHARED).exists()


def test_nothing_chosen_or_a_vanished_resource_is_refused(specialist_user, resources):
    referral = ReferralFactory()
    response = share(as_user(specialist_user), referral)
    assert services.RESOURCES_NONE_CHOSEN in page_text(response)
    with pytest.raises(services.ValidationError, match="no longer in the directory"):
        services.referral_share_resources(
            referral=referral, actor=specialist_user, service_ids=[999_999]
        )
    assert not referral.events.filter(kind=ReferralEvent.Kind.RESOURCES_SHARED).exists()


def test_another_regions_specialist_cannot_share_on_the_referral(other_specialist_user, resources):
    national, _, _ = resources
    referral = ReferralFactory()  # Region 3; Kyla Conlee is Region 4
    response = share(as_user(other_specialist_user), referral, resources=[national.pk])
    assert response.status_code == 404
    with pytest.raises(services.ValidationError):
        services.referral_share_resources(
            referral=referral, actor=other_specialist_user, service_ids=[national.pk]
        )
    assert not referral.events.filter(kind=ReferralEvent.Kind.RESOURCES_SHARED).exists()


def test_a_closed_referral_offers_no_sharing(specialist_user, resources):
    referral = ReferralFactory(status="closed", outcome="connected")
    text = page_text(as_user(specialist_user).get(referral.get_absolute_url()))
    assert "Share resources from the directory" not in text


def test_the_workload_overview_counts_shared_resources(specialist_user, supervisor_user, resources):
    national, _, _ = resources
    referral = ReferralFactory()
    services.referral_share_resources(
        referral=referral, actor=specialist_user, service_ids=[national.pk]
    )
    page = as_user(supervisor_user).get("/admin/referrals/referral/workload/")
    assert 'id="resources-shared">1<' in page.content.decode()
