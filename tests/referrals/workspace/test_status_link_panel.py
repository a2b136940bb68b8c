"""The referrer's status links on the referral page: the panel, revoking, sending a new one."""

import re

import pytest
from django.test import Client

from referrals import status_links
from referrals.models import Notification, ReferralEvent, StatusLink
from referrals.status_links import LinkState
from referrals.workspace.status_links import CHANGES, FORM_EXPIRED
from regions.models import ResourceSpecialist
from tests.factories import ReferralFactory
from tests.helpers import as_user, page_text, verify_session

pytestmark = pytest.mark.usefixtures("reference_data")

REVOKED = CHANGES["revoke"][1]
SENT = CHANGES["send"][1]


def detail(referral) -> str:
    return f"/queue/{referral.reference}/"


def change_url(referral, change: str) -> str:
    return f"/queue/{referral.reference}/status-links/{change}/"


def panel_form(html: str, change: str) -> dict:
    """The panel's form for `change`, as the page served it."""
    form = re.search(
        rf'<form method="post" action="/queue/[^"]+/status-links/{change}/"[^>]*>(.*?)</form>',
        html,
        re.S,
    )
    assert form, f"no {change} button"
    return dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(1)))


def post_from_page(client, referral, change: str):
    page = client.get(detail(referral))
    return client.post(change_url(referral, change), panel_form(page.content.decode(), change))


def state_of(token):
    return status_links.status_link_state(status_links.status_link_find(token=token))


def test_the_panel_says_how_the_links_stand(specialist_user):
    referral = ReferralFactory()
    client = as_user(specialist_user)
    text = page_text(client.get(detail(referral)))
    assert "No working link" in text
    status_links.status_link_mint(referral=referral)
    status_links.status_link_mint(referral=referral)
    text = page_text(client.get(detail(referral)))
    assert "2 working links" in text
    assert "Revoke all links" in text and "E-mail the referrer a new link" in text


def test_the_assigned_specialist_revokes_from_the_page(specialist_user):
    referral = ReferralFactory()
    _, token = status_links.status_link_mint(referral=referral)
    client = as_user(specialist_user)

    response = post_from_page(client, referral, "revoke")

    assert response.status_code == 302 and response["Location"] == detail(referral)
    assert state_of(token) == LinkState.REVOKED
    page = client.get(detail(referral))
    text = page_text(page)
    assert REVOKED in text
    assert "Status links revoked" in text  # the event, in the history
    assert "No working link" in text


def test_a_double_click_revokes_once_and_lands_on_the_same_success(specialist_user):
    referral = ReferralFactory()
    status_links.status_link_mint(referral=referral)
    client = as_user(specialist_user)
    form = panel_form(client.get(detail(referral)).content.decode(), "revoke")
    for _ in range(2):
        response = client.post(change_url(referral, "revoke"), form, follow=True)
        assert REVOKED in page_text(response)
    assert referral.events.filter(kind=ReferralEvent.Kind.LINK_REVOKED).count() == 1


def test_sending_a_new_link_queues_one_email(specialist_user):
    referral = ReferralFactory()
    client = as_user(specialist_user)
    form = panel_form(client.get(detail(referral)).content.decode(), "send")
    for _ in range(2):
        response = client.post(change_url(referral, "send"), form, follow=True)
        assert SENT in page_text(response)
    assert referral.notifications.filter(kind=Notification.Kind.STATUS_LINK).count() == 1
    event = referral.events.get(kind=ReferralEvent.Kind.LINK_ISSUED)
    assert event.actor == specialist_user
    # Minted when the e-mail is sent (by the worker), never before.
    assert not StatusLink.objects.filter(referral=referral).exists()


def test_a_supervisor_may_do_both(supervisor_user):
    referral = ReferralFactory()
    _, token = status_links.status_link_mint(referral=referral)
    client = as_user(supervisor_user)
    assert post_from_page(client, referral, "send").status_code == 302
    assert post_from_page(client, referral, "revoke").status_code == 302
    assert state_of(token) == LinkState.REVOKED


def test_another_regions_specialist_gets_a_404(other_specialist_user, specialist_user):
    referral = ReferralFactory()  # Region 3
    _, token = status_links.status_link_mint(referral=referral)
    form = panel_form(as_user(specialist_user).get(detail(referral)).content.decode(), "revoke")
    client = as_user(other_specialist_user)
    for change in ("revoke", "send"):
        assert client.post(change_url(referral, change), form).status_code == 404
    assert state_of(token) == LinkState.USABLE
    assert not referral.events.filter(
        kind__in=[ReferralEvent.Kind.LINK_ISSUED, ReferralEvent.Kind.LINK_REVOKED]
    ).exists()


def test_a_colleague_without_the_case_sees_no_buttons_and_is_refused(specialist_user):
    region = ResourceSpecialist.objects.get(user=specialist_user).region
    colleague = ResourceSpecialist.objects.create(
        name="Pat Colleague", email="pat@example.org", phone="571.555.0101", region=region
    )
    referral = ReferralFactory(assigned_specialist=colleague)
    _, token = status_links.status_link_mint(referral=referral)
    client = as_user(specialist_user)
    html = client.get(detail(referral)).content.decode()
    assert "Revoke all links" not in html
    response = client.post(change_url(referral, "revoke"), {"action_token": "t" * 32}, follow=True)
    assert status_links.LINKS_ASSIGNED_ONLY in page_text(response)
    assert state_of(token) == LinkState.USABLE


def test_only_post_with_csrf_and_a_token(specialist_user):
    referral = ReferralFactory()
    _, token = status_links.status_link_mint(referral=referral)
    client = as_user(specialist_user)
    assert client.get(change_url(referral, "revoke")).status_code == 405

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(specialist_user)
    verify_session(strict, specialist_user)
    assert (
        strict.post(change_url(referral, "revoke"), {"action_token": "t" * 32}).status_code == 403
    )

    response = client.post(change_url(referral, "revoke"), {"action_token": "!"}, follow=True)
    assert FORM_EXPIRED in page_text(response)
    assert state_of(token) == LinkState.USABLE
    assert client.post(change_url(referral, "other")).status_code == 404


def test_logged_out_is_sent_to_log_in():
    referral = ReferralFactory()
    response = Client().post(change_url(referral, "revoke"), {"action_token": "t" * 32})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
