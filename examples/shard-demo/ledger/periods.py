"""Closing an accounting period: sums the entries the store returns."""

from . import store


def balance(seconds):
    """The balance of the entries a query taking `seconds` returns."""
    return sum(amount for _, amount in store.query(seconds))
