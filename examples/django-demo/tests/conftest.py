"""Rows most tests start from, made in each test's transaction (pytest-django rolls it back)."""

from decimal import Decimal

import pytest

from shop.models import Category, Currency, Customer, Order, OrderLine, Product


@pytest.fixture
def books(db):
    return Category.objects.create(name="Books", slug="books")


@pytest.fixture
def novel(books):
    return Product.objects.create(
        category=books, name="A Novel", sku="BK-001", slug="a-novel", price=Decimal("12.50"), stock=3
    )


@pytest.fixture
def alice(db):
    return Customer.objects.create(name="Alice", email="alice@example.com")


@pytest.fixture
def order(alice, novel):
    placed = Order.objects.create(
        customer=alice, number="A-1001", currency=Currency.objects.get(code="EUR")
    )
    OrderLine.objects.create(order=placed, product=novel, quantity=2, unit_price=novel.price)
    return placed
