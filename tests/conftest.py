"""Shared fixtures: the real reference data, people in each role, a valid form post."""

import os

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection

from accounts.groups import sync_staff_groups
from accounts.roles import SUPERVISORS_GROUP
from accounts.services import specialist_link_login
from referrals.intake.forms import new_form_token
from regions.models import ResourceSpecialist
from regions.reference import REFERENCE_FIXTURES

from .factories import UserFactory


def pytest_collection_modifyitems(config, items):
    # CI must not pass by quietly running the PostgreSQL-only tests on SQLite.
    if os.environ.get("RST_REQUIRE_POSTGRES") == "1":
        from django.conf import settings

        engine = settings.DATABASES["default"]["ENGINE"]
        if "postgresql" not in engine:
            raise pytest.UsageError(f"RST_REQUIRE_POSTGRES=1 but the database is {engine}.")


@pytest.fixture(autouse=True)
def _http_test_settings(settings):
    """Production settings, except what a plain-HTTP test client cannot do."""
    settings.SECURE_SSL_REDIRECT = False
    # Fast hashing for test users; production keeps Django's default (PBKDF2).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Rate-limit counters must not leak from one test into the next. The process-local
    # cache of the blank form ("local") stays warm across tests, as in a production worker.
    cache.clear()
    settings.STORAGES = {
        **settings.STORAGES,
        # The manifest storage needs collectstatic; tests render templates without it.
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Load the real reference data once; each test's transaction rolls back over it."""
    with django_db_blocker.unblock():
        call_command("loaddata", *REFERENCE_FIXTURES, verbosity=0)


@pytest.fixture
def reference_data(request, db):
    """The regions, jurisdictions, specialists, services and contacts from fixtures/."""
    marker = request.node.get_closest_marker("django_db")
    if marker and marker.kwargs.get("transaction"):
        # Transactional tests empty the tables when they end; pytest-django runs them
        # after all the others, so reloading here leaves the others untouched.
        call_command("loaddata", *REFERENCE_FIXTURES, verbosity=0)
        # The flush also removed the staff groups. Its post_migrate signal syncs them
        # again, unless the test limits available_apps; sync here so they always exist.
        sync_staff_groups()


@pytest.fixture
def is_postgres():
    return connection.vendor == "postgresql"


def _specialist_user(specialist):
    user = UserFactory(first_name=specialist.name.split()[0], last_name=specialist.name.split()[-1])
    specialist_link_login(specialist=specialist, user=user)
    return user


@pytest.fixture
def specialist_user(reference_data):
    """Stacy Schultz's login (Region 3, Midwest)."""
    return _specialist_user(ResourceSpecialist.objects.get(region__number=3))


@pytest.fixture
def other_specialist_user(reference_data):
    """Kyla Conlee's login (Region 4)."""
    return _specialist_user(ResourceSpecialist.objects.get(region__number=4))


@pytest.fixture
def supervisor_user(reference_data):
    user = UserFactory(first_name="Samantha", last_name="Sahl", is_staff=True)
    user.groups.add(Group.objects.get(name=SUPERVISORS_GROUP))
    return user


@pytest.fixture
def form_data():
    """A complete, valid referral form post for a case in Minnesota (Region 3)."""
    return {
        "referrer_name": "Jordan Caseworker",
        "referrer_role": "child_welfare",
        "agency": "Hennepin County Child Protection",
        "referrer_email": "jordan@example.org",
        "referrer_phone": "612-555-0100",
        "jurisdiction": "MN",
        "county": "Hennepin",
        "child_initials": "JD",
        "child_age": "15",
        "child_status": "missing",
        "status_date": "2026-11-20",
        "ncmec_case_number": "1234567",
        "law_enforcement_involved": "yes",
        "services": ["2", "3"],
        "urgency": "routine",
        "summary": "Youth missing from placement since Friday; seen with an older adult.",
        "consent": "on",
        "leave_empty": "",
        "submission_token": new_form_token(),
    }
