"""The actions on a referral's page as a busy specialist uses them: once per form, refused
on the field and at the referral's own address, notes never cut, first contact recorded."""

import re
import threading
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import dateformat, timezone

from accounts.models import StaffProfile
from referrals import services
from referrals.models import Referral, ReferralEvent
from tests.concurrency import wait_until_waiting
from tests.contacts.factories import ServiceFactory
from tests.factories import ReferralFactory, SpecialistFactory
from tests.helpers import as_user, page_text

pytestmark = pytest.mark.usefixtures("reference_data")


def minute(moment) -> str:
    """A time as the page's datetime-local input sends it, in the active zone."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def post(client, referral, action, data, *, token=None, follow=True):
    token = token or services.new_action_token()
    return client.post(
        f"/queue/{referral.reference}/{action}/", {**data, "action_token": token}, follow=follow
    )


def success_messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"] if m.level_tag == "success"]


def kinds(referral) -> list[str]:
    return list(ReferralEvent.objects.filter(referral=referral).values_list("kind", flat=True))


# Each action: (who acts, how to make the referral it needs, what the form sends, the
# event it writes, where the page lands afterwards).
ACTIONS = {
    "acknowledge": (
        "specialist",
        lambda user: ReferralFactory(submitted_at=timezone.now() - timedelta(hours=2)),
        lambda: {"method": "phone", "contacted_at": minute(timezone.now())},
        "acknowledged",
        "referral",
    ),
    "start": (
        "specialist",
        lambda user: ReferralFactory(status="acknowledged", first_contacted_at=timezone.now()),
        dict,
        "started",
        "referral",
    ),
    "note": (
        "specialist",
        lambda user: ReferralFactory(),
        lambda: {"text": "Spoke with the caseworker."},
        "note",
        "referral",
    ),
    "contact": (
        "specialist",
        lambda user: ReferralFactory(),
        lambda: {
            "method": "email",
            "outcome": "left_message",
            "contact_date": timezone.localdate().isoformat(),
            "text": "Sent the intake questions.",
        },
        "contact",
        "referral",
    ),
    "close": (
        "specialist",
        lambda user: ReferralFactory(),
        lambda: {"outcome": "connected", "note": "Linked to the local advocacy center."},
        "closed",
        "referral",
    ),
    "transfer": (
        "specialist",
        lambda user: ReferralFactory(),
        lambda: {"jurisdiction": "AZ", "reason": "The child moved to Phoenix."},
        "transferred",
        "queue",  # Arizona is Region 4: the referral leaves Stacy's queue.
    ),
    "take_over": (
        "specialist",
        lambda user: ReferralFactory(
            assigned_specialist=SpecialistFactory(region=user.resource_specialist.region)
        ),
        dict,
        "reassigned",
        "referral",
    ),
    "reopen": (
        "supervisor",
        lambda user: ReferralFactory(status="closed", outcome="training"),
        lambda: {"reason": "The referrer sent new information."},
        "reopened",
        "referral",
    ),
    "share_resources": (
        "specialist",
        lambda user: ReferralFactory(),
        lambda: {"resources": [ServiceFactory(areas=["MN"]).pk], "note": "Sent by e-mail."},
        "resources",
        "referral",
    ),
}


# One-time tokens.


@pytest.mark.parametrize("action", ACTIONS)
def test_the_same_form_posted_twice_acts_once_and_lands_on_the_same_success(
    action, specialist_user, supervisor_user
):
    role, make, data, kind, lands = ACTIONS[action]
    user = specialist_user if role == "specialist" else supervisor_user
    referral = make(user)
    client = as_user(user)
    form = data()
    token = services.new_action_token()

    first = post(client, referral, action, form, token=token)
    second = post(client, referral, action, form, token=token)

    assert kinds(referral).count(kind) == 1
    expected = "/queue/" if lands == "queue" else referral.get_absolute_url()
    for response in (first, second):
        assert response.status_code == 200
        assert response.redirect_chain[-1][0] == expected
        assert [str(m) for m in response.context["messages"]] == success_messages(first)
    assert success_messages(first)
    assert ReferralEvent.objects.filter(action_token=token).count() == 1


def test_a_transfer_posted_again_after_it_left_the_queue_is_not_a_404(specialist_user):
    referral = ReferralFactory()
    client = as_user(specialist_user)
    token = services.new_action_token()
    form = {"jurisdiction": "TX", "reason": "Moved to Houston."}
    post(client, referral, "transfer", form, token=token)
    assert client.get(referral.get_absolute_url()).status_code == 404  # no longer hers

    again = post(client, referral, "transfer", form, token=token)
    assert again.redirect_chain == [("/queue/", 302)]
    text = page_text(again)
    assert "Transferred to Texas (TX)" in text and "It is no longer in your queue." in text
    assert "No referral with that reference" not in text
    assert kinds(referral) == ["transferred"]


def test_a_transfer_form_resent_days_later_says_nothing_of_where_the_case_is_now(
    specialist_user, settings
):
    referral = ReferralFactory()
    client = as_user(specialist_user)
    token = services.new_action_token()
    form = {"jurisdiction": "TX", "reason": "Moved to Houston."}
    post(client, referral, "transfer", form, token=token)
    days_later = timezone.now() - timedelta(hours=settings.RST_FORM_TOKEN_MAX_AGE_HOURS + 1)
    ReferralEvent.objects.filter(action_token=token).update(created_at=days_later)

    again = post(client, referral, "transfer", form, token=token)
    text = page_text(again)
    assert "Transferred to Texas" not in text and "Region 4" not in text
    assert kinds(referral) == ["transferred"]


def test_a_new_form_acts_again(specialist_user):
    referral = ReferralFactory()
    client = as_user(specialist_user)
    post(client, referral, "note", {"text": "First call."})
    post(client, referral, "note", {"text": "Second call."})
    assert kinds(referral) == ["note", "note"]


def test_a_token_is_not_lent_to_another_referral_or_person(specialist_user, supervisor_user):
    first, other = ReferralFactory(), ReferralFactory()
    token = services.new_action_token()
    services.referral_add_note(
        referral=first, actor=specialist_user, text="Called.", action_token=token
    )
    for referral, actor in ((other, specialist_user), (first, supervisor_user)):
        with pytest.raises(ValidationError) as refused:
            services.referral_add_note(
                referral=referral, actor=actor, text="Called.", action_token=token
            )
        assert refused.value.messages == [services.ACTION_TOKEN_USED]
    # Nor to another action on the same referral.
    with pytest.raises(ValidationError, match="already used for another action"):
        services.referral_acknowledge(
            referral=first, actor=specialist_user, method="phone", action_token=token
        )
    assert kinds(first) == ["note"] and kinds(other) == []


def test_the_second_post_is_not_refused_by_the_status_the_first_one_set(specialist_user):
    """Under the row lock the token is checked before the lifecycle: no red 400."""
    referral = ReferralFactory()
    token = services.new_action_token()
    for _ in range(2):
        result = services.referral_close(
            referral=referral,
            actor=specialist_user,
            outcome="connected",
            note="Done.",
            action_token=token,
        )
        assert result.status == "closed"
    assert kinds(referral) == ["closed"]


def test_without_row_locks_the_unique_token_still_lets_one_in(specialist_user, monkeypatch):
    """Where the second post does not see the first's event (no row locks), the token's
    unique constraint refuses its insert and it lands on the first one's result."""
    referral = ReferralFactory()
    token = services.new_action_token()
    services.referral_add_note(
        referral=referral, actor=specialist_user, text="Called.", action_token=token
    )
    monkeypatch.setattr(services, "_check_action_token", lambda *args, **kwargs: None)
    again = services.referral_add_note(
        referral=referral, actor=specialist_user, text="Called.", action_token=token
    )
    assert again.pk == referral.pk
    assert kinds(referral) == ["note"]


