from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from shop.models import Category, Product


def test_a_product_belongs_to_its_category(novel, books):
    assert list(books.products.all()) == [novel]


def test_prices_are_decimals(novel):
    novel.refresh_from_db()
    assert novel.price == Decimal("12.50")


def test_skus_are_unique(novel, books):
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.create(category=books, name="Copy", sku="BK-001", slug="copy", price=1)


def test_slugs_are_unique(novel, books):
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.create(category=books, name="Other", sku="BK-002", slug="a-novel", price=1)


def test_a_category_with_products_cannot_be_deleted(novel, books):
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        books.delete()


@pytest.mark.django_db
def test_an_empty_category_can_be_deleted():
    Category.objects.create(name="Toys", slug="toys").delete()
    assert not Category.objects.exists()


def test_stock_filters(books, novel):
    Product.objects.create(category=books, name="Sold out", sku="BK-003", slug="sold-out", price=5)
    assert [p.sku for p in Product.objects.filter(stock__gt=0)] == ["BK-001"]
