import pytest

from shop.cart import Cart


@pytest.fixture
def cart():
    c = Cart()
    c.add("book", 1200, 2)
    c.add("pen", 150)
    return c