def test_a_mangled_token_changes_nothing(specialist_user):
    referral = ReferralFactory()
    response = post(as_user(specialist_user), referral, "note", {"text": "Hi"}, token="x' OR 1=1")
    assert "This page was out of date" in page_text(response)
    assert kinds(referral) == []


def test_every_action_form_on_the_page_carries_a_fresh_token(specialist_user):
    referral = ReferralFactory()
    client = as_user(specialist_user)
    html = client.get(referral.get_absolute_url()).content.decode()
    forms = re.findall(r'<form method="post" [^>]*action="/queue/RST-[^"]+/([a-z_]+)/"', html)
    tokens = re.findall(r'name="action_token" value="([^"]+)"', html)
    assert set(forms) >= {"acknowledge", "note", "contact", "close", "transfer"}
    assert len(tokens) == len(forms) == len(set(tokens))
    again = client.get(referral.get_absolute_url()).content.decode()
    assert set(re.findall(r'name="action_token" value="([^"]+)"', again)).isdisjoint(tokens)


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="Needs PostgreSQL's row locks and two connections; CI runs it on PostgreSQL "
    "(RST_REQUIRE_POSTGRES=1 makes a non-PostgreSQL CI run fail).",
)
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("action", ["acknowledge", "note", "close", "transfer"])
def test_two_posts_of_one_form_at_once_act_once(action, specialist_user):
    _, make, data, kind, lands = ACTIONS[action]
    referral = make(specialist_user)
    form = {**data(), "action_token": services.new_action_token()}
    url = f"/queue/{referral.reference}/{action}/"
    clients = [as_user(specialist_user), as_user(specialist_user)]
    responses = {}

    def send(client):
        try:
            responses[client] = client.post(url, form)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(client,)) for client in clients]
    # Hold the row so that both posts pass the view's checks and queue at the lock.
    with transaction.atomic():
        Referral.objects.select_for_update().get(pk=referral.pk)
        for number, thread in enumerate(threads, start=1):
            thread.start()
            wait_until_waiting(number, what="the post")
    for thread in threads:
        thread.join(timeout=30)

    assert kinds(referral).count(kind) == 1
    expected = "/queue/" if lands == "queue" else referral.get_absolute_url()
    assert [r["Location"] for r in responses.values()] == [expected, expected]
    # Both land on the success, neither on a refusal ("Only a new referral…").
    pages = [client.get(expected) for client in clients]
    shown = [[(m.level_tag, str(m)) for m in page.context["messages"]] for page in pages]
    assert shown[0] == shown[1] and [level for level, _ in shown[0]] == ["success"]


