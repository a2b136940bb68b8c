"""Case referrals (requests for assistance) and their append-only history."""

import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

from regions.models import Jurisdiction, Region, ResourceSpecialist

from .validators import (
    CHILD_AGE_MAX,
    INITIALS_NOT_A_NAME,
    NCMEC_DIGITS_ONLY,
    CleanedCharField,
    CleanedTextField,
    clean_initials,
    validate_initials,
    validate_ncmec_case_number,
    validate_phone,
    validate_status_date,
    validate_summary_length,
)

CROCKFORD_BASE32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_PREFIX = "RST-"
REFERENCE_REGEX = r"RST-[0-9A-HJKMNP-TV-Z]{8}"


def new_reference() -> str:
    """A random, non-sequential reference such as RST-7K2M9QXA."""
    return REFERENCE_PREFIX + "".join(secrets.choice(CROCKFORD_BASE32) for _ in range(8))


class Service(models.Model):
    """One of the services a referral can ask RST for."""

    number = models.PositiveSmallIntegerField(unique=True)
    name = models.CharField(max_length=200, unique=True)

    class Meta:
        ordering = ["number"]

    def __str__(self):
        return self.name


def open_q(prefix: str = "") -> models.Q:
    """The rule for an open referral: not closed. `prefix` reaches it through a relation."""
    return ~models.Q(**{f"{prefix}status": Referral.Status.CLOSED})


def overdue_q(*, now, prefix: str = "") -> models.Q:
    """The rule for an overdue referral: still new (no first contact) after it was due."""
    return models.Q(
        **{f"{prefix}status": Referral.Status.NEW, f"{prefix}first_contact_due_at__lt": now}
    )


def intake_q(prefix: str = "") -> models.Q:
    """The rule for supervisor intake: open, and no specialist has it."""
    return open_q(prefix) & models.Q(**{f"{prefix}assigned_specialist__isnull": True})


class ReferralQuerySet(models.QuerySet):
    def open(self):
        return self.filter(open_q())

    def overdue(self, *, now=None):
        """Referrals still waiting for first contact after it was due."""
        return self.filter(overdue_q(now=now or timezone.now()))

    def supervisor_intake(self):
        return self.filter(intake_q())

    def with_receipt_status(self):
        """Annotate `receipt_status`: the referrer's receipt e-mail's Notification.Status.

        "pending" (queued or being tried), "sent", "failed", "skipped" (e.g. the
        per-address limit), or None if no receipt was ever queued. In the same query,
        for the confirmation page.
        """
        receipt = Notification.objects.filter(
            referral=models.OuterRef("pk"), kind=Notification.Kind.RECEIPT
        ).order_by("-created_at")
        return self.annotate(receipt_status=models.Subquery(receipt.values("status")[:1]))


