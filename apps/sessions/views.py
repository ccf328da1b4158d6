"""The chat pages: the home page, start a conversation, show one."""

from __future__ import annotations

import json
import uuid
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.contrib import messages as django_messages
from django.contrib.staticfiles import finders
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.utils.translation.trans_real import parse_accept_lang_header
from django.views.decorators.http import require_GET, require_POST

from apps.manuals.selectors import products_with_documents
from apps.products.prediction import get_index as prediction_index
from apps.sessions import answering, embed, protocol, ratelimit, selectors, services, texts
from apps.sessions.forms import AskForm, FeedbackForm
from apps.sessions.handoff import services as handoff_services
from apps.sessions.handoff.events import publish_after_commit
from apps.sessions.models import ChatSession, Message, Site


def _session_key(request: HttpRequest) -> str:
    # A first visit has no key until the session is saved once.
    if request.session.session_key is None:
        request.session.save()
    return str(request.session.session_key)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    context = {
        "products": products_with_documents(),
        # Only this browser's (its session cookie's) own conversations.
        "conversations": selectors.recent_conversations(owner_key=request.session.session_key),
    }
    return render(request, "home.html", context)


@require_GET
def chat_start(request: HttpRequest) -> HttpResponse:
    if not ratelimit.allow_address(kind="sessions", address=ratelimit.request_address(request)):
        return _too_many(request)
    # A link's `lang` (a shop's Hebrew page links to `/chat/?lang=he`), else what
    # LocaleMiddleware chose: the language switch's cookie, else Accept-Language.
    asked = request.GET.get("lang", "")
    language = asked if asked in services.LANGUAGE_CODES else translation.get_language()
    session = services.create_session(owner_key=_session_key(request), language=language)
    return redirect("chat:page", session_id=session.pk)


def _too_many(request: HttpRequest) -> HttpResponse:
    wait = ratelimit.retry_after()
    response = render(request, "chat/too_many.html", {"retry_after": wait}, status=429)
    response["Retry-After"] = str(wait)
    return response


def _unavailable(request: HttpRequest) -> HttpResponse:
    # The same page for a session that does not exist and for one of another browser: a
    # stranger learns nothing about it, the customer learns why and what to do (PROTOCOL.md
    # keeps the status 404).
    return render(request, "chat/unavailable.html", status=404)


def _owned_session(request: HttpRequest, session_id: uuid.UUID) -> ChatSession:
    session = selectors.session_for_owner(
        session_id=session_id, owner_key=request.session.session_key
    )
    if session is None:
        # A stranger learns nothing, not even that the session exists.
        raise Http404("No such chat")
    if session.site_id is not None:
        embed.mark_embedded(request, session, None)
    return session


@require_GET
def chat_page(request: HttpRequest, session_id: uuid.UUID) -> HttpResponse:
    try:
        session = _owned_session(request, session_id)
    except Http404:
        site = selectors.active_site(key=request.GET.get("site", ""))
        if site is not None:
            # Opened by the embed, but the frame's cookie never came back: the browser blocks
            # third-party cookies. The chat opens first-party, in a tab of its own.
            return _embed_blocked(request, site)
        return _unavailable(request)
    return _render_page(request, session=session)


def _embed_blocked(request: HttpRequest, site: Site) -> HttpResponse:
    embed.mark_embedded(request, None, site)
    query = request.GET.copy()
    query["first_party"] = "1"
    context = {"open_url": f"{reverse('chat:embed_start')}?{query.urlencode()}"}
    with translation.override(_embed_language(request, site)):
        return render(request, "chat/embed_blocked.html", context)


def _embed_language(request: HttpRequest, site: Site) -> str:
    """The page's `lang` (data-lang of the embed), else the browser's, else the site's."""
    asked = request.GET.get("lang", "")[:8]
    if asked in services.LANGUAGE_CODES:
        return asked
    if request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) in services.LANGUAGE_CODES:
        return request.COOKIES[settings.LANGUAGE_COOKIE_NAME]
    header = request.META.get("HTTP_ACCEPT_LANGUAGE", "")
    for code, _quality in parse_accept_lang_header(header):
        if code.split("-")[0] in services.LANGUAGE_CODES:
            return code.split("-")[0]
    return site.default_language


