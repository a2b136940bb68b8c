"""Helpers for the notification tests: a referral made as the public form makes one."""

import uuid
from datetime import timedelta

from django.utils import timezone

from referrals import services
from referrals.models import Referral, Service
from regions.models import Jurisdiction

REFERRER = "jordan@example.org"
SUMMARY = "Youth missing from placement since Friday; seen with an older adult."


def create_referral(*, email=REFERRER, code="MN", urgency="routine") -> Referral:
    """Create and route a referral through the same service the form calls."""
    referral, created = services.referral_create(
        submission_token=uuid.uuid4().hex,
        services=list(Service.objects.filter(number=2)),
        referrer_name="Jordan Caseworker",
        referrer_role="child_welfare",
        agency="Hennepin County Child Protection",
        referrer_email=email,
        referrer_phone="612-555-0100",
        jurisdiction=Jurisdiction.objects.get(code=code),
        county="Hennepin",
        child_initials="JD",
        child_age=15,
        child_status="missing",
        # Yesterday: "today" is the case's, up to a day behind the office's.
        status_date=timezone.localdate() - timedelta(days=1),
        ncmec_case_number="",
        law_enforcement_involved="unknown",
        urgency=urgency,
        summary=SUMMARY,
    )
    assert created
    return referral
