"""The staff groups: what each may do, and the sync that keeps the database to the table."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.groups import STAFF_GROUP_PERMISSIONS, SUPERVISOR_PERMISSIONS, sync_staff_groups
from accounts.roles import SPECIALISTS_GROUP, SUPERVISORS_GROUP
from tests.factories import UserFactory

pytestmark = pytest.mark.usefixtures("reference_data")


def held(group_name) -> set[str]:
    """The group's permissions as the database has them, as 'app_label.codename'."""
    return {
        f"{app_label}.{codename}"
        for app_label, codename in Group.objects.get(name=group_name).permissions.values_list(
            "content_type__app_label", "codename"
        )
    }


def members(group_name) -> set[str]:
    return set(Group.objects.get(name=group_name).user_set.values_list("username", flat=True))


def test_groups_hold_the_table_with_least_privilege():
    specialists, supervisors = held(SPECIALISTS_GROUP), held(SUPERVISORS_GROUP)
    assert specialists == STAFF_GROUP_PERMISSIONS[SPECIALISTS_GROUP]
    assert supervisors == STAFF_GROUP_PERMISSIONS[SUPERVISORS_GROUP]
    # Specialists only read; what they read is scoped by region in the queue's code.
    assert "referrals.view_referral" in specialists
    assert all(".view_" in permission for permission in specialists)
    assert {
        "referrals.change_referral",
        "regions.change_jurisdiction",
        "regions.change_resourcespecialist",
        "referrals.change_notification",
        "django_tasks_database.view_dbtaskresult",
    } <= supervisors
    # Referrals come from the form and are kept; their history is append-only.
    assert not {
        "referrals.add_referral",
        "referrals.delete_referral",
        "referrals.add_referralevent",
        "referrals.change_referralevent",
        "referrals.delete_referralevent",
        "referrals.delete_notification",
        "regions.delete_resourcespecialist",
    } & (supervisors | specialists)


def test_syncing_again_changes_nothing():
    before = {name: held(name) for name in STAFF_GROUP_PERMISSIONS}
    assert sync_staff_groups() == []
    assert sync_staff_groups() == []
    assert {name: held(name) for name in STAFF_GROUP_PERMISSIONS} == before
    assert Group.objects.filter(name__in=STAFF_GROUP_PERMISSIONS).count() == 2


def test_a_changed_table_updates_the_groups_and_keeps_their_members(
    specialist_user, supervisor_user
):
    table = {
        SPECIALISTS_GROUP: STAFF_GROUP_PERMISSIONS[SPECIALISTS_GROUP],
        SUPERVISORS_GROUP: (SUPERVISOR_PERMISSIONS - {"regions.change_jurisdiction"})
        | {"regions.delete_jurisdiction"},
        "RST Auditors": frozenset({"referrals.view_referralevent"}),
    }
    changes = sync_staff_groups(table=table)
    assert held(SUPERVISORS_GROUP) == table[SUPERVISORS_GROUP]
    assert held("RST Auditors") == {"referrals.view_referralevent"}
    assert held(SPECIALISTS_GROUP) == table[SPECIALISTS_GROUP]
    assert sorted(changes) == [
        "RST Auditors: added referrals.view_referralevent",
        "RST Auditors: created",
        "RST Supervisors: added regions.delete_jurisdiction",
        "RST Supervisors: removed regions.change_jurisdiction",
    ]
    # Back to the real table: the supervisors get their permissions back.
    sync_staff_groups()
    assert held(SUPERVISORS_GROUP) == SUPERVISOR_PERMISSIONS
    assert members(SUPERVISORS_GROUP) == {supervisor_user.username}
    assert members(SPECIALISTS_GROUP) == {specialist_user.username}


def test_a_group_left_out_of_the_table_and_its_members_are_left_alone(supervisor_user):
    auditors = Group.objects.create(name="RST Auditors")
    auditors.permissions.add(Permission.objects.get(codename="view_referral"))
    auditors.user_set.add(supervisor_user)
    sync_staff_groups(table={SUPERVISORS_GROUP: SUPERVISOR_PERMISSIONS})
    assert held("RST Auditors") == {"referrals.view_referral"}
    assert members("RST Auditors") == {supervisor_user.username}


def test_migrate_takes_back_a_permission_granted_by_hand_and_restores_a_deleted_group():
    Group.objects.get(name=SUPERVISORS_GROUP).permissions.add(
        Permission.objects.get(codename="delete_referral")
    )
    Group.objects.get(name=SPECIALISTS_GROUP).delete()
    call_command("migrate", verbosity=0)
    assert held(SUPERVISORS_GROUP) == SUPERVISOR_PERMISSIONS
    assert held(SPECIALISTS_GROUP) == STAFF_GROUP_PERMISSIONS[SPECIALISTS_GROUP]


def test_a_misspelt_permission_in_the_table_stops_the_sync_and_changes_nothing():
    with pytest.raises(ImproperlyConfigured, match="'regions.view_regoin'"):
        sync_staff_groups(table={"RST Auditors": {"regions.view_regoin"}})
    with pytest.raises(ImproperlyConfigured, match="'region.view_region'"):
        sync_staff_groups(table={"RST Auditors": {"region.view_region"}})
    assert not Group.objects.filter(name="RST Auditors").exists()


@pytest.mark.django_db(transaction=True)
def test_reversing_the_old_group_migrations_keeps_every_membership(reference_data):
    # Before the groups came from the sync, reversing 0002 deleted both groups and with
    # them everyone's membership.
    supervisor = UserFactory(username="samantha")
    supervisor.groups.add(Group.objects.get(name=SUPERVISORS_GROUP))
    executor = MigrationExecutor(connection)
    for name in ["0004_supervisors_see_task_results", "0002_staff_groups"]:
        migration = executor.loader.get_migration("referrals", name)
        state = executor.loader.project_state(("referrals", name), at_end=True)
        with connection.schema_editor(atomic=migration.atomic) as schema_editor:
            migration.unapply(state, schema_editor)
    assert members(SUPERVISORS_GROUP) == {"samantha"}
    assert held(SUPERVISORS_GROUP) == SUPERVISOR_PERMISSIONS
