import pytest
from django.db import IntegrityError, transaction

from shop.models import Customer, Review


def test_average_rating(novel, alice):
    bob = Customer.objects.create(name="Bob", email="bob@example.com")
    Review.objects.create(product=novel, customer=alice, rating=5)
    Review.objects.create(product=novel, customer=bob, rating=2)
    assert novel.average_rating() == 3.5


def test_no_reviews_no_rating(novel):
    assert novel.average_rating() is None


def test_one_review_per_customer(novel, alice):
    Review.objects.create(product=novel, customer=alice, rating=4)
    with pytest.raises(IntegrityError), transaction.atomic():
        Review.objects.create(product=novel, customer=alice, rating=1)


@pytest.mark.parametrize("rating", [0, 6])
def test_ratings_are_one_to_five(novel, alice, rating):
    with pytest.raises(IntegrityError), transaction.atomic():
        Review.objects.create(product=novel, customer=alice, rating=rating)