# Post/redirect/get: a refused action comes back at the referral's own address.


def test_a_refused_form_comes_back_at_the_referrals_address_with_errors_on_fields(
    specialist_user,
):
    referral = ReferralFactory()
    client = as_user(specialist_user)
    response = post(
        client, referral, "close", {"outcome": "", "note": "Half-written note"}, follow=False
    )
    assert response.status_code == 302
    assert response["Location"] == referral.get_absolute_url()

    page = client.get(referral.get_absolute_url())
    html = page.content.decode()
    # On its field (linked to it), the form open, what was typed kept.
    assert re.search(
        r'<select name="outcome"[^>]*aria-invalid="true"[^>]*'
        r'aria-describedby="id_close_outcome_error"',
        html,
    ), "the outcome's error is not on its field"
    assert re.search(r'id="id_close_outcome_error"[^>]*>.*?Choose the outcome', html, re.S)
    assert re.search(r'id="action-close" open', html)
    assert "Half-written note" in html
    assert "data-rst-refused" in html

    # Once: a reload shows the referral as it is, and nothing asks to send a form again.
    reload = client.get(referral.get_absolute_url()).content.decode()
    assert "Half-written note" not in reload and "Choose the outcome the referral" not in reload
    assert Referral.objects.get(pk=referral.pk).status == "new"


def test_what_the_service_refuses_about_a_field_is_shown_on_that_field(specialist_user):
    referral = ReferralFactory()
    client = as_user(specialist_user)
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    form = {"method": "phone", "outcome": "reached", "contact_date": tomorrow, "text": "Call"}
    html = post(client, referral, "contact", form).content.decode()
    assert re.search(
        r'id="id_contact_contact_date_error"[^>]*>.*?' + re.escape(services.CONTACT_DATE_IN_FUTURE),
        html,
        re.S,
    )
    assert "Not saved: correct the marked field below." in html
    assert kinds(referral) == []


def test_a_refusal_about_the_whole_referral_is_said_at_the_top(specialist_user):
    referral = ReferralFactory(status="closed", outcome="training")
    response = post(as_user(specialist_user), referral, "note", {"text": " "})
    assert services.NOTE_EMPTY in page_text(response)
    started = ReferralFactory()  # new: cannot move to in progress before first contact
    response = post(as_user(specialist_user), started, "start", {})
    assert response.redirect_chain[-1][0].startswith(started.get_absolute_url())
    assert "Only an acknowledged referral can move to in progress" in page_text(response)


