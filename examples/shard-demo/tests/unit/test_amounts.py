import pytest

from ledger.amounts import format_cents, parse


@pytest.mark.parametrize("cents", range(-120, 120))
def test_round_trip(cents):
    assert parse(format_cents(cents)) == cents
