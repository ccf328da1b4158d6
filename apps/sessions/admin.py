"""Staff views of chat sessions: read-only transcripts with their feedback.

Nothing here edits a conversation. The owner's Django session key is never shown: it is a
credential for that customer's chat.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from django.contrib import admin
from django.contrib.postgres.aggregates import StringAgg
from django.db.models import CharField, Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Cast
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from apps.products.models import Product
from apps.sessions import embed
from apps.sessions.models import ChatSession, Feedback, Message, Site
from hscjit.admin_display import short_time

# What staff type to find a conversation by the id the list shows (its first 8 characters).
_ID_START = re.compile(r"[0-9a-f][0-9a-f-]{3,35}")
_OPENING_CHARS = 60


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AnswerStateFilter(admin.SimpleListFilter):
    title = "answer state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(Message.State.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() not in Message.State.values:
            return queryset
        answers = Message.objects.filter(
            session=OuterRef("pk"), role=Message.Role.ANSWER, state=self.value()
        )
        return queryset.filter(Exists(answers))


class RatingFilter(admin.SimpleListFilter):
    title = "feedback"
    parameter_name = "rating"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("1", "Thumbs up"), ("-1", "Thumbs down"), ("none", "No feedback")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        rated = Feedback.objects.filter(message__session=OuterRef("pk"))
        if self.value() in {"1", "-1"}:
            return queryset.filter(Exists(rated.filter(rating=int(self.value()))))
        if self.value() == "none":
            return queryset.filter(~Exists(rated))
        return queryset


class ConversationFilter(admin.SimpleListFilter):
    """Every `GET /chat/` makes a session; those nobody wrote in are hidden unless asked for."""

    title = _("messages")
    parameter_name = "messages"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("empty", _("Empty only")), ("all", _("All, empty ones too"))]

    def choices(self, changelist: Any) -> Iterator[dict[str, Any]]:
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": _("With messages"),
        }
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        written = Exists(Message.objects.filter(session=OuterRef("pk")))
        if self.value() == "all":
            return queryset
        if self.value() == "empty":
            return queryset.filter(~written)
        return queryset.filter(written)


class ProductFilter(admin.SimpleListFilter):
    """The product in focus or any product a question was answered about."""

    title = "product"
    parameter_name = "product"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        used = Product.objects.filter(
            Q(pk__in=ChatSession.objects.exclude(product=None).values("product"))
            | Q(pk__in=Message.objects.exclude(product=None).values("product"))
        ).order_by("name")
        return [(str(pk), name) for pk, name in used.values_list("pk", "name")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if not (self.value() or "").isdigit():
            return queryset
        product = int(self.value())
        about = Message.objects.filter(session=OuterRef("pk"), product=product)
        return queryset.filter(Q(product=product) | Exists(about))


@admin.register(ChatSession)
class ChatSessionAdmin(ReadOnlyAdmin):
    list_display = (
        "conversation",
        "started",
        "last_active",
        "first_question",
        "products",
        "lang",
        "questions",
        "thumbs_up",
        "thumbs_down",
    )
    list_filter = (
        ConversationFilter,
        "created_at",
        AnswerStateFilter,
        RatingFilter,
        ProductFilter,
        "language",
    )
    list_select_related = ("product",)
    date_hierarchy = "created_at"
    search_fields = (
        "=id",
        "product__name",
        "product__catalog_id",
        "messages__text",
        "handoffs__contact",
    )
    search_help_text = (
        "A conversation's id (its first characters, as the list shows them), a product, "
        "words of a message, or the email or phone a customer left."
    )
    fields = (
        "id",
        "product",
        "language",
        "created_at",
        "last_activity_at",
        "requests_for_a_person",
        "transcript",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .annotate(
                question_count=Count(
                    "messages", filter=Q(messages__role=Message.Role.QUESTION), distinct=True
                ),
                up_count=Count("messages__feedback", filter=Q(messages__feedback__rating=1)),
                down_count=Count("messages__feedback", filter=Q(messages__feedback__rating=-1)),
                asked_about=StringAgg("messages__product__name", ", ", distinct=True),
                opening=Subquery(
                    Message.objects.filter(session=OuterRef("pk"), role=Message.Role.QUESTION)
                    .order_by("created_at", "pk")
                    .values("text")[:1]
                ),
            )
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        found, may_repeat = super().get_search_results(request, queryset, search_term)
        term = search_term.strip().lower()
        if _ID_START.fullmatch(term):
            started = ChatSession.objects.annotate(text_id=Cast("id", CharField())).filter(
                text_id__startswith=term
            )
            found = found | queryset.filter(pk__in=started.values("pk"))
        return found, may_repeat

    # A code keeps the column narrow; the filter and the detail page name the language.
    @admin.display(description="Lang", ordering="language")
    def lang(self, obj: ChatSession) -> str:
        return obj.language.upper()

    @admin.display(description="First question")
    def first_question(self, obj: ChatSession) -> str:
        text = " ".join((obj.opening or "").split())
        return text if len(text) <= _OPENING_CHARS else f"{text[: _OPENING_CHARS - 1]}…"

    @admin.display(description="Conversation", ordering="created_at")
    def conversation(self, obj: ChatSession) -> str:
        return str(obj.pk)[:8]

    # Short dates and headers keep every column in view beside the filters.
    @admin.display(description="Started", ordering="created_at")
    def started(self, obj: ChatSession) -> str:
        return short_time(obj.created_at)

    @admin.display(description="Last active", ordering="last_activity_at")
    def last_active(self, obj: ChatSession) -> str:
        return short_time(obj.last_activity_at)

    # A conversation can go from one product to another; the focus is only the last of them.
    @admin.display(description="Products")
    def products(self, obj: ChatSession) -> str:
        return obj.asked_about or (obj.product.name if obj.product else "-")

    @admin.display(description="Questions", ordering="question_count")
    def questions(self, obj: ChatSession) -> int:
        return obj.question_count

    @admin.display(description="Up", ordering="up_count")
    def thumbs_up(self, obj: ChatSession) -> int:
        return obj.up_count

    @admin.display(description="Down", ordering="down_count")
    def thumbs_down(self, obj: ChatSession) -> int:
        return obj.down_count

    @admin.display(description="Requests for a person")
    def requests_for_a_person(self, obj: ChatSession) -> SafeString | str:
        handoffs = obj.handoffs.order_by("requested_at")
        if not handoffs:
            return "none"
        return format_html_join(
            mark_safe("<br>"),
            '<a href="{}">{}</a>, {}: {}',
            (
                (
                    reverse("admin:chat_handoff_change", args=[handoff.pk]),
                    short_time(handoff.requested_at),
                    handoff.get_status_display(),
                    handoff.contact or "no contact left",
                )
                for handoff in handoffs
            ),
        )

    @admin.display(description="Transcript")
    def transcript(self, obj: ChatSession) -> SafeString:
        messages = (
            obj.messages.select_related("product", "feedback").order_by("created_at", "id").all()
        )
        # The template autoescapes every field: questions, answers and snippets are user data.
        return render_to_string("chat/admin_transcript.html", {"messages": messages})


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "session_link", "role", "excerpt", "state", "engine", "product")
    list_filter = ("role", "state", "engine", "created_at", "feedback__rating")
    list_select_related = ("product", "session")
    date_hierarchy = "created_at"
    search_fields = ("text", "=session__id")
    fields = (
        "session_link",
        "role",
        "text",
        "question",
        "product",
        "state",
        "citations",
        "engine",
        "first_delta_ms",
        "total_ms",
        "created_at",
    )
    readonly_fields = fields

    @admin.display(description="Text")
    def excerpt(self, obj: Message) -> str:
        return obj.text if len(obj.text) <= 80 else obj.text[:79] + "…"

    @admin.display(description="Conversation", ordering="session")
    def session_link(self, obj: Message) -> str:
        url = reverse("admin:chat_chatsession_change", args=[obj.session_id])
        return format_html('<a href="{}">{}</a>', url, str(obj.session_id)[:8])


@admin.register(Feedback)
class FeedbackAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "rating", "comment", "answer_link")
    list_filter = ("rating", "created_at")
    list_select_related = ("message",)
    date_hierarchy = "created_at"
    search_fields = ("comment", "message__text")
    fields = ("answer_link", "rating", "comment", "created_at", "updated_at")
    readonly_fields = fields

    @admin.display(description="Conversation")
    def answer_link(self, obj: Feedback) -> str:
        url = reverse("admin:chat_chatsession_change", args=[obj.message.session_id])
        return format_html(
            '<a href="{}#transcript-message-{}">{}</a>', url, obj.message_id, obj.message
        )


# Live support (handoffs, opening hours) has an admin module of its own.
from apps.sessions import support_admin  # noqa: E402, F401


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    """Shop websites that embed the chat: `<script src="https://<host>/embed.js"
    data-site="<key>">` on their pages."""

    list_display = ["name", "key", "default_language", "sessions_per_minute", "is_active"]
    list_filter = ["is_active", "default_language"]
    search_fields = ["name", "key", "allowed_origins"]

    def save_model(self, request: HttpRequest, obj: Site, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        # This process reads the new origins at once; the others within ORIGINS_TTL_SECONDS.
        embed.forget_site_origins()
