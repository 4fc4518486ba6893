"""Checkout: totals a cart and settles it with a (simulated) payment gateway."""

import time

from shop.cart import Cart
from shop.rates import with_vat

# Seconds the gateway takes to settle a payment: what makes the checkout test slow.
SETTLEMENT_DELAY = 2.2


class Declined(Exception):
    pass


def total_cents(cart: Cart, country: str) -> int:
    if not cart.lines:
        raise ValueError("empty cart")
    return with_vat(cart.subtotal_cents, country)


def settle(cart: Cart, country: str, card: str) -> dict:
    total = total_cents(cart, country)
    if card.startswith("0000"):
        raise Declined(card)
    time.sleep(SETTLEMENT_DELAY)
    return {"total_cents": total, "items": cart.items, "status": "settled"}
