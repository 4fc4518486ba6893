import pytest

from shop.cart import Cart
from shop.checkout import Declined, settle, total_cents


def test_checkout_settles_with_the_gateway(cart):
    receipt = settle(cart, "lu", "4242")
    assert receipt == {"total_cents": 2984, "items": 3, "status": "settled"}


def test_a_declined_card_is_not_settled(cart):
    with pytest.raises(Declined):
        settle(cart, "de", "0000-1111")


def test_an_empty_cart_has_no_total():
    with pytest.raises(ValueError):
        total_cents(Cart(), "de")
