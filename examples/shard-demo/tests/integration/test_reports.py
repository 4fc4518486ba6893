"""Reports over the store: most are quick, the last few scan the whole year."""

import pytest

from ledger.periods import balance


@pytest.mark.parametrize("k", range(36))
def test_monthly_report(k):
    assert balance(0.05 + 0.4 * (k / 35) ** 3) == 310
