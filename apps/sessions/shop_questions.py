"""Questions for the shop, not the manual: what a product costs, whether it is in stock,
where and how to buy it, and a message that only names the product.

Customers ask a shop's support desk for the price as often as for a setting ("how much is
the katana 50?", "כמה עולה ה-n32b?"), and no manual says it. The catalog's price answers it,
with the product's page. Without a listed price, and for stock, which the catalog does not
hold, the answer says so and the customer is offered a person (the state of an answer the
manual does not cover). Buying, delivery and pick-up ("can I buy it in Tel Aviv?", "אפשר
משלוח לחיפה?") get the product's page where the catalog has one, and a person.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext

from apps.manuals.answers.types import ANSWERED, NOT_IN_MANUAL, Answer
from apps.products.models import Product
from apps.sessions.texts import money

ENGINE = "catalog"
# The words that ask for a price. Hebrew "עולה" alone also means "goes up" ("the volume goes
# up"): only "כמה עולה" (how much does ... cost) asks for one.
_ASKS_PRICE = re.compile(
    r"\b(?:price[sd]?|pricing|costs?|costing)\b|\bhow\s+much\s+(?:is|are|for)\b"
    r"|(?<![\u05d0-\u05ea])[הבו]?(?:מחיר|מחירים|המחיר|עלות)(?![\u05d0-\u05ea])"
    r"|כמה\s+(?:זה\s+)?עול(?:ה|ים|ות)",
    re.IGNORECASE,
)
_ASKS_STOCK = re.compile(
    r"\bin\s+stock\b|\bstock\b|(?<![\u05d0-\u05ea])[בה]?מלאי(?![\u05d0-\u05ea])", re.IGNORECASE
)

# Buying the product, delivery, pick-up, a shop or branch. Not buying what the product needs
# ("do I need to buy a cable?": the manual's), "proof of purchase" (a warranty's), "store"
# (a manual's "store a preset"), "order" alone ("in order to") or "deliver" ("delivers 5 V").
_ASKS_WHERE_TO_BUY = re.compile(
    r"(?<!need to )(?<!needs to )(?<!have to )(?<!must )(?<!of )\b(?:buy|purchase)\b"
    r"|\b(?:you\s+sell|sell\s+(?:it|one|this|them)|order\s+(?:it|one|this|them)|place\s+an\s+order"
    r"|shipping|ships?\s+to|deliver(?:y|ies)|pick\s+(?:it\s+)?up|in\s+store"
    r"|(?:your|a|the)\s+(?:shop|showroom|branch(?:es)?))\b"
    r"|(?<!צריך )(?<!צריכה )(?<!צריכים )(?<!חייב )(?:לקנות|לרכוש|להזמין)"
    r"|(?<![\u05d0-\u05ea])[הבולמש]{0,2}(?:קונים|רוכשים|מוכרים|משלוח|משלוחים|חנות|סניף|סניפים|איסוף)"
    r"(?![\u05d0-\u05ea])",
    re.IGNORECASE,
)


def shop_answer(product: Product | None, text: str) -> Answer | None:
    """The answer to a price, stock or buying question about `product`, in the active
    language; None for any other question. Without a product only buying and delivery are
    answered ("do you ship to Eilat?" is the same for every product): a price needs its
    product named first."""
    if product is None:
        if _ASKS_WHERE_TO_BUY.search(text):
            return _ask_the_staff(
                gettext("Our manuals and catalog do not cover buying, delivery or pick-up.")
            )
        return None
    if _ASKS_PRICE.search(text):
        if product.price is None:
            said = gettext("Our catalog lists no price for %(product)s.")
            return _ask_the_staff(said % {"product": product.name})
        pieces = [
            gettext("Our catalog lists %(product)s at %(price)s.")
            % {"product": product.name, "price": money(product.price, product.currency)}
        ]
        if product.product_url:
            pieces.append(gettext(" Its page on our site: %(url)s") % {"url": product.product_url})
        pieces.append(gettext(" Prices and stock change; our staff can confirm both."))
        return Answer(state=ANSWERED, pieces=pieces, engine=ENGINE)
    if _ASKS_STOCK.search(text):
        said = gettext("Our catalog does not say whether %(product)s is in stock.")
        return _ask_the_staff(said % {"product": product.name})
    if _ASKS_WHERE_TO_BUY.search(text):
        said = gettext(
            "Our manuals and catalog do not cover buying %(product)s, delivery or pick-up."
        )
        said %= {"product": product.name}
        if product.product_url:
            said += gettext(" Its page on our site: %(url)s") % {"url": product.product_url}
        return _ask_the_staff(said)
    return None


def name_only_answer(product: Product) -> Answer:
    """What a message that only names the product ("marbles") is answered with: no manual
    passage is about a name, so the customer is asked what they want to know."""
    said = gettext("What would you like to know about %(product)s? Ask in your own words.")
    return Answer(state=ANSWERED, pieces=[said % {"product": product.name}], engine=ENGINE)


def _ask_the_staff(said: str) -> Answer:
    return Answer(
        state=NOT_IN_MANUAL,
        pieces=[said, gettext(" Our staff can tell you.")],
        engine=ENGINE,
    )