def test_the_kept_form_is_for_its_own_referral_only(specialist_user):
    refused, other = ReferralFactory(), ReferralFactory()
    client = as_user(specialist_user)
    post(client, refused, "note", {"text": "x" * 5001}, follow=False)
    assert "x" * 5001 not in client.get(other.get_absolute_url()).content.decode()


# Notes: counted, refused (never cut) when too long.


def test_a_note_too_long_is_refused_with_its_count_and_kept_in_the_box(specialist_user):
    referral = ReferralFactory()
    pasted = "Timeline from the caseworker. " * 216 + "The end."  # 6,488 characters
    response = post(as_user(specialist_user), referral, "note", {"text": pasted})
    html = response.content.decode()
    assert f"Keep this to 5,000 characters (it has {len(pasted):,})." in html
    assert pasted.strip() in html  # the whole text, in the box, to shorten
    assert "Note added." not in html
    assert kinds(referral) == []


def test_the_note_box_counts_instead_of_cutting(specialist_user):
    referral = ReferralFactory()
    html = as_user(specialist_user).get(referral.get_absolute_url()).content.decode()
    box = re.search(r'<textarea name="text"[^>]*id="id_note_text"[^>]*>', html).group(0)
    assert "maxlength" not in box
    assert 'data-rst-limit="5000"' in box
    assert "Up to 5,000 characters." in html
    assert "js/workspace.js" in html  # the live count


def test_line_breaks_count_once_as_the_browser_counts_them(specialist_user):
    referral = ReferralFactory()
    lines = ["x" * 99] * 50  # 50 lines of 99 characters: 5,000 with the 49 line breaks
    text = "\r\n".join(lines) + "y"
    assert len(text.replace("\r\n", "\n")) == 5000
    response = post(as_user(specialist_user), referral, "note", {"text": text})
    assert "Note added." in page_text(response)
    assert referral.events.get().message == text.replace("\r\n", "\n")


# First contact: how and when.


def test_acknowledge_records_how_and_when_first_contact_was_made(specialist_user):
    referral = ReferralFactory(submitted_at=timezone.now() - timedelta(hours=5))
    StaffProfile.objects.create(user=specialist_user, time_zone="America/Chicago")
    client = as_user(specialist_user)
    two_hours_ago = timezone.now() - timedelta(hours=2)
    with timezone.override("America/Chicago"):
        sent = minute(two_hours_ago)
        central = timezone.localtime(two_hours_ago)
    response = post(client, referral, "acknowledge", {"method": "meeting", "contacted_at": sent})

    referral.refresh_from_db()
    assert referral.status == "acknowledged"
    # The time typed is the specialist's own (Central), to the minute.
    assert referral.first_contacted_at == central.replace(second=0, microsecond=0)
    event = referral.events.get()
    assert (event.kind, event.contact_method, event.contacted_at) == (
        "acknowledged",
        "meeting",
        referral.first_contacted_at,
    )
    zone = central.strftime("%Z")  # CST or CDT
    text = page_text(response)
    assert f"first contact by meeting, {dateformat.format(central, 'M j, Y g:i A')} {zone}" in text


@pytest.mark.parametrize(
    "when, message",
    [
        (timedelta(hours=1), services.CONTACT_TIME_IN_FUTURE),
        (-timedelta(hours=3), "First contact cannot be before the referral was sent"),
    ],
)
def test_acknowledge_refuses_a_time_in_the_future_or_before_submission(
    when, message, specialist_user
):
    referral = ReferralFactory(submitted_at=timezone.now() - timedelta(hours=2))
    html = post(
        as_user(specialist_user),
        referral,
        "acknowledge",
        {"method": "phone", "contacted_at": minute(timezone.now() + when)},
    ).content.decode()
    assert re.search(r'id="id_acknowledge_contacted_at_error"[^>]*>.*?' + message, html, re.S)
    assert Referral.objects.get(pk=referral.pk).status == "new"
    assert kinds(referral) == []


