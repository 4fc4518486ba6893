"""VAT rates by country, looked up from a (simulated) remote rate table."""

import time

# Seconds each lookup waits on the remote table: what makes the rate unit tests slow.
LOOKUP_LATENCY = 0.25

_RATES = {"de": 19, "fr": 20, "nl": 21, "lu": 17}


def vat_percent(country: str) -> int:
    time.sleep(LOOKUP_LATENCY)
    try:
        return _RATES[country.lower()]
    except KeyError:
        raise ValueError(f"no VAT rate for {country!r}") from None


def with_vat(cents: int, country: str) -> int:
    rate = vat_percent(country)
    return cents + (cents * rate + 50) // 100
