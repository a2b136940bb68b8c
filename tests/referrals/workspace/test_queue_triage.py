"""The queue as a triage list: what each row says, its order, counts that filter, the
columns that appear only when rows differ, and a fixed cost."""

import random
import re
from datetime import timedelta
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import StaffProfile
from referrals.models import Service
from referrals.templatetags.queue_tags import short_label
from regions.models import Jurisdiction, ResourceSpecialist
from tests.clock import eastern, freeze
from tests.factories import ReferralFactory, SpecialistFactory
from tests.helpers import as_user
from tests.referrals.workspace.plans import seed_queue_for_plans

pytestmark = pytest.mark.usefixtures("reference_data")

# A Wednesday with no holiday near it, mid-morning at the office (Eastern).
WEDNESDAY_11AM = eastern(2026, 12, 2, 11, 0)


def texas(**kwargs):
    return ReferralFactory(jurisdiction=Jurisdiction.objects.get(code="TX"), **kwargs)


def listed(response):
    return [r.reference for r in response.context["page"].object_list]


def table_rows(html: str) -> dict[str, str]:
    """The wide screen table's rows by reference, as text (tags dropped)."""
    table = html[html.index('<table class="table align-middle rst-queue">') :]
    table = table[: table.index("</table>")]
    rows = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, flags=re.S)[1:]:
        text = " ".join(unescape(re.sub(r"<[^>]+>", " ", row)).split())
        rows[re.search(r"RST-\w{8}", text).group()] = text
    return rows


def header(html: str) -> list[str]:
    head = html[html.index("<thead>") : html.index("</thead>")]
    return re.findall(r'<th scope="col">([^<]+)</th>', head)


def count_links(html: str) -> dict[str, str]:
    """The counts above the queue: their text ("New 2") → the link's address."""
    counts = html[html.index('aria-label="Counts') :]
    counts = counts[: counts.index("</ul>")]
    return {
        " ".join(unescape(re.sub(r"<[^>]+>", " ", text)).split()): unescape(href)
        for href, text in re.findall(r'<a class="rst-count" href="([^"]+)"[^>]*>(.*?)</a>', counts)
    }


# What a row says.


def test_rows_say_time_left_in_business_time_and_every_time_has_its_zone(
    specialist_user, monkeypatch
):
    now = freeze(monkeypatch, WEDNESDAY_11AM)
    due_this_afternoon = ReferralFactory(
        submitted_at=now - timedelta(hours=5), first_contact_due_at=eastern(2026, 12, 2, 14, 0)
    )
    # Due Monday 11:00: two business days (16 office hours) have gone by since.
    overdue = ReferralFactory(
        submitted_at=eastern(2026, 11, 27, 11, 0), first_contact_due_at=eastern(2026, 11, 30, 11)
    )
    contacted = ReferralFactory(
        status="acknowledged",
        first_contacted_at=eastern(2026, 12, 1, 9, 30),
        first_contact_due_at=eastern(2026, 12, 1, 17, 0),
    )
    rows = table_rows(as_user(specialist_user).get("/queue/").content.decode())

    assert "due in 3 h" in rows[due_this_afternoon.reference]
    assert "due Dec 2, 2:00 PM EST" in rows[due_this_afternoon.reference]
    assert "overdue by 2 days" in rows[overdue.reference]
    assert "due Nov 30, 11:00 AM EST" in rows[overdue.reference]
    assert "contacted Dec 1, 9:30 AM EST" in rows[contacted.reference]
    assert "due in" not in rows[contacted.reference]


def test_the_overdue_marker_says_when_first_contact_was_due_with_its_zone(
    specialist_user, monkeypatch
):
    freeze(monkeypatch, WEDNESDAY_11AM)
    referral = ReferralFactory(first_contact_due_at=eastern(2026, 11, 30, 11, 0))
    html = as_user(specialist_user).get(referral.get_absolute_url()).content.decode()
    assert 'title="First contact was due Nov 30, 11:00 AM EST">Overdue</span>' in html


