# A data migration: the currencies orders are priced in, with their minor-unit exponents
# (ISO 4217). The tests rely on these rows, as the application does: a database built from the
# models alone (pytest-django's --nomigrations) has none.

from django.db import migrations

CURRENCIES = [
    ("AED", "UAE Dirham", 2), ("ARS", "Argentine Peso", 2), ("AUD", "Australian Dollar", 2),
    ("BGN", "Bulgarian Lev", 2), ("BHD", "Bahraini Dinar", 3), ("BRL", "Brazilian Real", 2),
    ("CAD", "Canadian Dollar", 2), ("CHF", "Swiss Franc", 2), ("CLP", "Chilean Peso", 0),
    ("CNY", "Yuan Renminbi", 2), ("COP", "Colombian Peso", 2), ("CZK", "Czech Koruna", 2),
    ("DKK", "Danish Krone", 2), ("EGP", "Egyptian Pound", 2), ("EUR", "Euro", 2),
    ("GBP", "Pound Sterling", 2), ("HKD", "Hong Kong Dollar", 2), ("HUF", "Forint", 2),
    ("IDR", "Rupiah", 2), ("ILS", "New Israeli Sheqel", 2), ("INR", "Indian Rupee", 2),
    ("ISK", "Iceland Krona", 0), ("JOD", "Jordanian Dinar", 3), ("JPY", "Yen", 0),
    ("KES", "Kenyan Shilling", 2), ("KRW", "Won", 0), ("KWD", "Kuwaiti Dinar", 3),
    ("MAD", "Moroccan Dirham", 2), ("MXN", "Mexican Peso", 2), ("MYR", "Malaysian Ringgit", 2),
    ("NGN", "Naira", 2), ("NOK", "Norwegian Krone", 2), ("NZD", "New Zealand Dollar", 2),
    ("OMR", "Rial Omani", 3), ("PEN", "Sol", 2), ("PHP", "Philippine Peso", 2),
    ("PKR", "Pakistan Rupee", 2), ("PLN", "Zloty", 2), ("QAR", "Qatari Rial", 2),
    ("RON", "Romanian Leu", 2), ("RSD", "Serbian Dinar", 2), ("SAR", "Saudi Riyal", 2),
    ("SEK", "Swedish Krona", 2), ("SGD", "Singapore Dollar", 2), ("THB", "Baht", 2),
    ("TND", "Tunisian Dinar", 3), ("TRY", "Turkish Lira", 2), ("TWD", "New Taiwan Dollar", 2),
    ("UAH", "Hryvnia", 2), ("USD", "US Dollar", 2), ("UYU", "Peso Uruguayo", 2),
    ("VND", "Dong", 0), ("ZAR", "Rand", 2),
]


def seed(apps, schema_editor):
    Currency = apps.get_model("shop", "Currency")
    Currency.objects.bulk_create(
        Currency(code=code, name=name, exponent=exponent) for code, name, exponent in CURRENCIES
    )


def unseed(apps, schema_editor):
    apps.get_model("shop", "Currency").objects.filter(
        code__in=[code for code, _, _ in CURRENCIES]
    ).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("shop", "0003_currency"),
    ]

    operations = [
        migrations.RunPython(seed, unseed),
    ]