def test_acknowledge_in_the_minute_of_submission_is_not_before_it(specialist_user):
    referral = ReferralFactory()
    post(
        as_user(specialist_user),
        referral,
        "acknowledge",
        {"method": "email", "contacted_at": minute(referral.submitted_at)},
    )
    referral.refresh_from_db()
    assert referral.first_contacted_at == referral.submitted_at


def test_acknowledge_needs_the_method(specialist_user):
    referral = ReferralFactory()
    html = post(
        as_user(specialist_user),
        referral,
        "acknowledge",
        {"contacted_at": minute(timezone.now())},
    ).content.decode()
    assert re.search(
        r'id="id_acknowledge_method_error"[^>]*>.*?' + services.CONTACT_NEEDS_METHOD, html, re.S
    )
    assert kinds(referral) == []


def test_the_acknowledge_form_defaults_to_now_in_the_readers_zone(specialist_user):
    StaffProfile.objects.create(user=specialist_user, time_zone="Pacific/Guam")
    referral = ReferralFactory()
    html = as_user(specialist_user).get(referral.get_absolute_url()).content.decode()
    shown = re.search(r'name="contacted_at" value="([^"]+)"', html).group(1)
    with timezone.override("Pacific/Guam"):
        now = timezone.now()
        assert shown in {minute(now), minute(now - timedelta(minutes=1))}
    assert "Your time (ChST)" in html


def test_a_contact_attempt_on_guams_today_is_not_in_the_future(specialist_user):
    """ "Today" is the staff member's: Guam's date is often New York's tomorrow."""
    StaffProfile.objects.create(user=specialist_user, time_zone="Pacific/Guam")
    referral = ReferralFactory()
    with timezone.override("Pacific/Guam"):
        guam_today = timezone.localdate()
    response = post(
        as_user(specialist_user),
        referral,
        "contact",
        {"method": "phone", "outcome": "no_answer", "contact_date": guam_today.isoformat()},
    )
    assert "Contact attempt recorded." in page_text(response)
    event = referral.events.get()
    assert (event.contact_date, event.contact_outcome) == (guam_today, "no_answer")
    assert "Contact attempt (Phone," in page_text(response)
    assert ": no answer)" in page_text(response)


def test_a_contact_attempt_needs_its_outcome(specialist_user):
    referral = ReferralFactory()
    form = {"method": "phone", "contact_date": timezone.localdate().isoformat()}
    html = post(as_user(specialist_user), referral, "contact", form).content.decode()
    assert re.search(
        r'id="id_contact_outcome_error"[^>]*>.*?' + services.CONTACT_NEEDS_OUTCOME, html, re.S
    )
    assert kinds(referral) == []


# Close and transfer offer only what a person may choose.


def test_close_does_not_offer_the_duplicate_outcome(specialist_user):
    referral = ReferralFactory()
    client = as_user(specialist_user)
    html = client.get(referral.get_absolute_url()).content.decode()
    close_select = re.search(r'<select name="outcome".*?</select>', html, re.S).group(0)
    assert 'value="connected"' in close_select
    assert 'value="duplicate"' not in close_select
    post(client, referral, "close", {"outcome": "duplicate", "note": "Same child."})
    assert Referral.objects.get(pk=referral.pk).status == "new"


def test_transfer_lists_the_other_jurisdictions_with_their_regions(specialist_user):
    referral = ReferralFactory()  # Minnesota
    html = as_user(specialist_user).get(referral.get_absolute_url()).content.decode()
    select = re.search(r'<select name="jurisdiction".*?</select>', html, re.S).group(0)
    assert "Ohio (OH) — Region 3" in select
    assert "Arizona (AZ) — Region 4" in select
    assert "Guam (GU) — Region 5" in select
    assert 'value="MN"' not in select
    assert len(re.findall(r'<option value="[A-Z]{2}"', select)) == 55
    assert "the referral leaves your queue and goes to that region" in html
    assert 'data-own-region="3"' in html


def test_the_transfer_form_shows_a_change_to_the_region_mapping_at_once(specialist_user):
    from regions.models import Jurisdiction, Region

    referral = ReferralFactory()  # Minnesota
    client = as_user(specialist_user)
    client.get(referral.get_absolute_url())  # the blank form is now kept
    Jurisdiction.objects.filter(code="OH").update(region=Region.objects.get(number=4))
    html = client.get(referral.get_absolute_url()).content.decode()
    select = re.search(r'<select name="jurisdiction".*?</select>', html, re.S).group(0)
    assert "Ohio (OH) — Region 4" in select and "Ohio (OH) — Region 3" not in select
    Region.objects.filter(number=4).update(name="Renamed")
    html = client.get(referral.get_absolute_url()).content.decode()
    assert 'data-region-label="Region 4 – Renamed"' in html


