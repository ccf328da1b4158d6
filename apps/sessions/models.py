from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from apps.sessions.origins import normalise_origin

_COLOUR = RegexValidator(r"^#[0-9a-fA-F]{6}$", "A colour is written #rrggbb.")
# A site's customers may all come through the shop's own proxy or one office network.
MAX_SITE_SESSIONS_PER_MINUTE = 10_000


def default_language() -> str:
    return settings.LANGUAGE_CODE


class Site(models.Model):
    """A shop website that embeds the chat (static/embed/embed.js with data-site=key)."""

    key = models.SlugField(max_length=64, unique=True, help_text="The embed's data-site value.")
    name = models.CharField(max_length=200)
    allowed_origins = models.TextField(
        help_text="The origins that may frame the chat, one per line (https://shop.example)."
    )
    default_language = models.CharField(
        max_length=8,
        choices=settings.LANGUAGES,
        default="he",
        help_text="The chat's language when the visitor's browser names neither.",
    )
    accent_colour = models.CharField(max_length=7, default="#0b5cad", validators=[_COLOUR])
    text_colour = models.CharField(max_length=7, default="#ffffff", validators=[_COLOUR])
    sessions_per_minute = models.PositiveIntegerField(
        default=300,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_SITE_SESSIONS_PER_MINUTE)],
        help_text="New chats a minute from this site, all its visitors together.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def origins(self) -> list[str]:
        """The allowed origins, normalised (clean() refused any line that is not one)."""
        found: list[str] = []
        for line in self.allowed_origins.split():
            try:
                found.append(normalise_origin(line))
            except ValueError:
                continue
        return found

    def clean(self) -> None:
        lines = self.allowed_origins.split()
        bad = []
        for line in lines:
            try:
                normalise_origin(line)
            except ValueError:
                bad.append(line)
        if bad or not lines:
            wrong = ", ".join(bad) or "none given"
            raise ValidationError(
                {"allowed_origins": f"One origin a line, scheme://host[:port]: {wrong}"}
            )


