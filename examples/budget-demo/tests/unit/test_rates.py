import pytest

from shop.rates import vat_percent, with_vat


class TestRates:
    def test_germany(self):
        assert vat_percent("DE") == 19

    @pytest.mark.parametrize("country,cents", [("fr", 1200), ("nl", 1210)])
    def test_with_vat(self, country, cents):
        assert with_vat(1000, country) == cents
