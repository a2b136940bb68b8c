"""Scope is checked where the change happens: under the row lock, in every service.

The view checks scope before it calls the service; by the time the service has the row
lock another request may have moved the referral out of the user's queue. The race
itself runs on PostgreSQL with two connections; the rest here runs anywhere.
"""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections, transaction

from referrals import services
from referrals.models import Notification, Referral
from referrals.workspace import views
from regions.models import Jurisdiction
from tests.concurrency import wait_until_waiting
from tests.factories import ReferralFactory, UserFactory
from tests.helpers import as_user, page_text

pytestmark = pytest.mark.usefixtures("reference_data")

NEW_YORK = {"jurisdiction": "NY", "reason": "The child moved to New York"}
CLOSE = {"outcome": "connected", "note": "Connected to a local program."}


def transferred_away(referral, supervisor):
    services.referral_transfer(
        referral=referral,
        actor=supervisor,
        jurisdiction=Jurisdiction.objects.get(code="NY"),
        reason="moved",
    )


@pytest.mark.parametrize(
    "act",
    [
        lambda r, u: services.referral_acknowledge(referral=r, actor=u),
        lambda r, u: services.referral_add_note(referral=r, actor=u, text="note"),
        lambda r, u: services.referral_record_contact(
            referral=r, actor=u, method="phone", contact_date=r.submitted_at.date()
        ),
        lambda r, u: services.referral_close(referral=r, actor=u, outcome="connected", note="x"),
        lambda r, u: services.referral_transfer(
            referral=r, actor=u, jurisdiction=Jurisdiction.objects.get(code="TX"), reason="x"
        ),
        lambda r, u: services.referral_reroute(referral=r, actor=u),
    ],
    ids=["acknowledge", "note", "contact", "close", "transfer", "reroute"],
)
def test_every_service_refuses_a_referral_no_longer_in_scope(act, specialist_user, supervisor_user):
    referral = ReferralFactory()  # Minnesota, Stacy's
    stale = Referral.objects.get(pk=referral.pk)  # what the view read before the transfer
    transferred_away(referral, supervisor_user)
    events = referral.events.count()
    with pytest.raises(ValidationError) as error:
        act(stale, specialist_user)
    assert error.value.messages == [services.NOT_IN_SCOPE]
    assert referral.events.count() == events
    assert Referral.objects.get(pk=referral.pk).jurisdiction_id == "NY"


def test_a_login_without_a_role_changes_nothing():
    referral = ReferralFactory()
    with pytest.raises(ValidationError, match="not in your queue"):
        services.referral_add_note(referral=referral, actor=UserFactory(), text="hello")


def test_the_page_says_what_happened_when_the_referral_moved_meanwhile(
    specialist_user, supervisor_user, monkeypatch
):
    referral = ReferralFactory()
    client = as_user(specialist_user)
    # The transfer lands between the view's scope check and the service's lock.
    real_read = views.referral_for_user

    def read_then_transfer(**kwargs):
        found = real_read(**kwargs)
        if not referral.events.filter(kind="transferred").exists():
            transferred_away(referral, supervisor_user)
        return found

    monkeypatch.setattr(views, "referral_for_user", read_then_transfer)
    response = client.post(referral.get_absolute_url() + "close/", CLOSE)
    assert response["Location"] == "/queue/"
    assert services.NOT_IN_SCOPE in page_text(client.get("/queue/"))
    referral.refresh_from_db()
    assert (referral.status, referral.jurisdiction_id) == ("new", "NY")


# The race, with two connections and PostgreSQL's row locks.


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="Needs PostgreSQL's row locks and two connections; CI runs it on PostgreSQL "
    "(RST_REQUIRE_POSTGRES=1 makes a non-PostgreSQL CI run fail).",
)
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("first", ["transfer", "close"])
def test_a_transfer_racing_a_close_applies_exactly_one(first, specialist_user, supervisor_user):
    referral = ReferralFactory()  # Minnesota, Region 3, Stacy's
    requests = {
        "transfer": (as_user(supervisor_user), referral.get_absolute_url() + "transfer/", NEW_YORK),
        "close": (as_user(specialist_user), referral.get_absolute_url() + "close/", CLOSE),
    }
    responses = {}

    def send(name):
        client, url, data = requests[name]
        try:
            responses[name] = client.post(url, data)
        finally:
            connections.close_all()

    threads = {name: threading.Thread(target=send, args=(name,)) for name in requests}
    second = "close" if first == "transfer" else "transfer"
    # Hold the row so that both requests pass the view's check and wait at the lock,
    # `first` at the head of the queue.
    with transaction.atomic():
        Referral.objects.select_for_update().get(pk=referral.pk)
        threads[first].start()
        wait_until_waiting(1, what="the request")
        threads[second].start()
        wait_until_waiting(2, what="the request")
    for thread in threads.values():
        thread.join(timeout=30)

    referral.refresh_from_db()
    kinds = list(referral.events.values_list("kind", flat=True))
    if first == "transfer":
        assert (referral.status, referral.jurisdiction_id, referral.region.number) == (
            "new",
            "NY",
            1,
        )
        assert kinds == ["transferred"]
        # The specialist is told the truth, on the queue she is sent back to.
        assert responses["close"]["Location"] == "/queue/"
        client = requests["close"][0]
        assert services.NOT_IN_SCOPE in page_text(client.get("/queue/"))
        assert Notification.objects.filter(kind="assigned", specialist__region__number=1).exists()
    else:
        assert (referral.status, referral.jurisdiction_id) == ("closed", "MN")
        assert kinds == ["closed"]
        # Refused: back at the referral's own address (post/redirect/get), saying why.
        assert responses["transfer"]["Location"] == referral.get_absolute_url()
        supervisor = requests["transfer"][0]
        assert "This referral is closed" in page_text(supervisor.get(referral.get_absolute_url()))
        assert not Notification.objects.filter(kind="assigned").exists()
