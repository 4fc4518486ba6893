import pytest

from ledger import store


@pytest.mark.parametrize("n", range(120))
def test_entry_lookup(n):
    rows = store.query(0.005)
    assert rows[n % len(rows)][0]
