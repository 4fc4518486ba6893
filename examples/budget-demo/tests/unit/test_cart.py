import pytest

from shop.cart import Cart


def test_subtotal(cart):
    assert cart.subtotal_cents == 2550


def test_adding_the_same_line_merges(cart):
    cart.add("pen", 150, 3)
    assert len(cart.lines) == 2
    assert cart.items == 6


def test_remove(cart):
    cart.remove("book")
    assert cart.subtotal_cents == 150


@pytest.mark.parametrize("quantity", [0, -1])
def test_quantity_must_be_positive(quantity):
    with pytest.raises(ValueError):
        Cart().add("x", 1, quantity)
