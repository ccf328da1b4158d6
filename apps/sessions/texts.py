"""Every sentence the chat page shows, in one place, translated through Django's catalogs,
and the way it writes an amount of money.

They are English msgids marked for extraction (`gettext_noop`) and translated where they are
shown, in the language active there (the chat session's). The filters use them; chat.js gets
the same sentences, translated for the page's language, from a JSON block the page carries
(`browser_strings`), and looks them up by their English text (`t("...")` in chat.js).
Placeholders are `{name}` in both, so one msgid serves Python and JavaScript alike.
"""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency, format_decimal
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_noop as _

# Babel's locale for each page language: Israeli conventions in both (₪, the week, dates).
NUMBER_LOCALES = {"he": "he_IL", "en": "en_IL"}

STATE_LABELS = {
    "answered": _("From the manual"),
    "not_in_manual": _("Not covered in the manual"),
    "no_manual": _("No manual available"),
    "no_product": _("Which product do you mean?"),
    "error": _("Something went wrong"),
}
# A shop question (a price the catalog lacks, stock) is no manual's gap: the label says who
# can answer it (apps.sessions.shop_questions, engine "catalog").
FOR_STAFF_LABEL = _("A question for our staff")

ERROR_SENTENCES = {
    "unavailable": _("The service is busy right now. Please try again in a moment."),
    "rate_limited": _(
        "That was a lot of messages at once. Please wait a few seconds and try again."
    ),
    "not_found": _("We could not find that product any more. Please pick it again."),
    "too_large": _("That question is too long. Please shorten it."),
    "invalid": _("That question could not be sent. Please check it and try again."),
}
ERROR_FALLBACK = _("Sorry, something went wrong on our side. Please try again.")

MANUAL_NONE = _("No manual on file for this product")
MANUAL_READY_PAGES = _("Manual ready · {pages} pages")
MANUAL_READY = _("Manual ready")
DOCUMENTS_READY = _("{count} documents ready")
MANUAL_QUEUED = _("Manual queued for download…")
MANUAL_FETCHING = _("Downloading the manual… {percent}%")
MANUAL_EXTRACTING = _("Reading the manual… {percent}%")
MANUAL_FAILED = _("The manual could not be loaded.")
MANUAL_NOT_YET = _("Manual not downloaded yet")

# What the page's script writes into the page itself (besides the labels above).
SCRIPT_SENTENCES = (
    _("Looking it up…"),
    _("Not sent: the connection dropped. Your question is back in the box below."),
    _("Pick your product and we will answer:"),
    _("Not this one? Other matches:"),
    _("Or did you mean:"),
    _("Did you mean:"),
    _("about {product}"),
    _("One moment: the current answer is still coming in."),
    _("This conversation is not available here."),
    _("Connection lost. The answer will appear here when we are back."),
    _("Connection lost. Reconnecting…"),
    _("The answer is taking too long. Please reload the page or ask again."),
    _("Reconnected. Fetching the rest of the answer…"),
    _("Saving…"),
    _("Thanks for your feedback."),
    _("p. {page}"),
    _("Owner's manual"),
    _("Reference manual"),
    _("Parameter guide"),
    _("MIDI implementation"),
    _("Quick start"),
    _("Document"),
    _("No product matches that yet."),
    _("Choose Yes or No to send your comment with it."),
    _("Not saved: the connection dropped. Please send it again in a moment."),
    _("Not sent yet: press Enter or Send comment."),
    _("Thanks, your comment was saved."),
)

# The answer the sessions app writes itself, when no product could be told from a question.
NO_PRODUCT_PIECES = (
    _("I could not tell which product you mean. "),
    _("Please pick it from the suggestions, or name its brand and model."),
)
# The same answer when the question matched no product to suggest.
NO_PRODUCT_UNMATCHED_PIECES = (
    NO_PRODUCT_PIECES[0],
    _("Please name its brand and model, in your question or in the product search box."),
)
NO_SUCH_PRODUCT = _("There is no such product in the catalog.")


def browser_strings() -> dict[str, str]:
    """English sentence -> the same sentence in the active language, for chat.js."""
    sentences = [
        *STATE_LABELS.values(),
        FOR_STAFF_LABEL,
        *ERROR_SENTENCES.values(),
        ERROR_FALLBACK,
        MANUAL_NONE,
        MANUAL_READY_PAGES,
        MANUAL_READY,
        DOCUMENTS_READY,
        MANUAL_QUEUED,
        MANUAL_FETCHING,
        MANUAL_EXTRACTING,
        MANUAL_FAILED,
        MANUAL_NOT_YET,
        *SCRIPT_SENTENCES,
    ]
    return {sentence: gettext(sentence) for sentence in sentences}


def money(amount: Decimal, currency: str) -> str:
    """`amount` as the active language writes it: "₪4,990.00" in English, "4,990.00 ₪" in
    Hebrew (chat.js writes the same with Intl.NumberFormat)."""
    locale = NUMBER_LOCALES.get((get_language() or "en")[:2], "en_IL")
    if not currency:
        return format_decimal(amount, format="#,##0.00", locale=locale)
    return format_currency(amount, currency.upper(), locale=locale)
