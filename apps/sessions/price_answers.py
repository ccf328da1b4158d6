"""A question about what a product costs, answered from the catalog: no manual says it.

Customers ask a shop's support desk for the price as often as for a setting ("how much does
the katana 50 cost?", "כמה עולה ה-n32b?"). When the catalog lists one, the answer says it with
the product's page; when it does not, the question goes the usual way (the manual does not
cover it, and a person is offered).
"""

from __future__ import annotations

import re

from django.utils.translation import gettext

from apps.manuals.answers.types import ANSWERED, Answer
from apps.products.models import Product
from apps.sessions.texts import money

ENGINE = "catalog"
# The words that ask for a price. Hebrew "עולה" alone also means "goes up" ("the volume goes
# up"): only "כמה עולה" (how much does ... cost) asks for one.
_ASKS_PRICE = re.compile(
    r"\b(?:price[sd]?|pricing|costs?|costing)\b"
    r"|(?<![\u05d0-\u05ea])[הבו]?(?:מחיר|מחירים|המחיר|עלות)(?![\u05d0-\u05ea])"
    r"|כמה\s+(?:זה\s+)?עול(?:ה|ים|ות)",
    re.IGNORECASE,
)


def asks_price(text: str) -> bool:
    return _ASKS_PRICE.search(text) is not None


def price_answer(product: Product) -> Answer | None:
    """The catalog's price of `product` as an answer, in the active language; None when the
    catalog lists no price."""
    if product.price is None:
        return None
    pieces = [
        gettext("Our catalog lists %(product)s at %(price)s.")
        % {"product": product.name, "price": money(product.price, product.currency)}
    ]
    if product.product_url:
        pieces.append(gettext(" Its page on our site: %(url)s") % {"url": product.product_url})
    pieces.append(gettext(" Prices and stock change; our staff can confirm both."))
    return Answer(state=ANSWERED, pieces=pieces, engine=ENGINE)
