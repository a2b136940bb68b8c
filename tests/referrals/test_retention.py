"""Retention: closed referrals past RST_RETENTION_DAYS lose exactly the listed details."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from referrals import services
from referrals.models import Referral, ReferralEvent
from referrals.retention import REDACTED_FIELDS
from tests.factories import ReferralFactory
from tests.helpers import as_user, page_text

pytestmark = pytest.mark.usefixtures("reference_data")

KEPT_FIELDS = [
    "reference",
    "jurisdiction_id",
    "region_id",
    "assigned_specialist_id",
    "status",
    "outcome",
    "urgency",
    "child_status",
    "status_date",
    "law_enforcement_involved",
    "agency",
    "referrer_role",
    "submitted_at",
    "first_contact_due_at",
    "first_contacted_at",
    "closed_at",
    "consent_at",
]


def closed_referral(user, *, days_ago, supervisor=None):
    referral = ReferralFactory(
        county="Hennepin",
        ncmec_case_number="1234567",
        summary="Seen near the bus station with an older adult.",
    )
    services.referral_acknowledge(referral=referral, actor=user)
    services.referral_add_note(referral=referral, actor=user, text="Spoke with the foster mother.")
    services.referral_record_contact(
        referral=referral, actor=user, method="phone", contact_date=timezone.localdate()
    )
    services.referral_close(referral=referral, actor=user, outcome="connected", note="Plan agreed.")
    if supervisor:
        services.referral_mark_reviewed(referral=referral, actor=supervisor, note="Checked JD.")
    closed_at = timezone.now() - timedelta(days=days_ago)
    Referral.objects.filter(pk=referral.pk).update(closed_at=closed_at)
    referral.refresh_from_db()
    referral.services.set([1, 2])
    return referral


def snapshot(referral):
    referral.refresh_from_db()
    return {name: getattr(referral, name) for name in REDACTED_FIELDS + KEPT_FIELDS}


def test_purge_redacts_exactly_the_listed_fields(specialist_user, supervisor_user, capsys):
    old = closed_referral(specialist_user, days_ago=400, supervisor=supervisor_user)
    before = snapshot(old)
    kinds_before = list(old.events.values_list("kind", flat=True))
    call_command("rst_purge_closed")
    assert f"redacted {old.reference}" in capsys.readouterr().out
    after = snapshot(old)
    assert {name: after[name] for name in REDACTED_FIELDS} == {
        "child_initials": "",
        "child_age": None,
        "county": "",
        "ncmec_case_number": "",
        "summary": "",
        "closing_note": "",
        "review_note": "",
        "referrer_name": "",
        "referrer_email": "",
        "referrer_phone": "",
    }
    assert {name: after[name] for name in KEPT_FIELDS} == {
        name: before[name] for name in KEPT_FIELDS
    }
    assert list(old.services.values_list("number", flat=True)) == [1, 2]
    assert old.redacted_at is not None
    # The history keeps its kinds and the routing decisions; people's notes are gone.
    events = list(old.events.values_list("kind", "message"))
    assert [kind for kind, _ in events] == [*kinds_before, "redacted"]
    for kind, message in events[:-1]:
        assert message == "" or kind == "routed", (kind, message)
    assert "removed after 365 days" in events[-1][1]


def test_purge_leaves_recent_and_open_referrals_alone(specialist_user, settings):
    recent = closed_referral(specialist_user, days_ago=300)
    still_open = ReferralFactory(submitted_at=timezone.now() - timedelta(days=800))
    before = (snapshot(recent), snapshot(still_open))
    call_command("rst_purge_closed")
    assert (snapshot(recent), snapshot(still_open)) == before
    settings.RST_RETENTION_DAYS = 200
    call_command("rst_purge_closed")
    assert snapshot(recent)["summary"] == ""
    assert snapshot(still_open)["summary"] != ""


def test_dry_run_changes_nothing_and_a_second_run_changes_nothing(specialist_user, capsys):
    old = closed_referral(specialist_user, days_ago=400)
    before = snapshot(old)
    events_before = list(old.events.values_list("kind", "message"))
    call_command("rst_purge_closed", dry_run=True)
    out = capsys.readouterr().out
    assert f"would redact {old.reference}" in out
    assert "1 referral closed more than 365 days ago would be redacted" in out
    assert snapshot(old) == before
    assert list(old.events.values_list("kind", "message")) == events_before

    call_command("rst_purge_closed")
    first = (snapshot(old), list(old.events.values_list("kind", "message")))
    capsys.readouterr()
    call_command("rst_purge_closed")
    assert "0 referrals closed more than 365 days ago redacted" in capsys.readouterr().out
    assert (snapshot(old), list(old.events.values_list("kind", "message"))) == first
    assert ReferralEvent.objects.filter(kind="redacted").count() == 1


def test_a_redacted_referral_page_says_so(specialist_user):
    old = closed_referral(specialist_user, days_ago=400)
    call_command("rst_purge_closed")
    text = page_text(as_user(specialist_user).get(old.get_absolute_url()))
    assert "Redacted" in text
    assert "Seen near the bus station" not in text
