"""Amounts in cents, parsed and formatted."""


def parse(text):
    """`"12.34"` -> 1234."""
    units, _, cents = text.strip().partition(".")
    sign = -1 if units.startswith("-") else 1
    return sign * (abs(int(units or "0")) * 100 + int((cents + "00")[:2]))


def format_cents(cents):
    """1234 -> `"12.34"`."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"