def test_times_are_in_the_staff_members_own_zone(specialist_user, monkeypatch):
    freeze(monkeypatch, WEDNESDAY_11AM)
    StaffProfile.objects.create(user=specialist_user, time_zone="America/Chicago")
    referral = ReferralFactory(first_contact_due_at=eastern(2026, 12, 2, 14, 0))
    rows = table_rows(as_user(specialist_user).get("/queue/").content.decode())
    assert "due Dec 2, 1:00 PM CST" in rows[referral.reference]


def test_rows_show_urgency_the_child_services_and_state(specialist_user):
    services = Service.objects.filter(number__in=[2, 3])
    urgent = ReferralFactory(urgency="urgent", child_status="at_risk", child_age=9)
    urgent.services.set(services)
    routine = ReferralFactory(child_status="missing", child_age=15)
    routine.services.set(Service.objects.filter(number=6))
    html = as_user(specialist_user).get("/queue/").content.decode()
    rows = table_rows(html)

    assert "Urgent" in rows[urgent.reference] and "At risk, age 9" in rows[urgent.reference]
    assert "Recovery plan" in rows[urgent.reference]
    assert "Connect to organizations" in rows[urgent.reference]
    assert "MN" in rows[urgent.reference]
    assert "Routine" in rows[routine.reference] and "Missing, age 15" in rows[routine.reference]
    assert "Multidisciplinary support" in rows[routine.reference]
    # The short label names the full service for whoever hovers it.
    full_name = Service.objects.get(number=2).name
    assert f'title="{full_name}">Recovery plan<' in html
    assert header(html) == [
        "Reference",
        "First contact",
        "Status, urgency",
        "Child",
        "Services",
        "State",
    ]


def test_a_service_outside_the_catalogue_is_named_by_the_start_of_its_name():
    assert short_label(Service(number=99, name="Peer support for caregivers")) == "Peer support"
    assert short_label(Service(number=98, name="Court advocacy")) == "Court advocacy"


def test_new_information_is_marked_on_the_row(specialist_user):
    told = ReferralFactory(has_new_information=True)
    quiet = ReferralFactory()
    rows = table_rows(as_user(specialist_user).get("/queue/").content.decode())
    assert "New information" in rows[told.reference]
    assert "New information" not in rows[quiet.reference]


# Order.


def test_overdue_first_then_by_due_time_then_the_contacted_ones(specialist_user, monkeypatch):
    now = freeze(monkeypatch, WEDNESDAY_11AM)
    routine_due_tomorrow = ReferralFactory(
        submitted_at=now - timedelta(hours=1), first_contact_due_at=now + timedelta(days=1)
    )
    # Sent after the routine one, but urgent: due sooner, so it comes first.
    urgent_due_soon = ReferralFactory(
        urgency="urgent",
        submitted_at=now - timedelta(minutes=10),
        first_contact_due_at=now + timedelta(hours=4),
    )
    overdue_an_hour = ReferralFactory(first_contact_due_at=now - timedelta(hours=1))
    overdue_a_day = ReferralFactory(first_contact_due_at=now - timedelta(days=1))
    in_progress_old = ReferralFactory(
        status="in_progress",
        first_contacted_at=now - timedelta(days=8),
        first_contact_due_at=now - timedelta(days=9),
    )
    acknowledged = ReferralFactory(
        status="acknowledged",
        first_contacted_at=now - timedelta(days=1),
        first_contact_due_at=now - timedelta(hours=2),
    )
    response = as_user(specialist_user).get("/queue/")
    assert listed(response) == [
        overdue_a_day.reference,
        overdue_an_hour.reference,
        urgent_due_soon.reference,
        routine_due_tomorrow.reference,
        in_progress_old.reference,
        acknowledged.reference,
    ]


def test_closed_referrals_come_last_newest_first(specialist_user, monkeypatch):
    now = freeze(monkeypatch, WEDNESDAY_11AM)
    older_closed = ReferralFactory(
        status="closed", outcome="training", first_contact_due_at=now - timedelta(days=30)
    )
    newer_closed = ReferralFactory(
        status="closed", outcome="connected", first_contact_due_at=now - timedelta(days=3)
    )
    waiting = ReferralFactory(first_contact_due_at=now + timedelta(hours=5))
    client = as_user(specialist_user)
    assert listed(client.get("/queue/?status=closed")) == [
        newer_closed.reference,
        older_closed.reference,
    ]
    assert listed(client.get("/queue/?status=all")) == [
        waiting.reference,
        newer_closed.reference,
        older_closed.reference,
    ]