@require_GET
def embed_script(request: HttpRequest) -> HttpResponse:
    """The one-line embed's script at a short address (/embed.js); the same file as
    static/embed/embed.js."""
    path = finders.find("embed/embed.js")
    if not path:
        raise Http404("No embed script")
    with open(path, "rb") as handle:
        response = HttpResponse(handle.read(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=3600"
    # Loaded by other sites' pages.
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@require_GET
def embed_start(request: HttpRequest) -> HttpResponse:
    """The embed's iframe (or, without third-party cookies, its tab) starts a chat here: in
    the site's frame, with the product of the shop page in focus."""
    site = selectors.active_site(key=request.GET.get("site", ""))
    if site is None:
        raise Http404("No such site")
    first_party = request.GET.get("first_party") == "1"
    if not first_party:
        embed.mark_embedded(request, None, site)
    if not ratelimit.allow_site(site_key=site.key, limit=site.sessions_per_minute) or not (
        ratelimit.allow_address(kind="sessions", address=ratelimit.request_address(request))
    ):
        return _too_many(request)
    product = selectors.product_for_page(
        catalog_id=request.GET.get("product", "")[:200], url=request.GET.get("url", "")[:1000]
    )
    # The cookie is sent again (SameSite=None in the frame) even when the session existed.
    request.session.modified = True
    session = services.create_session(
        owner_key=_session_key(request),
        language=_embed_language(request, site),
        site=site,
        product=product,
    )
    query = request.GET.copy()
    query.pop("first_party", None)
    page = reverse("chat:page", args=[session.pk])
    return redirect(f"{page}?{query.urlencode()}")


@require_POST
def chat_language(request: HttpRequest, session_id: uuid.UUID) -> HttpResponse:
    """The page's language switch: the chat, and chats started later, go on in that language."""
    session = _owned_session(request, session_id)
    language = request.POST.get("language", "")
    if language not in services.LANGUAGE_CODES:
        return HttpResponseBadRequest("Unsupported language")
    services.set_language(session=session, language=language)
    response = redirect("chat:page", session_id=session.pk)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        secure=request.is_secure(),
    )
    return response


def _render_page(
    request: HttpRequest,
    *,
    session: ChatSession,
    ask_form: AskForm | None = None,
    status: int = 200,
) -> HttpResponse:
    # The chat keeps its own language, whatever the browser asks for on this request.
    with translation.override(session.language):
        return _render_page_in_language(request, session, ask_form, status)


def _render_page_in_language(
    request: HttpRequest, session: ChatSession, ask_form: AskForm | None, status: int
) -> HttpResponse:
    history = selectors.transcript(session=session)
    context = {
        "session": session,
        "history": history,
        "focus": selectors.focus_card(session=session),
        "pick": _pick(request, history),
        # Empty messages the page keeps in <template>s for the script to clone.
        "blank_question": {"role": Message.Role.QUESTION},
        "blank_answer": {"role": Message.Role.ANSWER, "citations": []},
        "blank_agent": {"role": Message.Role.AGENT},
        "ask_errors": ask_form.errors.get("text", []) if ask_form else [],
        "ask_text": ask_form.data.get("text", "") if ask_form else "",
        # chat.js reads its sentences from an attribute: the page carries no inline script.
        "browser_strings": json.dumps(texts.browser_strings(), ensure_ascii=False),
        "languages": settings.LANGUAGES,
        "new_chat_url": _new_chat_url(session),
    }
    return render(request, "chat/page.html", context, status=status)


def _new_chat_url(session: ChatSession) -> str:
    """Where "New chat" starts one: a chat of a shop's widget starts its next one through the
    widget, in the shop's frame (a chat of /chat/ refuses to be framed) and in its language."""
    if session.site is None or not session.site.is_active:
        return reverse("chat:start")
    query = urlencode({"site": session.site.key, "lang": session.language})
    return f"{reverse('chat:embed_start')}?{query}"


def _pick(request: HttpRequest, history: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The products offered after a no_product answer, or found by the page's search box
    (`?find=`), as the page renders them without JavaScript."""
    find = request.GET.get("find", "").strip()[: protocol.MAX_TYPING]
    last = history[-1] if history else None
    if not find and (last is None or last["state"] != Message.State.NO_PRODUCT):
        return None
    questions = [m["text"] for m in history if m["role"] == Message.Role.QUESTION]
    question = questions[-1] if questions else ""
    return {
        "find": find,
        "question": question,
        "products": selectors.product_suggestions(text=find or question),
    }


@require_GET
def chat_messages(request: HttpRequest, session_id: uuid.UUID) -> JsonResponse:
    """The saved conversation, for a page catching up after its socket reconnected."""
    session = _owned_session(request, session_id)
    response = JsonResponse({"messages": selectors.transcript(session=session)})
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@ratelimit.limit_questions
def chat_ask(request: HttpRequest, session_id: uuid.UUID) -> HttpResponse:
    """The question form without JavaScript: answer synchronously, then show the page."""
    session = _owned_session(request, session_id)
    form = AskForm(request.POST)
    if not form.is_valid():
        return _render_page(request, session=session, ask_form=form, status=400)
    sent: list[dict[str, Any]] = []

    async def keep(message: dict[str, Any]) -> None:
        sent.append(message)

    text = form.cleaned_data["text"]
    # A person takes the question when one has the chat or it asks for one (live support).
    taken = handoff_services.take_question(session=session, text=text, language=session.language)
    if taken is not None:
        publish_after_commit(taken.outcome.events)
        page = reverse("chat:page", args=[session.pk])
        anchor = taken.answer.pk if taken.answer is not None else taken.question_id
        return redirect(f"{page}#message-{anchor}")
    async_to_sync(answering.run_ask)(
        session=session,
        text=text,
        product_id=_asked_product_id(text, form.cleaned_data["product_id"]),
        ref=None,
        send=keep,
    )
    # The page keeps the product the answer was about, as the socket does for the script.
    started = next((m for m in sent if m.get("type") == "answer_start"), None)
    if started and started.get("product"):
        product = selectors.active_product(catalog_id=started["product"]["id"])
        if product is not None:
            services.set_focus(session_id=session.pk, product_pk=product.pk)
    page = reverse("chat:page", args=[session.pk])
    for message in sent:
        if message.get("type") == "error":
            with translation.override(session.language):
                fallback = gettext("Please try again.")
            django_messages.error(request, message.get("message") or fallback)
            return redirect(page)
    answers = [m["message_id"] for m in sent if m.get("type") == "answer_end"]
    return redirect(f"{page}#message-{answers[-1]}" if answers else page)


def _asked_product_id(text: str, focus_id: str) -> str | None:
    """The product in focus, unless the question names another one for sure (the script's
    prediction does the same while the customer types)."""
    if not focus_id:
        return None
    candidates = prediction_index().predict(text, limit=1)
    if candidates and candidates[0].confident and candidates[0].product_id != focus_id:
        return None
    return focus_id


@require_POST
def chat_feedback(request: HttpRequest, session_id: uuid.UUID) -> HttpResponse:
    session = _owned_session(request, session_id)
    form = FeedbackForm(request.POST)
    page = reverse("chat:page", args=[session.pk])
    if not form.is_valid():
        with translation.override(session.language):
            django_messages.error(
                request, gettext("Choose Yes or No to send your comment with it.")
            )
        return redirect(page)
    try:
        message_id = async_to_sync(answering.save_feedback)(
            session=session,
            message_id=form.cleaned_data["message_id"],
            rating=form.cleaned_data["rating"],
            comment=form.cleaned_data["comment"],
        )
    except LookupError:
        raise Http404("No such answer") from None
    with translation.override(session.language):
        django_messages.success(request, gettext("Thanks for your feedback."))
    return redirect(f"{page}#message-{message_id}")
