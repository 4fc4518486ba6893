from decimal import Decimal

import pytest

from shop.models import Coupon, Currency, Customer, Order, OrderLine


@pytest.mark.django_db
def test_the_currencies_were_seeded_by_their_migration():
    assert Currency.objects.count() == 53
    assert Currency.objects.get(code="JPY").exponent == 0


def test_an_order_totals_its_lines(order):
    assert order.total() == Decimal("25.00")


def test_a_coupon_takes_its_percent_off(order):
    order.coupon = Coupon.objects.create(code="TEN", percent=10)
    order.save()
    assert order.total() == Decimal("22.50")


def test_yen_totals_have_no_minor_unit(order):
    order.currency = Currency.objects.get(code="JPY")
    order.save()
    assert order.total() == Decimal("25")


def test_dinar_totals_have_three_decimals(order, novel):
    order.currency = Currency.objects.get(code="KWD")
    OrderLine.objects.create(order=order, product=novel, quantity=1, unit_price=Decimal("0.33"))
    assert order.total() == Decimal("25.330")


def test_a_new_order_is_open(order):
    assert order.status == Order.Status.OPEN


def test_orders_by_status(order, alice):
    Order.objects.create(customer=alice, number="A-1002", status=Order.Status.PAID)
    assert Order.objects.filter(status="paid").count() == 1
    assert Order.objects.filter(status="open").count() == 1


def test_deleting_a_customer_deletes_their_orders(order, alice):
    alice.delete()
    assert not Order.objects.exists()
    assert not OrderLine.objects.exists()


def test_customer_emails_are_unique(alice):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.create(name="Other Alice", email="alice@example.com")