def test_every_page_keeps_overdue_first_and_due_order(supervisor_user):
    """Across pages and regions, the queue is the referrals sorted by the rule itself."""
    rng = random.Random(11)
    now = timezone.now()
    for _ in range(40):
        status = rng.choice(["new", "new", "new", "acknowledged", "in_progress"])
        ReferralFactory(
            jurisdiction=Jurisdiction.objects.get(code=rng.choice(["MN", "TX", "CA"])),
            urgency=rng.choice(["routine", "urgent"]),
            status=status,
            first_contacted_at=None if status == "new" else now,
            first_contact_due_at=now + timedelta(minutes=rng.randint(-5000, 5000)),
        )
    client = as_user(supervisor_user)
    seen, number = [], 1
    while True:
        page = client.get(f"/queue/?page={number}").context["page"]
        seen += page.object_list
        if not page.has_next:
            break
        number += 1
    assert len(seen) == 40
    waiting = [r for r in seen if r.status == "new"]
    contacted = [r for r in seen if r.status != "new"]
    assert seen == waiting + contacted
    overdue = [r for r in waiting if r.first_contact_due_at < now]
    assert waiting[: len(overdue)] == overdue  # overdue first
    for run in (waiting, contacted):
        dues = [r.first_contact_due_at for r in run]
        assert dues == sorted(dues)


# Counts that filter.


def test_status_and_overdue_counts_are_links_to_what_they_count(specialist_user):
    now = timezone.now()
    overdue = ReferralFactory(first_contact_due_at=now - timedelta(hours=3))
    waiting = ReferralFactory(first_contact_due_at=now + timedelta(hours=3))
    acknowledged = ReferralFactory(status="acknowledged", first_contacted_at=now)
    in_progress = ReferralFactory(status="in_progress", first_contacted_at=now)
    closed = ReferralFactory(status="closed", outcome="training")
    texas()  # another region: neither counted nor listed
    client = as_user(specialist_user)
    links = count_links(client.get("/queue/").content.decode())

    expected = {
        "New 2": {overdue.reference, waiting.reference},
        "Acknowledged 1": {acknowledged.reference},
        "In progress 1": {in_progress.reference},
        "Closed 1": {closed.reference},
        "Overdue 1": {overdue.reference},
    }
    assert set(links) == set(expected)
    for text, references in expected.items():
        response = client.get("/queue/" + links[text])
        assert set(listed(response)) == references, text
        # The followed link is the current one; the form shows the filter it applied.
        assert count_links_current(response.content.decode()) == [text]
    overdue_page = client.get("/queue/" + links["Overdue 1"]).content.decode()
    assert 'name="overdue" class="form-check-input" id="id_overdue" checked' in overdue_page


def count_links_current(html: str) -> list[str]:
    counts = html[html.index('aria-label="Counts') :]
    counts = counts[: counts.index("</ul>")]
    return [
        " ".join(re.sub(r"<[^>]+>", " ", text).split())
        for text in re.findall(r'aria-current="page">(.*?)</a>', counts)
    ]


def test_the_supervisor_intake_count_lists_the_intake(supervisor_user):
    intake = ReferralFactory(assigned_specialist=None)
    ReferralFactory()
    client = as_user(supervisor_user)
    links = count_links(client.get("/queue/").content.decode())
    assert listed(client.get("/queue/" + links["Supervisor intake 1"])) == [intake.reference]


# Region and specialist columns: only where the rows differ.


def test_a_specialists_own_queue_does_not_repeat_region_and_name_on_every_row(specialist_user):
    ReferralFactory.create_batch(4)  # Minnesota: Region 3, Stacy's
    html = as_user(specialist_user).get("/queue/").content.decode()
    assert "Region" not in header(html) and "Specialist" not in header(html)
    assert len(table_rows(html)) == 4
    for row in table_rows(html).values():
        assert "Stacy Schultz" not in row and "Region 3" not in row
    # Said once, in the heading.
    assert page_text_of(html).count("Stacy Schultz") == 1


def page_text_of(html: str) -> str:
    main = html[html.index('<main id="main"') : html.index("</main>")]
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", main)).split())