def test_each_action_form_carries_its_own_token_on_every_view(specialist_user):
    referral = ReferralFactory()
    client = as_user(specialist_user)
    pattern = r'name="action_token" value="([^"]+)"'
    first = re.findall(pattern, client.get(referral.get_absolute_url()).content.decode())
    second = re.findall(pattern, client.get(referral.get_absolute_url()).content.decode())
    assert len(first) >= 6
    assert len(set(first + second)) == len(first) + len(second)


def test_a_transfer_to_the_current_jurisdiction_is_refused_on_the_field(specialist_user):
    referral = ReferralFactory()
    html = post(
        as_user(specialist_user), referral, "transfer", {"jurisdiction": "MN", "reason": "x"}
    ).content.decode()
    assert re.search(
        r'id="id_transfer_jurisdiction_error"[^>]*>.*?other than the current', html, re.S
    )
    assert kinds(referral) == []


# The page itself.


def test_the_actions_come_before_the_details(specialist_user):
    html = as_user(specialist_user).get(ReferralFactory().get_absolute_url()).content.decode()
    assert (
        html.index('id="h-actions"')
        < html.index('id="h-assignment"')
        < html.index('id="h-history"')
    )
    assert "order-lg-last" in html  # on wide screens the actions sit on the right


def test_every_staff_time_on_the_page_says_its_zone(specialist_user, supervisor_user):
    referral = ReferralFactory(
        status="acknowledged",
        first_contacted_at=timezone.now(),
        first_contact_due_at=timezone.now() + timedelta(hours=3),
    )
    services.referral_add_note(referral=referral, actor=specialist_user, text="Called.")
    html = as_user(supervisor_user).get(referral.get_absolute_url()).content.decode()
    times = re.findall(r"\b[A-Z][a-z]{2} \d{1,2}, \d{4} \d{1,2}:\d{2} [AP]M(?: [A-Z]{2,5})?", html)
    assert times, "no times on the page"
    zone = timezone.localtime().strftime("%Z")
    assert all(t.endswith(f" {zone}") for t in times), times


@pytest.mark.parametrize("role", ["specialist", "supervisor"])
def test_the_referral_pages_query_count_is_fixed(
    role, specialist_user, supervisor_user, django_assert_num_queries
):
    user = specialist_user if role == "specialist" else supervisor_user
    client = as_user(user)
    referral = ReferralFactory()
    services.referral_add_note(referral=referral, actor=specialist_user, text="first")
    client.get(referral.get_absolute_url())  # warm the session
    with CaptureQueriesContext(connection) as few:
        client.get(referral.get_absolute_url())
    few_count = len(few)  # now: the next request starts a new query log
    for number in range(40):
        services.referral_add_note(referral=referral, actor=specialist_user, text=f"n{number}")
        services.referral_record_contact(
            referral=referral,
            actor=specialist_user,
            method="phone",
            outcome="reached",
            contact_date=timezone.localdate(),
        )
    ReferralFactory.create_batch(10)
    with django_assert_num_queries(few_count):
        response = client.get(referral.get_absolute_url())
    assert page_text(response).count("Contact attempt (Phone") == 40


def test_a_refused_form_costs_no_more_queries_than_its_own(
    specialist_user, django_assert_max_num_queries
):
    referral = ReferralFactory()
    client = as_user(specialist_user)
    client.get(referral.get_absolute_url())
    with CaptureQueriesContext(connection) as plain:
        client.get(referral.get_absolute_url())
    plain_count = len(plain)  # now: the next request starts a new query log
    post(client, referral, "transfer", {"jurisdiction": "", "reason": ""}, follow=False)
    # The kept form comes with the session, which is saved without it: one write more
    # (in a savepoint, within the test's transaction).
    with django_assert_max_num_queries(plain_count + 3):
        html = client.get(referral.get_absolute_url()).content.decode()
    assert "Choose the state or territory the case is now in." in html
