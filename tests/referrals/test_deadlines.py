"""The first-contact promise on the pages comes from the same settings as the deadline."""

from datetime import timedelta

import pytest

from referrals.models import Referral
from tests.helpers import page_text

pytestmark = pytest.mark.usefixtures("reference_data")


def test_pages_promise_what_the_settings_say(client, form_data, settings):
    settings.RST_FIRST_CONTACT_HOURS = 48
    settings.RST_URGENT_FIRST_CONTACT_HOURS = 2
    home = page_text(client.get("/"))
    assert "contacts you within 48 hours (within 2 hours for an urgent referral)" in home
    form_data["urgency"] = "urgent"
    confirmation = page_text(client.get(client.post("/refer/", form_data)["Location"]))
    referral = Referral.objects.get()
    assert referral.first_contact_due_at == referral.submitted_at + timedelta(hours=2)
    assert "will contact you within 2 hours (urgent referral)" in confirmation


def test_one_hour_is_singular(client, settings):
    settings.RST_URGENT_FIRST_CONTACT_HOURS = 1
    assert "within 1 hour for an urgent referral" in page_text(client.get("/"))