class ChatSession(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner_key = models.CharField(
        max_length=64, db_index=True, help_text="The Django session key that owns this chat."
    )
    product = models.ForeignKey(
        "products.Product",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The product in focus.",
    )
    language = models.CharField(
        max_length=8,
        choices=settings.LANGUAGES,
        default=default_language,
        help_text="The language the customer reads the chat in.",
    )
    site = models.ForeignKey(
        Site,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The shop website the chat was opened from, when embedded.",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    last_activity_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return str(self.id)


class Message(models.Model):
    class Role(models.TextChoices):
        QUESTION = "question", "Question"
        ANSWER = "answer", "Answer"
        # A reply a support agent wrote in the staff console.
        AGENT = "agent", "Agent reply"

    class State(models.TextChoices):
        ANSWERED = "answered", "Answered"
        NOT_IN_MANUAL = "not_in_manual", "Not in manual"
        NO_MANUAL = "no_manual", "No manual"
        NO_PRODUCT = "no_product", "No product"
        # The question went to a person instead of the manual (protocol 1.1).
        HANDED_OFF = "handed_off", "Handed to a person"

    session = models.ForeignKey(ChatSession, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=10, choices=Role.choices)
    text = models.TextField()
    product = models.ForeignKey(
        "products.Product", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    question = models.OneToOneField(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="answer",
        help_text="For an answer: the question it answers.",
    )
    state = models.CharField(max_length=16, choices=State.choices, blank=True, db_index=True)
    citations = models.JSONField(default=list, blank=True)
    engine = models.CharField(max_length=16, blank=True)
    first_delta_ms = models.PositiveIntegerField(null=True, blank=True)
    total_ms = models.PositiveIntegerField(null=True, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="For an agent reply: the agent who wrote it.",
    )
    client_key = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="The sender's id for this message: a resent reply is stored once.",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        # The content-gaps dashboard reads a window of one role (or state) at a time.
        indexes = [
            models.Index(fields=["role", "created_at", "session"], name="chat_msg_role_time"),
            models.Index(fields=["state", "created_at"], name="chat_msg_state_time"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "client_key"],
                condition=~Q(client_key=""),
                name="chat_message_client_key_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()}: {self.text[:60]}"


class Feedback(models.Model):
    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="feedback")
    rating = models.SmallIntegerField(choices=[(1, "Thumbs up"), (-1, "Thumbs down")])
    comment = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.rating:+d} on message {self.message_id}"


class Handoff(models.Model):
    """A customer's request for a person, from the request to its end.

    A session has at most one open handoff. Claiming is one conditional UPDATE
    (services.claim), so two agents on two processes cannot both win.
    """

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting for an agent"
        ACTIVE = "active", "With an agent"
        FOLLOW_UP = "follow_up", "Follow up by email or phone"
        RESOLVED = "resolved", "Closed"
        RETURNED = "returned", "Handed back to the bot"
        CANCELLED = "cancelled", "Cancelled by the customer"

    class Reason(models.TextChoices):
        ASKED = "asked", "The customer asked"
        NOT_IN_MANUAL = "not_in_manual", "Not in the manual"
        NO_MANUAL = "no_manual", "No manual"
        THUMBS_DOWN = "thumbs_down", "Thumbs down"
        UNANSWERED = "unanswered", "Unanswered questions"

    OPEN = (Status.WAITING, Status.ACTIVE, Status.FOLLOW_UP)

    session = models.ForeignKey(ChatSession, on_delete=models.CASCADE, related_name="handoffs")
    status = models.CharField(max_length=12, choices=Status.choices, db_index=True)
    reason = models.CharField(max_length=16, choices=Reason.choices, default=Reason.ASKED)
    product = models.ForeignKey(
        "products.Product", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    language = models.CharField(max_length=8, blank=True, default="")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="handoffs",
    )
    contact = models.CharField(
        max_length=254, blank=True, help_text="The email address or phone number left for us."
    )
    contact_kind = models.CharField(
        max_length=8, blank=True, choices=[("email", "Email"), ("phone", "Phone")]
    )
    note = models.TextField(blank=True, max_length=4000, help_text="What the customer asked.")
    live = models.BooleanField(
        default=True, help_text="Asked while agents were answering (wait times count only these)."
    )
    requested_at = models.DateTimeField(auto_now_add=True, db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    first_reply_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["requested_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["session"],
                condition=Q(status__in=["waiting", "active", "follow_up"]),
                name="chat_handoff_one_open_per_session",
            )
        ]
        permissions = [("answer_customers", "Can answer customers in the staff console")]

    def __str__(self) -> str:
        return f"Handoff {self.pk} ({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN

    def wait_seconds(self, now: datetime) -> float | None:
        """Seconds from the request to the claim (or to `now` while still waiting)."""
        end = self.claimed_at or (now if self.status == self.Status.WAITING else None)
        return (end - self.requested_at).total_seconds() if end else None


class OpeningHours(models.Model):
    """When agents answer live, in SUPPORT_TIME_ZONE. A weekday without a row is closed."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens = models.TimeField()
    closes = models.TimeField()

    class Meta:
        ordering = ["weekday", "opens"]
        verbose_name = "opening hours"
        verbose_name_plural = "opening hours"
        constraints = [
            models.CheckConstraint(
                condition=Q(closes__gt=models.F("opens")), name="chat_hours_close_after_open"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"


class ClosedDay(models.Model):
    """A date with no live support (a holiday), whatever the weekly hours say."""

    date = models.DateField(unique=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.note}".strip()


class AgentPresence(models.Model):
    """One open staff console socket. The console's heartbeat renews seen_at; a row whose
    process died without closing it stops counting once it is SUPPORT_AGENT_AWAY_SECONDS old."""

    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="support_presence"
    )
    channel_name = models.CharField(max_length=200, unique=True)
    seen_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.agent} seen {self.seen_at:%H:%M:%S}"


class QuestionVector(models.Model):
    """A question's embedding, computed once for the content-gaps clusters."""

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="vector")
    model = models.CharField(max_length=120)
    vector = models.BinaryField(help_text="float32, L2-normalised.")

    def __str__(self) -> str:
        return f"vector of message {self.message_id}"