class Referral(models.Model):
    class ReferrerRole(models.TextChoices):
        CHILD_WELFARE = "child_welfare", "Child welfare professional"
        FOSTER_PARENT = "foster_parent", "Foster parent"
        LAW_ENFORCEMENT = "law_enforcement", "Law enforcement"
        OTHER = "other", "Other child-serving professional"

    class ChildStatus(models.TextChoices):
        MISSING = "missing", "Missing from care"
        RECOVERED = "recovered", "Recovered or returned to care"
        AT_RISK = "at_risk", "In care and at risk"

    class LawEnforcement(models.TextChoices):
        YES = "yes", "Yes"
        NO = "no", "No"
        UNKNOWN = "unknown", "Unknown"

    class Urgency(models.TextChoices):
        ROUTINE = "routine", "Routine"
        URGENT = "urgent", "Urgent"

    class Status(models.TextChoices):
        NEW = "new", "New"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        IN_PROGRESS = "in_progress", "In progress"
        CLOSED = "closed", "Closed"

    class Outcome(models.TextChoices):
        RECOVERY_PLAN = "recovery_plan", "Recovery plan supported"
        CONNECTED = "connected", "Connected to resources"
        TRAINING = "training", "Training/protocol support given"
        REFERRED_ELSEWHERE = "referred_elsewhere", "Referred elsewhere"
        UNREACHABLE = "unreachable", "Unable to reach the referrer"
        OUT_OF_SCOPE = "out_of_scope", "Not within RST scope"
        # Only by confirming a possible duplicate (referrals/duplicates.py).
        DUPLICATE = "duplicate", "Duplicate of another referral"

    reference = models.CharField(max_length=12, unique=True, editable=False)

    # About the referrer.
    referrer_name = CleanedCharField("referrer name", max_length=120)
    referrer_role = models.CharField("referrer role", max_length=20, choices=ReferrerRole.choices)
    agency = CleanedCharField(max_length=200)
    referrer_email = models.EmailField("referrer e-mail")
    referrer_phone = CleanedCharField("referrer phone", max_length=30, validators=[validate_phone])

    # The case.
    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="referrals"
    )
    county = CleanedCharField(max_length=100, blank=True)
    child_initials = CleanedCharField(
        max_length=3,
        cleaner=clean_initials,
        validators=[validate_initials],
        error_messages={"max_length": INITIALS_NOT_A_NAME},
        help_text="2 or 3 letters, never a name.",
    )
    # Required on the form (blank=False); empty only once redacted (referrals/retention.py).
    child_age = models.PositiveSmallIntegerField(
        null=True, validators=[MaxValueValidator(CHILD_AGE_MAX)]
    )
    child_status = models.CharField(max_length=12, choices=ChildStatus.choices)
    status_date = models.DateField(
        validators=[validate_status_date],
        help_text="When the child went missing, or was recovered or returned to care.",
    )
    ncmec_case_number = CleanedCharField(
        "NCMEC case number",
        max_length=12,
        blank=True,
        validators=[validate_ncmec_case_number],
        error_messages={"max_length": NCMEC_DIGITS_ONLY},
    )
    law_enforcement_involved = models.CharField(max_length=8, choices=LawEnforcement.choices)

    # The request.
    services = models.ManyToManyField(Service, related_name="referrals")
    urgency = models.CharField(max_length=8, choices=Urgency.choices)
    summary = CleanedTextField(validators=[validate_summary_length])
    consent_at = models.DateTimeField(help_text="When the referrer gave consent.")
    # The signed form token this referral came from: a double submit finds it again.
    submission_token = models.CharField(max_length=64, unique=True, editable=False)

    # Routing and lifecycle.
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, null=True, blank=True, related_name="referrals"
    )
    assigned_specialist = models.ForeignKey(
        ResourceSpecialist,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="referrals",
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    routing_reason = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.NEW)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    closing_note = models.TextField(blank=True)
    submitted_at = models.DateTimeField(default=timezone.now, db_index=True)
    first_contact_due_at = models.DateTimeField()
    first_contacted_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The queue's first sort key (referrals/selectors.py): awaiting first contact (0),
    # contacted and still open (1), closed (2). Stored, so the queue's indexes below hold
    # it instead of the database computing it for every row.
    queue_stage = models.GeneratedField(
        expression=models.Case(
            models.When(status="new", then=models.Value(0)),
            models.When(status="closed", then=models.Value(2)),
            default=models.Value(1),
        ),
        output_field=models.PositiveSmallIntegerField(),
        db_persist=True,
    )
    # When the retention period removed the child's and the referrer's details.
    redacted_at = models.DateTimeField(null=True, blank=True)
    # The referrer sent a follow-up the assigned specialist has not opened yet.
    has_new_information = models.BooleanField("new information", default=False)

    # Supervisor review of the assignment.
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    review_note = models.TextField(blank=True)

    objects = ReferralQuerySet.as_manager()

    class Meta:
        ordering = ["-submitted_at"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="closed") | ~models.Q(outcome=""),
                name="referral_closed_has_outcome",
            ),
            models.CheckConstraint(
                condition=models.Q(status="closed") | models.Q(outcome=""),
                name="referral_open_has_no_outcome",
            ),
            models.CheckConstraint(
                condition=models.Q(child_age__lte=21), name="referral_child_age_0_21"
            ),
            # Routing and assigning by hand both give a region with a specialist.
            models.CheckConstraint(
                condition=models.Q(assigned_specialist__isnull=True)
                | models.Q(region__isnull=False),
                name="referral_assigned_has_region",
            ),
            models.CheckConstraint(
                condition=models.Q(reference__regex=r"^" + REFERENCE_REGEX + r"$"),
                name="referral_reference_format",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "region"], name="referral_status_region"),
            models.Index(fields=["assigned_specialist", "status"], name="referral_spec_status"),
            models.Index(fields=["status", "first_contact_due_at"], name="referral_status_due"),
            # The queue (referrals/selectors.py) reads its order from these, in queue
            # order (stage, due time, id): per region (a specialist's queue), across
            # regions (the supervisors'), per specialist ("assigned to me"). A filter on
            # the stage (and the due time: overdue) is a range of the index; the included
            # status lets the status filters run on the index alone.
            models.Index(
                fields=["region", "queue_stage", "first_contact_due_at", "id"],
                include=["status"],
                name="referral_queue_region",
            ),
            models.Index(
                fields=["queue_stage", "first_contact_due_at", "id"],
                include=["status"],
                name="referral_queue_all",
            ),
            models.Index(
                fields=["assigned_specialist", "queue_stage", "first_contact_due_at", "id"],
                include=["status"],
                name="referral_queue_spec",
            ),
            # A specialist's own cases outside their region (usually none), found as two
            # ranges of region beside theirs: exact, whatever the database's estimate.
            models.Index(
                fields=["assigned_specialist", "region", "queue_stage"],
                name="referral_spec_region",
            ),
            # Possible duplicates (referrals/duplicates.py), looked for on every submission:
            # open referrals of a state with the same initials, and with the same NCMEC
            # case number (most have none: those are left out of the index).
            models.Index(
                fields=["jurisdiction", "child_initials", "submitted_at"],
                condition=~models.Q(status="closed"),
                name="referral_dup_initials",
            ),
            models.Index(
                fields=["ncmec_case_number", "submitted_at"],
                condition=~models.Q(status="closed") & ~models.Q(ncmec_case_number=""),
                name="referral_dup_ncmec",
            ),
        ]

    def __str__(self):
        return self.reference

    def get_absolute_url(self):
        return reverse("referrals:detail", kwargs={"reference": self.reference})

    # The same rules as open_q() and overdue_q(), for one referral in hand.
    @property
    def is_open(self):
        return self.status != self.Status.CLOSED

    def is_overdue(self, *, now=None):
        return self.status == self.Status.NEW and self.first_contact_due_at < (
            now or timezone.now()
        )

    @property
    def is_urgent(self):
        return self.urgency == self.Urgency.URGENT

    @property
    def awaits_first_contact(self):
        return self.status == self.Status.NEW

    # The referrer's receipt, as annotated by ReferralQuerySet.with_receipt_status().
    @property
    def receipt_sent(self):
        return self.receipt_status == Notification.Status.SENT

    @property
    def receipt_on_its_way(self):
        return self.receipt_status in (Notification.Status.SENT, Notification.Status.PENDING)


