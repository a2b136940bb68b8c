"""Test data factories. Real reference data comes from fixtures/, not from here."""

import uuid
from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.db.models import F
from django.utils import timezone

from referrals.deadlines import first_contact_due
from referrals.models import Referral, new_reference
from regions.models import Jurisdiction, ResourceSpecialist


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("correct horse battery staple")


class SpecialistFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ResourceSpecialist

    name = factory.Sequence(lambda n: f"Specialist {n}")
    email = factory.Sequence(lambda n: f"specialist{n}@example.org")
    phone = "571.555.0100"
    is_active = True


class ReferralFactory(factory.django.DjangoModelFactory):
    """A referral as if submitted and routed; set region/assigned_specialist as needed.

    It obeys the intake rules and the first-contact rule (urgent ones are due sooner).
    """

    class Meta:
        model = Referral

    reference = factory.LazyFunction(new_reference)
    submission_token = factory.LazyFunction(lambda: uuid.uuid4().hex)
    referrer_name = "Alex Referrer"
    referrer_role = Referral.ReferrerRole.CHILD_WELFARE
    agency = factory.Sequence(lambda n: f"Agency {n}")
    referrer_email = "alex@example.org"
    referrer_phone = "612-555-0199"
    jurisdiction = factory.LazyFunction(lambda: Jurisdiction.objects.get(code="MN"))
    child_initials = "AB"
    child_age = 14
    child_status = Referral.ChildStatus.MISSING
    status_date = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=2))
    law_enforcement_involved = Referral.LawEnforcement.UNKNOWN
    urgency = Referral.Urgency.ROUTINE
    summary = "Youth missing from a group home; needs a recovery plan."
    consent_at = factory.LazyFunction(timezone.now)
    submitted_at = factory.LazyFunction(timezone.now)
    first_contact_due_at = factory.LazyAttribute(
        lambda r: first_contact_due(submitted_at=r.submitted_at, urgency=r.urgency)
    )
    region = factory.LazyAttribute(lambda r: r.jurisdiction.region)
    assigned_specialist = factory.LazyAttribute(
        lambda r: ResourceSpecialist.objects.filter(region=r.region).first() if r.region else None
    )

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        referral = super()._create(model_class, *args, **kwargs)
        # As referral_create would: an open referral is load on its specialist.
        if referral.assigned_specialist_id and referral.is_open:
            ResourceSpecialist.objects.filter(pk=referral.assigned_specialist_id).update(
                open_referral_count=F("open_referral_count") + 1
            )
        return referral
