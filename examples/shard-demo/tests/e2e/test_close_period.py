"""Closing a period end to end: a handful of tests hold most of the suite's time."""

import pytest

from ledger.periods import balance


@pytest.mark.parametrize("seconds", [1.4, 1.2, 1.0, 0.9, 0.8, 0.7, 0.6, 0.5])
def test_close_period(seconds):
    assert balance(seconds) == 310