class ReferralEvent(models.Model):
    """One thing that happened to a referral. Written by services, never changed."""

    class Kind(models.TextChoices):
        SUBMITTED = "submitted", "Submitted"
        ROUTED = "routed", "Routed"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        NOTE = "note", "Note"
        CONTACT = "contact", "Contact attempt"
        STARTED = "started", "Moved to in progress"
        CLOSED = "closed", "Closed"
        REOPENED = "reopened", "Reopened"
        TRANSFERRED = "transferred", "Transferred"
        REASSIGNED = "reassigned", "Reassigned"
        REVIEWED = "reviewed", "Assignment reviewed"
        REDACTED = "redacted", "Details redacted (retention period)"
        RESOURCES_SHARED = "resources", "Resources shared"
        # Deadlines (referrals/reminders.py): e-mails the worker sent about this referral.
        DUE_SOON = "due_soon", "First contact due soon: specialist reminded"
        ESCALATED = "escalated", "First contact overdue: supervisor told"
        # The referrer's status link and follow-ups (referrals/status_links.py).
        FOLLOW_UP = "follow_up", "Follow-up from the referrer"
        LINK_ISSUED = "link_issued", "Status link sent to the referrer"
        LINK_REVOKED = "link_revoked", "Status links revoked"
        # Possible duplicates (referrals/duplicates.py); `related_referral` is the other one.
        DUPLICATE_FLAGGED = "dup_flagged", "Possible duplicate found"
        DUPLICATE_CONFIRMED = "dup_confirmed", "Duplicate confirmed"
        DUPLICATE_DISMISSED = "dup_dismissed", "Not a duplicate"

    class ContactMethod(models.TextChoices):
        PHONE = "phone", "Phone"
        EMAIL = "email", "E-mail"
        MEETING = "meeting", "Meeting"

    class ContactOutcome(models.TextChoices):
        REACHED = "reached", "Reached"
        LEFT_MESSAGE = "left_message", "Left a message"
        NO_ANSWER = "no_answer", "No answer"

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=14, choices=Kind.choices)
    created_at = models.DateTimeField(default=timezone.now)
    # Empty for the public submitter and for automatic routing.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    message = models.TextField(blank=True)
    # Where the referral stood after this event (routing history).
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    specialist = models.ForeignKey(
        ResourceSpecialist, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    contact_method = models.CharField(max_length=8, choices=ContactMethod.choices, blank=True)
    contact_date = models.DateField(null=True, blank=True)
    contact_outcome = models.CharField(max_length=12, choices=ContactOutcome.choices, blank=True)
    # Acknowledge: when the first contact was made (the specialist says; not in the future).
    contacted_at = models.DateTimeField(null=True, blank=True)
    # The one-time token of the action form this event came from: the same form posted
    # again (a double click, a resend) finds this event instead of acting twice.
    action_token = models.CharField(max_length=64, null=True, blank=True, unique=True)
    # Possible duplicates: the other referral of the pair.
    related_referral = models.ForeignKey(
        "Referral", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # "Resources shared": what was passed on, as the directory described it then
    # (contacts.selectors.shared_resource): names, phones, websites; never child data.
    resources = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["referral", "created_at"], name="event_referral_time")]

    def __str__(self):
        return self.get_kind_display()

    @property
    def actor_label(self):
        if self.actor is None:
            from_referrer = self.kind in (self.Kind.SUBMITTED, self.Kind.FOLLOW_UP)
            return "Referrer" if from_referrer else "System"
        return self.actor.get_full_name() or self.actor.get_username()


