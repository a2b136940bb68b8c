"""The supervisor's admin: the supervisor role and the model permission, both required."""

import pytest
from django.contrib.auth.models import Permission

from accounts.groups import STAFF_GROUP_PERMISSIONS, SUPERVISOR_PERMISSIONS, sync_staff_groups
from accounts.roles import SUPERVISORS_GROUP
from contacts.models import PartnerOrganization
from regions.models import Jurisdiction
from tests.factories import UserFactory
from tests.helpers import as_user, page_text

pytestmark = pytest.mark.usefixtures("reference_data")

PARTNERS = "/admin/contacts/partnerorganization/"
MINNESOTA = "/admin/regions/jurisdiction/MN/change/"


@pytest.fixture
def partner():
    return PartnerOrganization.objects.create(name="Safe Harbor Youth", description="Shelter")


def test_a_supervisor_without_a_model_permission_cannot_use_it(supervisor_user, partner):
    delete_partner = f"{PARTNERS}{partner.pk}/delete/"
    client = as_user(supervisor_user)
    assert client.get(delete_partner).status_code == 200
    sync_staff_groups(
        table={
            **STAFF_GROUP_PERMISSIONS,
            SUPERVISORS_GROUP: SUPERVISOR_PERMISSIONS
            - {"regions.change_jurisdiction", "contacts.delete_partnerorganization"},
        }
    )
    supervisor_user.refresh_from_db()  # drops the cached permissions
    client = as_user(supervisor_user)
    assert client.get(delete_partner).status_code == 403
    assert client.post(delete_partner, {"post": "yes"}).status_code == 403
    assert PartnerOrganization.objects.filter(pk=partner.pk).exists()
    # The mapping can still be read, but no longer changed.
    page = client.get(MINNESOTA)
    assert page.status_code == 200
    assert "Save" not in page_text(page)
    minnesota_region = Jurisdiction.objects.get(code="MN").region_id
    refused = client.post(MINNESOTA, {"region": minnesota_region + 1, "_save": "Save"})
    assert refused.status_code == 403
    assert Jurisdiction.objects.get(code="MN").region_id == minnesota_region


def test_model_permissions_without_the_supervisor_role_open_nothing(partner):
    # Staff status and every permission a supervisor holds, but not in the group.
    user = UserFactory(is_staff=True)
    user.user_permissions.add(
        *[
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
            for app_label, codename in (p.split(".") for p in SUPERVISOR_PERMISSIONS)
        ]
    )
    client = as_user(user)
    for url in [
        "/admin/referrals/referral/",
        "/admin/regions/jurisdiction/",
        MINNESOTA,
        PARTNERS,
        f"{PARTNERS}{partner.pk}/delete/",
    ]:
        assert client.get(url).status_code == 403, url
    index = client.get("/admin/")
    assert "/admin/referrals/" not in index.content.decode()
    assert "/admin/contacts/" not in index.content.decode()