def test_a_colleagues_cases_in_the_region_show_the_specialist_column(specialist_user):
    stacy = specialist_user.resource_specialist
    colleague = SpecialistFactory(region=stacy.region)
    mine = ReferralFactory(assigned_specialist=stacy)
    theirs = ReferralFactory(assigned_specialist=colleague)
    html = as_user(specialist_user).get("/queue/").content.decode()
    assert header(html)[-1] == "Specialist" and "Region" not in header(html)
    rows = table_rows(html)
    assert rows[mine.reference].endswith("Stacy Schultz")
    assert rows[theirs.reference].endswith(colleague.name)


def test_the_supervisors_all_regions_view_shows_region_and_specialist(supervisor_user):
    minnesota = ReferralFactory()
    texas_case = texas()
    intake = ReferralFactory(
        assigned_specialist=None, jurisdiction=Jurisdiction.objects.get(code="CA")
    )
    html = as_user(supervisor_user).get("/queue/").content.decode()
    assert header(html)[-2:] == ["Region", "Specialist"]
    rows = table_rows(html)
    assert rows[minnesota.reference].endswith("Region 3 Stacy Schultz")
    kyla = ResourceSpecialist.objects.get(region__number=4).name
    assert rows[texas_case.reference].endswith(f"Region 4 {kyla}")
    assert rows[intake.reference].endswith("Region 5 Supervisor intake")


def test_a_supervisor_page_from_one_region_names_it_once(supervisor_user):
    ReferralFactory.create_batch(3)
    html = as_user(supervisor_user).get("/queue/").content.decode()
    assert "Region" not in header(html) and "Specialist" not in header(html)
    assert "Every referral on this page: Region 3 · Stacy Schultz." in page_text_of(html)


# Cost.


@pytest.mark.parametrize(
    "role,path",
    [
        ("specialist", "/queue/"),
        ("specialist", "/queue/?status=all"),
        ("specialist", "/queue/?overdue=on"),
        ("supervisor", "/queue/"),
        ("supervisor", "/queue/?status=closed"),
    ],
)
def test_the_queue_page_costs_the_same_with_more_referrals_and_services(
    role, path, specialist_user, supervisor_user, django_assert_num_queries
):
    client = as_user(specialist_user if role == "specialist" else supervisor_user)
    every_service = list(Service.objects.all())
    now = timezone.now()

    def make(count):
        for n in range(count):
            referral = ReferralFactory(
                status="closed" if n % 4 == 3 else "new",
                outcome="training" if n % 4 == 3 else "",
                first_contact_due_at=now + timedelta(hours=n - count // 2),
            )
            referral.services.set(every_service[: 1 + n % 6])

    make(4)
    client.get(path)  # the session and the counts above the queue are warm from here on
    with CaptureQueriesContext(connection) as few:
        shown_before = len(listed(client.get(path)))
    make(40)
    with django_assert_num_queries(len(few)):
        response = client.get(path)
    assert 0 < shown_before < len(listed(response))


# On PostgreSQL: every filter reads the queue from an index.


def explain(sql) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="Query plans are PostgreSQL's; CI runs this on PostgreSQL (RST_REQUIRE_POSTGRES=1).",
)
@pytest.mark.parametrize(
    "role,path",
    [
        ("specialist", "/queue/?status=all"),
        ("specialist", "/queue/?status=closed"),
        ("specialist", "/queue/?overdue=on"),
        ("specialist", "/queue/?status=acknowledged"),
        ("supervisor", "/queue/?status=new"),
        ("supervisor", "/queue/?overdue=on"),
    ],
)
def test_every_filter_reads_an_index_not_the_referral_table(
    role, path, specialist_user, supervisor_user, settings
):
    settings.RST_QUEUE_MAX_PAGES = 8
    seed_queue_for_plans(seed=5)

    client = as_user(specialist_user if role == "specialist" else supervisor_user)
    client.get(path)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    on_referrals = [q for q in queries.captured_queries if '"referrals_referral"' in q["sql"]]
    assert len(on_referrals) >= 3
    for query in on_referrals:
        plan = explain(query["sql"])
        assert "Seq Scan on referrals_referral" not in plan, plan
        assert "Index" in plan, plan