class NotificationQuerySet(models.QuerySet):
    def failed(self):
        return self.filter(status=Notification.Status.FAILED)

    def receipt_for(self, referral: Referral) -> "Notification | None":
        """The referrer's receipt for this referral (None for referrals made without one)."""
        return self.filter(referral=referral, kind=Notification.Kind.RECEIPT).first()

    def receipts_to(self, address_hash: str, *, since):
        """Receipts counted against an address's hourly limit (skipped ones were never sent)."""
        return self.filter(
            kind=Notification.Kind.RECEIPT, recipient_hash=address_hash, created_at__gte=since
        ).exclude(status=Notification.Status.SKIPPED)


class Notification(models.Model):
    """One e-mail the portal owes someone about a referral: the outbox's ledger.

    Written in the same transaction as the referral change that calls for it, updated
    by the task that sends it (referrals/tasks.py), and never deleted: a notice ends
    sent, failed (the supervisor sees it and can resend it) or skipped (with the reason).
    """

    class Kind(models.TextChoices):
        ASSIGNED = "assigned", "Assigned to a Resource Specialist"
        INTAKE = "intake", "Waiting in supervisor intake"
        RECEIPT = "receipt", "Receipt to the referrer"
        DUE_SOON = "due_soon", "First contact due soon (to the specialist)"
        OVERDUE = "overdue", "First contact overdue (to the supervisors)"
        # To the assigned specialist, or the intake mailbox if nobody has the referral.
        FOLLOW_UP = "follow_up", "Follow-up from the referrer"
        FOLLOW_UP_CLOSED = "follow_up_closed", "Follow-up on a closed referral (to the supervisors)"
        STATUS_LINK = "status_link", "New status link to the referrer"

    # Kinds addressed to one specialist (`specialist` set), and those that may be.
    SPECIALIST_KINDS = (Kind.ASSIGNED, Kind.DUE_SOON)

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Not sent"

    # Task priorities (django-tasks: higher runs first): urgent cases first, and within
    # an urgency the staff who act on the case before the referrer's copy.
    URGENT_PRIORITY = 50
    STAFF_PRIORITY_BONUS = 1

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="notifications")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # Who an "assigned" notice is for: if the case has moved on by the time it is sent,
    # it is skipped (the new assignee has their own notice).
    specialist = models.ForeignKey(
        ResourceSpecialist, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    priority = models.SmallIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Why the latest attempt failed: codes and the server's words with addresses removed.
    last_error = models.CharField(max_length=300, blank=True)
    skip_reason = models.CharField(max_length=200, blank=True)
    # Receipts only: keyed hash of the lower-cased address, for the per-address limit.
    recipient_hash = models.CharField(max_length=64, blank=True, editable=False)
    # Names the one task allowed to send this notice; a retry or resend replaces it, so
    # a superseded task (say, one re-queued after its worker died) does nothing.
    task_token = models.CharField(max_length=32, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    resends = models.PositiveSmallIntegerField(default=0)
    resent_at = models.DateTimeField(null=True, blank=True)
    resent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "e-mail notice"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["assigned", "due_soon"], specialist__isnull=False)
                | models.Q(kind="follow_up")
                | (
                    ~models.Q(kind__in=["assigned", "due_soon", "follow_up"])
                    & models.Q(specialist__isnull=True)
                ),
                name="notification_specialist_for_specialist_kinds",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="sent") | models.Q(sent_at__isnull=False),
                name="notification_sent_has_time",
            ),
        ]
        indexes = [
            models.Index(
                fields=["recipient_hash", "created_at"],
                condition=models.Q(kind="receipt"),
                name="notification_receipt_rate",
            ),
            models.Index(fields=["status", "created_at"], name="notification_status_time"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.referral.reference}"

    @classmethod
    def priority_for(cls, *, urgency: str, kind: str) -> int:
        priority = cls.URGENT_PRIORITY if urgency == Referral.Urgency.URGENT else 0
        if kind != cls.Kind.RECEIPT:
            priority += cls.STAFF_PRIORITY_BONUS
        return priority

    @property
    def is_sent(self) -> bool:
        return self.status == self.Status.SENT

    @property
    def is_on_its_way(self) -> bool:
        """Sent, or queued and being tried (what a confirmation page may promise)."""
        return self.status in (self.Status.SENT, self.Status.PENDING)

    @property
    def recipient_label(self) -> str:
        """Who it is for, without the address (the admin's lists show this)."""
        if self.specialist_id:
            return self.specialist.name
        if self.kind in (self.Kind.RECEIPT, self.Kind.STATUS_LINK):
            return "The referrer"
        return "RST supervisors and team mailbox"


class ReferralAccess(models.Model):
    """One read of case data by a staff member: the access audit. Append-only.

    Written by referrals/audit.py for each view of a referral's page or admin page and
    for each export (one row per export, with its row count); never the case details.
    """

    class Kind(models.TextChoices):
        PAGE = "page", "Referral page"
        ADMIN = "admin", "Admin page"
        EXPORT = "export", "Workload export"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # Empty for an export, which covers many referrals (see row_count).
    referral = models.ForeignKey(
        Referral, on_delete=models.PROTECT, null=True, blank=True, related_name="accesses"
    )
    row_count = models.PositiveIntegerField("rows", null=True, blank=True)
    ip_address = models.GenericIPAddressField("from address", null=True, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = "referral access"
        verbose_name_plural = "access log"
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(kind="export") & models.Q(referral__isnull=True))
                | (~models.Q(kind="export") & models.Q(referral__isnull=False)),
                name="referralaccess_referral_unless_export",
            ),
        ]
        indexes = [models.Index(fields=["referral", "at"], name="access_referral_time")]

    def __str__(self):
        what = self.referral.reference if self.referral_id else f"{self.row_count} rows"
        return f"{self.get_kind_display()}: {what} by {self.user} at {self.at:%Y-%m-%d %H:%M}"


