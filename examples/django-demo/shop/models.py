"""The demo shop: a catalogue, customers, orders in several currencies, reviews and coupons."""

from decimal import Decimal

from django.db import models


class Category(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(unique=True)
    parent = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True, related_name="children")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "categories"

    def __str__(self):
        return self.name


class Product(models.Model):
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    name = models.CharField(max_length=200)
    sku = models.CharField(max_length=32, unique=True)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    stock = models.PositiveIntegerField(default=0)
    description = models.TextField(blank=True)
    weight_grams = models.PositiveIntegerField(null=True, blank=True)
    is_active = models.BooleanField(default=True, db_index=True)
    tags = models.ManyToManyField("Tag", blank=True, related_name="products")
    slug = models.SlugField(max_length=200, unique=True)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.name

    def average_rating(self):
        ratings = [r.rating for r in self.reviews.all()]
        return sum(ratings) / len(ratings) if ratings else None


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True)


class Currency(models.Model):
    code = models.CharField(max_length=3, unique=True)
    name = models.CharField(max_length=100)
    exponent = models.PositiveSmallIntegerField(default=2)

    def quantize(self, amount):
        return Decimal(amount).quantize(Decimal(1).scaleb(-self.exponent))

    def __str__(self):
        return self.code


class Customer(models.Model):
    name = models.CharField(max_length=200)
    email = models.EmailField(unique=True)
    phone = models.CharField(max_length=30, blank=True)
    newsletter = models.BooleanField(default=False)

    def __str__(self):
        return self.name


class Coupon(models.Model):
    code = models.CharField(max_length=20, unique=True)
    percent = models.PositiveSmallIntegerField()
    valid_until = models.DateField(null=True, blank=True)
    max_uses = models.PositiveIntegerField(null=True, blank=True)


class Order(models.Model):
    class Status(models.TextChoices):
        OPEN = "open"
        PAID = "paid"
        SHIPPED = "shipped"
        CANCELLED = "cancelled"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="orders")
    number = models.CharField(max_length=20, unique=True)
    currency = models.ForeignKey(Currency, on_delete=models.PROTECT, null=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    coupon = models.ForeignKey(Coupon, on_delete=models.SET_NULL, null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True)
    shipping_address = models.ForeignKey("Address", on_delete=models.SET_NULL, null=True, blank=True)

    def total(self):
        amount = sum((line.quantity * line.unit_price for line in self.lines.all()), Decimal(0))
        if self.coupon_id:
            amount = amount * (100 - self.coupon.percent) / 100
        return self.currency.quantize(amount) if self.currency_id else amount


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT)
    quantity = models.PositiveIntegerField(default=1)
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    discount = models.DecimalField(max_digits=5, decimal_places=2, default=0)


class Review(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="reviews")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE)
    rating = models.PositiveSmallIntegerField()
    text = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(rating__gte=1, rating__lte=5), name="rating_1_to_5"),
            models.UniqueConstraint(fields=["product", "customer"], name="one_review_each"),
        ]


class Address(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="addresses")
    line1 = models.CharField(max_length=200)
    city = models.CharField(max_length=100)
    postcode = models.CharField(max_length=20)
    country = models.CharField(max_length=2)

    class Meta:
        indexes = [models.Index(fields=["country", "postcode"], name="address_country_postcode")]
