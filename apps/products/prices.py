"""What makes a price plausible: the one rule the catalog import and the admin's form share.

A price of zero or below is a placeholder, not a price; one above the ceiling
(`CATALOG_PRICE_CEILING`) is a typo or two prices run together. Either is kept out of what
customers see.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError


def price_problem(value: Decimal, *, ceiling: Decimal | None = None) -> str | None:
    """Why `value` is not a plausible price, or None when it is."""
    if ceiling is None:
        ceiling = Decimal(str(settings.CATALOG_PRICE_CEILING))
    if value < 0:
        return f"price {value} is negative"
    if value == 0:
        return "price is zero"
    if value > ceiling:
        return f"price {value} is above the plausible ceiling of {ceiling.normalize():,f}"
    return None


def validate_price(value: Decimal) -> None:
    """The model field's validator: the admin's form shows the reason beside the price."""
    problem = price_problem(value)
    if problem is not None:
        raise ValidationError(
            "%(problem)s; leave it empty when the price is unknown.",
            code="implausible_price",
            params={"problem": problem[0].upper() + problem[1:]},
        )