class DailyDigest(models.Model):
    """The supervisors' daily digest of overdue and intake referrals: one row per day.

    The row is the digest's idempotency key: the task that sends it creates the row for its
    day first (a unique day), so two workers, or a task run twice, send it once.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    day = models.DateField(unique=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    overdue_count = models.PositiveIntegerField(default=0)
    intake_count = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-day"]
        verbose_name = "daily digest"

    def __str__(self):
        return f"Digest of {self.day:%Y-%m-%d}"


class StatusLink(models.Model):
    """A referrer's private link to their referral's status page (referrals/status_links.py).

    Only the SHA-256 of the token is stored: the token itself exists in the link the
    referrer was given and nowhere else. A link works until `expires_at`, unless revoked.
    """

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="status_links")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "status link"

    def __str__(self):
        return f"Status link for {self.referral.reference}"

    def is_usable(self, *, now=None) -> bool:
        return self.revoked_at is None and (now or timezone.now()) < self.expires_at


class PossibleDuplicate(models.Model):
    """Two open referrals that may be about the same child (referrals/duplicates.py).

    `referral` is the newer one, `duplicate_of` the older. Confirming closes the newer one
    as a duplicate of the older; dismissing keeps both and the pair is never flagged again.
    """

    class Reason(models.TextChoices):
        INITIALS_AGE = "initials_age", "Same jurisdiction, initials and age (±1 year)"
        NCMEC_CASE = "ncmec_case", "Same NCMEC case number"

    class Status(models.TextChoices):
        OPEN = "open", "To review"
        CONFIRMED = "confirmed", "Confirmed duplicate"
        DISMISSED = "dismissed", "Not a duplicate"

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="duplicate_flags")
    duplicate_of = models.ForeignKey(
        Referral, on_delete=models.PROTECT, related_name="duplicated_by_flags"
    )
    reason = models.CharField(max_length=14, choices=Reason.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    found_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-found_at", "-pk"]
        verbose_name = "possible duplicate"
        constraints = [
            models.UniqueConstraint(
                fields=["referral", "duplicate_of"], name="possibleduplicate_pair_once"
            ),
            models.CheckConstraint(
                condition=~models.Q(referral=models.F("duplicate_of")),
                name="possibleduplicate_two_referrals",
            ),
        ]
        indexes = [
            models.Index(
                fields=["status", "found_at"],
                condition=models.Q(status="open"),
                name="possibleduplicate_open",
            ),
        ]

    def __str__(self):
        return f"{self.referral.reference} may duplicate {self.duplicate_of.reference}"
