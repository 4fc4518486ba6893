# A data migration: every existing product gets a unique slug from its name, before 0009 makes
# the column unique and not null.

from django.db import migrations
from django.utils.text import slugify


def backfill(apps, schema_editor):
    Product = apps.get_model("shop", "Product")
    taken = set()
    for product in Product.objects.filter(slug__isnull=True).order_by("pk"):
        base = slugify(product.name) or f"product-{product.pk}"
        slug, n = base, 1
        while slug in taken or Product.objects.filter(slug=slug).exists():
            n += 1
            slug = f"{base}-{n}"
        taken.add(slug)
        product.slug = slug
        product.save(update_fields=["slug"])


class Migration(migrations.Migration):

    dependencies = [
        ("shop", "0007_product_slug"),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
